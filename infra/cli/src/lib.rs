//! # crmsync-cli
//!
//! The `crmsync` command line (`demo`, `dev`, `tenant`) and the local stack it runs on.
//!
//! [`stack::LocalStack`] wires the same service layer the Lambdas use (`crmsync-service`)
//! to embedded stores (in memory, or saved behind to a JSON file) or to the AWS adapters
//! at an endpoint (moto, bootstrapping the table and queues from `template.yaml`), and to
//! the in-process Salesforce emulator (`sf-emulator`) or a real org. A [`stack::ClockMode::Manual`]
//! clock lets the demo and tests move time; [`stack::LocalStack::advance`] moves the stores'
//! clock and the emulator's together so delete-log windows and TTLs line up.
//!
//! The helpers drive the real flows, never shortcuts: [`stack::oauth_connect`] runs the
//! OAuth web-server flow (`connect::start`, the authorize redirect read without following
//! it, `connect::callback`); [`stack::send_events`] signs a batch as the app would and calls
//! `ingest`; [`stack::drain_push_queue`] does what the push Lambda does per SQS batch (ack
//! what is done, leave retries on the queue); [`stack::full_sync`] polls until a run
//! completes under the cap. The end-to-end tests can reuse all of it.
//!
//! Commands: [`demo`] (the main job end to end, with a summary from [`report`]), [`dev`]
//! (the HTTP API, OAuth pages and emulator on 127.0.0.1 with poll, push and sweep running
//! in the background) and [`tenant`] (provisioning). `main.rs` only parses and dispatches.
pub mod cli;
pub mod demo;
pub mod dev;
pub mod error;
pub mod events;
pub mod import;
pub mod output;
pub mod provision;
pub mod report;
pub mod stack;
pub mod sweep_probe;
pub mod tenant;

pub use error::{CliError, CliResult};
pub use stack::{LocalStack, StackOptions};
