//! # crmsync-e2e
//!
//! End-to-end tests across the whole stack: the real use cases of `crmsync-service`
//! (connect, ingest, push, poll, test sync, sweep, reports, Lambda adapters) against the
//! in-process Salesforce emulator (`sf-emulator`), with state, tokens and queues in
//! **either** adapter set of `crmsync-store`:
//!
//! - [`Backend::Embedded`]: the in-memory adapters;
//! - [`Backend::Aws`]: DynamoDB, Secrets Manager and SQS on a local moto server
//!   (`CRMSYNC_TEST_MOTO_ENDPOINT`, exported by `source infra/scripts/moto.sh`), with a
//!   table, queues and secret prefix unique to each test.
//!
//! Each scenario is one `async fn(Backend)`; the [`e2e!`] macro runs it once per backend,
//! bounded by [`SCENARIO_TIMEOUT`]. A [`Stack`] holds the emulator (two orgs: a production
//! org and a sandbox org), the stores, the [`crmsync_service::App`], one tenant, and the
//! clocks. The store clock is a [`crmsync_store::ManualClock`] and the emulator's clock is
//! frozen at the same instant, so tests move time on both sides together
//! ([`Stack::advance`]) and never sleep. Everything talks only to 127.0.0.1.

mod backend;
mod http;
mod stack;
mod toolkit;

pub use backend::{Backend, moto_endpoint, stores};
pub use http::{Api, Reply, ok};
pub use stack::{Drained, PROD_ORG, SANDBOX_ORG, Stack, StackOptions, inbound};
pub use toolkit::{app_event, find_changes, str_field};

/// Upper bound for one scenario (moto on a shared 2-core machine is slow, not stuck).
pub const SCENARIO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(240);

/// Runs a scenario against one backend, bounded by [`SCENARIO_TIMEOUT`].
pub async fn run<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if tokio::time::timeout(SCENARIO_TIMEOUT, scenario(backend))
        .await
        .is_err()
    {
        panic!("scenario on {backend:?} did not finish within {SCENARIO_TIMEOUT:?}");
    }
}

/// Declares one test per backend for each scenario `async fn name(backend: Backend)`:
/// `name::embedded` and `name::aws_moto`.
#[macro_export]
macro_rules! e2e {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn embedded() {
                    $crate::run($crate::Backend::Embedded, super::$name).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn aws_moto() {
                    $crate::run($crate::Backend::Aws, super::$name).await
                }
            }
        )*
    };
}
