//! Change-feed notices (kind `notice`): a Salesforce change the poll read but a rule
//! refused (`owners.keep_owner_field`, an `app_only` field, `inbound_allow`, the conflict
//! policy), told to the app as a sentence and as fields. The core decides what was refused
//! and what was told already ([`crmsync_core::refusal`]), so an unchanged refusal is told
//! once, not on every poll.

use crmsync_core::inbound::InboundDecision;
use crmsync_core::refusal::sentence;
use crmsync_store::{ChangeKind, Connection, NewChange};
use serde_json::{Value, json};

/// The notice for `decision`'s refusals not told yet (None: nothing new refused).
/// `app` is the app record the Salesforce record is linked to (object, id), when linked;
/// `app_id` is the feed's app id for this record (None for another record's link).
pub(crate) fn notice(
    connection: &Connection,
    decision: &InboundDecision,
    app: Option<(&str, &str)>,
    app_id: Option<String>,
    system_modstamp: Option<&Value>,
) -> Option<NewChange> {
    let refusals = &decision.refusals;
    if refusals.is_empty() {
        return None;
    }
    let message = sentence(
        connection.id.as_str(),
        &decision.sf_object,
        &decision.salesforce_id,
        app,
        refusals,
    );
    let mut rules: Vec<&str> = refusals.iter().map(|r| r.rule.as_str()).collect();
    rules.dedup();
    let payload = json!({
        "notice": "refused",
        "message": message,
        "sf_object": decision.sf_object,
        "app_object": app.map(|(object, _)| object),
        "app_id": app.map(|(_, id)| id),
        "fields": refusals.iter().map(|r| r.field.as_str()).collect::<Vec<_>>(),
        "app_fields": refusals.iter().map(|r| r.app_field.as_str()).collect::<Vec<_>>(),
        "rules": rules,
        "refusals": refusals,
        "system_modstamp": system_modstamp,
        "source": "salesforce",
    });
    Some(NewChange {
        connection: connection.id.clone(),
        object: decision.sf_object.clone(),
        sf_id: decision.salesforce_id.clone(),
        app_id,
        kind: ChangeKind::Notice,
        payload,
    })
}
