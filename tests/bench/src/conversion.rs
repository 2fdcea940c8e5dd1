//! Lead conversion (issue 13, item 5): sales of people crmsync pushed as Leads. The push
//! converts a wave's Leads first (the account cascade's lookups in one composite, then one
//! `convertLead` call per 100 Leads), then the sales close the Opportunities the
//! conversions made, with their line items, in composite graph requests.

use serde_json::Value;

use crate::{Measure, connected, create_event, measure, push_all, reset, sale_event};

/// Calls for `events` sales, each of a person linked to a Lead.
pub async fn sales_of_leads(events: usize) -> Measure {
    let s = connected().await;
    let leads: Vec<Value> = (0..events)
        .map(|i| create_event(&s, &format!("app-conv-{i}"), i))
        .collect();
    push_all(&s, leads).await;
    s.advance(chrono::Duration::minutes(1));
    let sales: Vec<Value> = (0..events)
        .map(|i| sale_event(&s, &format!("app-conv-{i}"), i))
        .collect();
    reset(&s);
    push_all(&s, sales).await;
    measure(&s, "sales converting their Lead", events)
}

/// One table row, as `table` prints the push workloads.
pub fn row(m: &Measure) -> String {
    format!(
        "| {} | {} events | {} | {:.3} | {:.0} | convertLead: {} |",
        m.workload,
        m.units,
        m.calls,
        m.per_unit(),
        m.per_1000(),
        m.per_endpoint
            .get("soap.convertLead")
            .copied()
            .unwrap_or_default()
    )
}
