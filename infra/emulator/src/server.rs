//! The axum router.

use crate::state::State;
use axum::Router;
use std::sync::{Arc, Mutex};

pub type Shared = Arc<Mutex<State>>;

pub fn router(shared: Shared) -> Router {
    Router::new().with_state(shared)
}
