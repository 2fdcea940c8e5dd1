//! `crmsync import`: an app-side bulk import from a file, through the same use case as
//! `POST /v1/connections/{c}/imports` ([`crmsync_service::import`]), against the chosen
//! state; waits until the import is final and prints its status.

use std::time::Duration;

use crmsync_core::types::AppObject;
use crmsync_service::import::{self, ImportRecord, ImportRequest, ImportStatus};

use crate::error::{CliError, CliResult};
use crate::tenant::{StateArgs, open_connection};

#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// Tenant id.
    #[arg(long)]
    pub tenant: String,
    /// Connection id (e.g. `production`).
    #[arg(long, default_value = "production")]
    pub connection: String,
    /// The app object of every record: contact, company, deal, user, activity.
    #[arg(long)]
    pub app_object: Option<String>,
    /// Records as a JSON array or JSON Lines, each `{"app_id", "fields", "occurred_at"?}`.
    #[arg(long)]
    pub file: Option<std::path::PathBuf>,
    /// The import's id: sending it again continues (or shows) the same import.
    #[arg(long)]
    pub import_id: Option<String>,
    /// Only show the status of `--import-id`.
    #[arg(long)]
    pub status: bool,
    #[command(flatten)]
    pub app: crate::cli::ConnectedAppArgs,
    #[command(flatten)]
    pub state: StateArgs,
    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Reads records from a JSON array or JSON Lines.
pub fn parse_records(text: &str) -> CliResult<Vec<ImportRecord>> {
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).map_err(|e| CliError::usage("--file", e.to_string()));
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| CliError::usage("--file", format!("line {}: {e}", i + 1)))
        })
        .collect()
}

pub async fn run(args: &ImportArgs) -> CliResult<ImportStatus> {
    let (app, tenant, connection) =
        open_connection(&args.state, &args.app, &args.tenant, &args.connection).await?;
    if args.status {
        let id = args
            .import_id
            .as_deref()
            .ok_or_else(|| CliError::usage("--import-id", "--status needs it"))?;
        return Ok(import::status(&app, &tenant, &connection, id).await?);
    }
    let object = args
        .app_object
        .as_deref()
        .ok_or_else(|| CliError::usage("--app-object", "required"))?;
    let app_object: AppObject = serde_json::from_value(serde_json::json!(object))
        .map_err(|_| CliError::usage("--app-object", format!("unknown app object {object}")))?;
    let path = args
        .file
        .as_ref()
        .ok_or_else(|| CliError::usage("--file", "required"))?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage("--file", format!("{}: {e}", path.display())))?;
    let request = ImportRequest {
        import_id: args.import_id.clone(),
        app_object,
        records: parse_records(&text)?,
    };
    let mut request = request;
    let mut status = import::start(&app, &tenant, &connection, request.clone()).await?;
    request.import_id = Some(status.import_id.clone());
    while !status.phase.is_final() {
        tokio::time::sleep(Duration::from_secs(2)).await;
        status = if status.phase == import::Phase::Uploading {
            // The matching or the upload outlived the run: only the records go on with it.
            import::start(&app, &tenant, &connection, request.clone()).await?
        } else {
            import::advance(&app, &tenant, &connection, &status.import_id).await?
        };
    }
    Ok(status)
}

/// The counts, then one line per failure.
pub fn render(s: &ImportStatus, json: bool) -> String {
    if json {
        return serde_json::to_string_pretty(s).unwrap_or_default();
    }
    let mut out = format!(
        "import:    {} ({} → {}, {})\nphase:     {:?}\nreceived:  {}\nuploaded:  {}\ncreated:   {}\nupdated:   {}\nskipped:   {} (linked already)\nfailed:    {}\napi calls: {}",
        s.import_id,
        s.app_object,
        s.sf_object,
        s.operation,
        s.phase,
        s.received,
        s.uploaded,
        s.created,
        s.updated,
        s.skipped,
        s.failed,
        s.api_calls
    );
    if let Some(e) = &s.job_error {
        out.push_str(&format!("\njob error: {e}"));
    }
    for f in &s.failures {
        out.push_str(&format!(
            "\nfailed:    {} {}: {}",
            f.app_id, f.code, f.reason
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_from_an_array_or_json_lines() {
        let a = parse_records(r#"[{"app_id":"1","fields":{"email":"a@x"}}]"#).unwrap();
        let b = parse_records("{\"app_id\":\"1\"}\n\n{\"app_id\":\"2\"}\n").unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].fields["email"], "a@x");
        assert_eq!(b.len(), 2);
        let bad = parse_records("{\"app_id\":\"1\"}\n{\"nope\":1}\n").unwrap_err();
        assert!(bad.to_string().contains("line 2"), "{bad}");
    }
}
