//! The path and query parameters of the report API as the OpenAPI document lists them.
//! Handlers read path segments by name (`Segments`) and query parameters through
//! `Params::documented::<…Query>`, so a parameter the document does not name is refused.

/// The `{c}` path segment.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documentation: read by name (`Segments`, `Params::documented`)
pub(crate) struct ConnectionPath {
    /// The tenant's connection id (`production`, `sandbox` or the app's own name).
    c: String,
}

/// The `{c}` and `{event_id}` path segments.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documentation: read by name (`Segments`, `Params::documented`)
pub(super) struct ReportPath {
    /// The tenant's connection id.
    c: String,
    /// The app event's `event_id`.
    event_id: String,
}

/// The `{c}` and `{object}` path segments.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // documentation: read by name (`Segments`, `Params::documented`)
pub(super) struct ObjectPath {
    /// The tenant's connection id.
    c: String,
    /// A Salesforce object API name (`Account`, `Site__c`).
    object: String,
}

/// Paging of the run history.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation: read by name (`Segments`, `Params::documented`)
pub(super) struct RunsQuery {
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
    /// Runs per page, 1 to 1000 (default 50).
    limit: Option<u32>,
}

/// Filters and paging of the report listing.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation: read by name (`Segments`, `Params::documented`)
pub(super) struct ReportsQuery {
    /// `success`, `error` or `parked`.
    #[param(pattern = "^(success|error|parked)$")]
    status: String,
    /// Only this Salesforce object.
    object: Option<String>,
    /// RFC 3339; entries updated at or after.
    from: Option<chrono::DateTime<chrono::Utc>>,
    /// RFC 3339; entries updated before.
    to: Option<chrono::DateTime<chrono::Utc>>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
    /// Entries per page, 1 to 1000 (default 50).
    limit: Option<u32>,
}

/// An on-demand lookup of one record by an index field.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation: read by name (`Segments`, `Params::documented`)
pub(super) struct LookupQuery {
    /// Salesforce object API name.
    object: String,
    /// The field to match (an id, an external id or an indexed field).
    field: String,
    /// The value to match.
    value: String,
    /// `all` adds every readable field of the record.
    fields: Option<String>,
}

/// The change feed position.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation: read by name (`Segments`, `Params::documented`)
pub(super) struct ChangesQuery {
    /// The previous page's `next_after` (default 0).
    after: Option<u64>,
    /// Changes per page, 1 to 1000 (default 100).
    limit: Option<u32>,
}
