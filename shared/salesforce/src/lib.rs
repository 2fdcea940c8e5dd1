//! Salesforce REST client for crmsync.
//!
//! Two halves. [`OAuthClient`] runs the OAuth web-server flow with PKCE against a login host
//! (production, sandbox or My Domain): it builds the authorize URL, exchanges the code,
//! refreshes (keeping a rotated refresh token when Salesforce returns one), revokes, and
//! reads the identity URL. [`SfClient`] makes the REST calls for one connection: query and
//! queryAll as a stream of pages, describe (cached per client), single-record CRUD and
//! upsert, sObject Collections, composite (and several queries' first pages in one composite),
//! getUpdated/getDeleted and limits; and Lead conversion, the one SOAP call it makes
//! (`convertLead`, [`SfClient::convert_lead`]).
//!
//! Tokens come from a [`TokenProvider`], so the service can keep them in its vault and
//! refresh under a lease. Every call takes the current token; a 401 triggers exactly one
//! `refresh(stale)` and a resend, and a second 401 (or `invalid_grant`) becomes
//! [`SfError::Auth`] with `reconnect_needed`. Retryable failures (5xx, `UNABLE_TO_LOCK_ROW`,
//! timeouts, connection errors) are retried with jittered exponential backoff; requests
//! that are not idempotent (POST) are resent only when Salesforce cannot have applied them
//! (503, row lock, connection refused). `Sforce-Limit-Info` is read on every response and
//! exposed through [`SfClient::last_api_usage`] and an optional usage hook.
//!
//! Errors are typed ([`SfError`]): auth, rate limited, retryable, permanent (with
//! Salesforce's code and fields), and the cases callers branch on (upsert multiple
//! matches, `INVALID_REPLICATION_DATE`). Token types redact themselves in `Debug`, and no
//! error carries a token or an OAuth response body.
//!
//! [`bulk`] runs Bulk API 2.0 query jobs (results read by locator, rows typed by describe)
//! and ingest jobs (CSV upload, per-record results).
//!
//! SOQL is only built through [`soql::SoqlBuilder`]: field names are checked against
//! describe, values are typed literals escaped per Salesforce's rules, so record data cannot
//! change a query's shape. [`soql::cursor_query`] builds the poller's
//! `(SystemModstamp, Id)` query.

pub mod bulk;
mod changes;
mod client;
mod collections;
mod composite;
mod config;
pub mod datetime;
pub mod describe;
mod error;
mod graph;
mod http;
mod limits;
mod oauth;
mod query;
mod query_batch;
mod record;
mod soap;
mod sobjects;
pub mod soql;
mod token;
mod tooling;

pub use changes::{DeletedRecord, DeletedRecords, UpdatedRecords};
pub use client::{ApiUsage, AppQuotaUsage, SfClient, SfClientBuilder, UsageHook};
pub use collections::{
    COLLECTION_CHUNK, CollectionError, RecordError, RecordOutcome, SObjectRecord,
};
pub use composite::{
    COMPOSITE_MAX_QUERIES, COMPOSITE_MAX_SUBREQUESTS, CompositeSubrequest, CompositeSubresponse,
};
pub use config::{
    ClientConfig, DEFAULT_API_VERSION, DEFAULT_DESCRIBE_TTL, DEFAULT_LOGIN_URL,
    DEFAULT_SANDBOX_LOGIN_URL, HttpTimeouts, LoginHost, LoginHosts, RetryPolicy, build_http_client,
};
pub use error::{ApiError, SfError};
pub use graph::{GRAPH_MAX_GRAPHS, GRAPH_MAX_NODES, Graph, GraphOutcome, graphs_fit};
pub use limits::{LimitValue, Limits};
pub use oauth::{
    AuthorizeRequest, Identity, OAuthClient, OAuthConfig, Revocable, SalesforceTokenFields,
    TokenSet,
};
pub use query::{QueryPage, QueryScope};
pub use record::{Record, RecordAttributes};
pub use reqwest::Method;
pub use soap::convert::{
    CANNOT_UPDATE_CONVERTED_LEAD, CONVERT_MAX, LeadConvert, LeadConverted,
    record_error as convert_error,
};
pub use sobjects::UpsertOutcome;
pub use soql::SoqlError;
pub use token::{
    AccessToken, InMemoryTokenProvider, PkceVerifier, RefreshToken, StaticTokenProvider,
    TokenProvider,
};
pub use tooling::CustomFieldRow;
