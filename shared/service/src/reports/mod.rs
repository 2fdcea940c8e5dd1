//! The use cases behind the report API (flow 5), one module per resource: connection
//! details, the sync run history (and test syncs), report entries and re-push, the sync
//! config with its status against describe, the change feed, API quota use and the
//! on-demand record lookup.
//!
//! Every function takes the authenticated tenant and passes it to every store call, so a
//! caller can never reach another tenant's data. Views leave out secret names and tokens.

mod catalog;
mod changes;
mod config;
mod connections;
mod cursor;
mod entries;
mod lookup;
mod quota;
mod runs;

pub use catalog::*;
pub use changes::*;
pub use config::*;
pub use connections::*;
pub use entries::*;
pub use lookup::*;
pub use quota::*;
pub use runs::*;

use crmsync_store::StoreError;

use crate::error::ServiceError;

/// Default and largest page sizes of the report listing.
pub const DEFAULT_REPORT_LIMIT: u32 = 50;
pub const MAX_REPORT_LIMIT: u32 = 1000;
/// Default page size of the change feed (the store clamps to 1..=1000).
pub const DEFAULT_CHANGE_LIMIT: u32 = 100;

/// Store errors caused by the caller's input are the caller's problem (400/404), not ours.
fn store_err(e: StoreError) -> ServiceError {
    match e {
        StoreError::InvalidInput { field, message } => ServiceError::bad_request(field, message),
        StoreError::NotFound(what) => ServiceError::NotFound(what),
        other => other.into(),
    }
}

/// Letters, digits and underscores, starting with a letter (`Account`, `Site__c`).
fn is_api_name(s: &str) -> bool {
    s.len() <= 80
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
