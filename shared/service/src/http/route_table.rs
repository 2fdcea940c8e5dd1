//! The one way routes are added: a [`RouteTable`] builds the axum router and keeps the
//! list of what it routes, so the OpenAPI check (`tests/tests/openapi.rs`) compares the
//! document with the routes that are really served, not with a second list kept by hand.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

use super::HttpState;

/// One routed operation: a method and an axum path template (`/v1/connections/{c}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
}

/// Routes and the router they build, added together.
pub(crate) struct RouteTable {
    routes: Vec<Route>,
    by_path: Vec<(&'static str, MethodRouter<HttpState>)>,
}

impl RouteTable {
    pub(crate) fn new() -> Self {
        Self {
            routes: Vec::new(),
            by_path: Vec::new(),
        }
    }

    pub(crate) fn get<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, HttpState>,
        T: 'static,
    {
        self.add(Method::GET, MethodFilter::GET, path, handler)
    }

    pub(crate) fn post<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, HttpState>,
        T: 'static,
    {
        self.add(Method::POST, MethodFilter::POST, path, handler)
    }

    pub(crate) fn put<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, HttpState>,
        T: 'static,
    {
        self.add(Method::PUT, MethodFilter::PUT, path, handler)
    }

    fn add<H, T>(mut self, method: Method, filter: MethodFilter, path: &'static str, h: H) -> Self
    where
        H: Handler<T, HttpState>,
        T: 'static,
    {
        let route = Route { method, path };
        assert!(!self.routes.contains(&route), "{route:?} is routed twice");
        self.routes.push(route);
        match self.by_path.iter_mut().find(|(p, _)| *p == path) {
            Some((_, methods)) => {
                *methods = std::mem::replace(methods, MethodRouter::new()).on(filter, h);
            }
            None => self.by_path.push((path, on(filter, h))),
        }
        self
    }

    pub(crate) fn merge(mut self, other: RouteTable) -> Self {
        for route in &other.routes {
            assert!(!self.routes.contains(route), "{route:?} is routed twice");
        }
        self.routes.extend(other.routes);
        for (path, methods) in other.by_path {
            match self.by_path.iter_mut().find(|(p, _)| *p == path) {
                Some((_, mine)) => {
                    *mine = std::mem::replace(mine, MethodRouter::new()).merge(methods)
                }
                None => self.by_path.push((path, methods)),
            }
        }
        self
    }

    /// The router and the routes it serves.
    pub(crate) fn build(self) -> (Router<HttpState>, Vec<Route>) {
        let router = self
            .by_path
            .into_iter()
            .fold(Router::new(), |router, (path, methods)| {
                router.route(path, methods)
            });
        (router, self.routes)
    }
}
