//! Activities (issue 13, item 6): the calls a batch of app calls and emails costs as
//! completed Tasks, each related through crmsync's links of the person it names (the links
//! are store reads, not Salesforce calls). The persons are pushed first, as Leads.

use crmsync_e2e::app_event;
use serde_json::{Value, json};

use crate::{CONN, Measure, connected, create_event, measure, push_all, reset};

/// Persons the activities are spread over.
const PERSONS: usize = 50;

/// Calls per activity event (`events` calls and emails over [`PERSONS`] linked persons).
pub async fn activities(events: usize) -> Measure {
    let s = connected().await;
    s.edit_config(CONN, |c| c.activity.enabled = true).await;
    let persons: Vec<Value> = (0..PERSONS)
        .map(|i| create_event(&s, &format!("app-act-{i}"), i))
        .collect();
    push_all(&s, persons).await;
    s.advance(chrono::Duration::minutes(1));
    let batch: Vec<Value> = (0..events)
        .map(|i| {
            let kind = if i % 3 == 0 { "email" } else { "call" };
            app_event(
                "create",
                "activity",
                &format!("act-{i}"),
                s.now(),
                json!({"contact_id": format!("app-act-{}", i % PERSONS),
                       "communication_type": kind, "duration": 60 + i % 300,
                       "notes": format!("Bench activity {i}")}),
            )
        })
        .collect();
    reset(&s);
    push_all(&s, batch).await;
    measure(&s, "activity events (→ Tasks)", events)
}

/// The row, as Markdown.
pub fn row(m: &Measure) -> String {
    format!(
        "| {} | {} events | {} | {:.3} | {:.0} |",
        m.workload,
        m.units,
        m.calls,
        m.per_unit(),
        m.per_1000()
    )
}
