//! # crmsync-cli
//!
//! The `crmsync` command line and the local stack it runs on.
//!
//! [`stack::LocalStack`] wires the same service layer the Lambdas use
//! (`crmsync-service`) to embedded stores (in memory or a JSON file) or to AWS adapters at
//! an endpoint (moto), and to the in-process Salesforce emulator (`sf-emulator`) or a real
//! org. Its helpers drive the real flows: the OAuth connect follows the authorize redirect
//! and calls the callback use case; events are HMAC-signed and ingested; the push queue is
//! drained exactly as the push Lambda would (ack done, leave retries). The end-to-end tests
//! reuse it.
//!
//! Commands live in their own modules; `main.rs` only parses and dispatches.
pub mod cli;
pub mod demo;
pub mod dev;
pub mod error;
pub mod events;
pub mod lease_names;
pub mod output;
pub mod report;
pub mod stack;
pub mod tenant;

pub use error::{CliError, CliResult};
pub use stack::{LocalStack, StackOptions};
