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
    /// In the OpenAPI document; `false` only for browser pages added with
    /// [`RouteTable::page`] (never under `/v1` or `/admin`).
    pub documented: bool,
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

    /// A browser page (HTML, e.g. an admin UI): routed like any GET but outside the
    /// OpenAPI document, so never under `/v1` or `/admin` (the API's prefixes).
    pub(crate) fn page<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, HttpState>,
        T: 'static,
    {
        assert!(
            !path.starts_with("/v1/") && !path.starts_with("/admin/"),
            "{path}: API routes are documented; add it with get/post/put"
        );
        self = self.add(Method::GET, MethodFilter::GET, path, handler);
        if let Some(route) = self.routes.last_mut() {
            route.documented = false;
        }
        self
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
        let route = Route {
            method,
            path,
            documented: true,
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn page() -> &'static str {
        "ok"
    }

    #[test]
    fn routes_are_recorded_as_added_and_pages_stay_out_of_the_document() {
        let other = RouteTable::new().post("/v1/x", page);
        let (_, routes) = RouteTable::new()
            .get("/v1/x", page)
            .put("/v1/x", page)
            .page("/ui/", page)
            .merge(other)
            .build();
        let seen: Vec<_> = routes
            .iter()
            .map(|r| (r.method.as_str(), r.path, r.documented))
            .collect();
        assert_eq!(
            seen,
            [
                ("GET", "/v1/x", true),
                ("PUT", "/v1/x", true),
                ("GET", "/ui/", false),
                ("POST", "/v1/x", true)
            ]
        );
    }

    #[test]
    #[should_panic(expected = "API routes are documented")]
    fn an_api_path_is_not_a_page() {
        let _ = RouteTable::new().page("/v1/ui", page);
    }

    #[test]
    #[should_panic(expected = "routed twice")]
    fn a_route_added_twice_is_refused() {
        let _ = RouteTable::new()
            .get("/v1/x", page)
            .merge(RouteTable::new().get("/v1/x", page));
    }
}
