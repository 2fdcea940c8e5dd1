//! crmsync's own new records seen by a poll before the push linked them.
//!
//! A create can commit in Salesforce while the push that sent it dies before writing its
//! link (a lost response, a store error, a Lambda timeout). A poll in between would take
//! the unlinked record for a Salesforce user's, feed it to the app as a new record and
//! link it as one, and the redelivered push, finding it linked elsewhere, would create it
//! again. The event's write intent names the records it may create ([`PendingCreate`]):
//! a record the integration user created since the intent, with the same identity values
//! ([`crmsync_core::reconcile`]), is linked as the push would have linked it; the poll
//! then applies it as a linked record and the redelivery adopts it.

use crmsync_core::reconcile::{Candidate, created_since, pick};
use crmsync_core::sfid::{canonical, same_id};
use crmsync_store::{Connection, Link, PendingCreate, WriteIntent};
use serde_json::{Map, Value};

use crate::app::App;
use crate::error::ServiceError;

/// Fields a poll selects so that [`link_if_own_create`] can recognise a record: who
/// created it, when, and its identity fields.
pub fn recognition_fields(object: &str) -> impl Iterator<Item = &'static str> {
    ["CreatedById", "CreatedDate"].into_iter().chain(
        crmsync_core::reconcile::identity_fields(object)
            .iter()
            .copied(),
    )
}

/// Links an unlinked record that an open write intent of the connection is creating, and
/// returns the link; `None` when the record is not one of crmsync's pending creates.
pub async fn link_if_own_create(
    app: &App,
    connection: &Connection,
    object: &str,
    fields: &Map<String, Value>,
) -> Result<Option<Link>, ServiceError> {
    let text = |f: &str| fields.get(f).and_then(Value::as_str);
    let (Some(sf_id), Some(creator), Some(created_at)) = (
        text("Id"),
        text("CreatedById"),
        text("CreatedDate").and_then(crmsync_salesforce::datetime::parse_datetime),
    ) else {
        return Ok(None);
    };
    if !same_id(creator, &connection.user.id) {
        return Ok(None);
    }
    let intents = app
        .stores
        .intents
        .list_open(&connection.tenant, &connection.id)
        .await?;
    let candidate = Candidate {
        id: sf_id.to_string(),
        created_at,
        fields: fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    };
    let Some((intent, create)) = find_create(&intents, object, &candidate) else {
        return Ok(None);
    };
    let now = app.now();
    let link = Link {
        tenant: connection.tenant.clone(),
        connection: connection.id.clone(),
        app_object: create.app_object.clone(),
        app_id: create.app_id.clone(),
        sf_object: object.to_string(),
        sf_id: canonical(sf_id),
        hashes: create.hashes.clone(),
        times: crmsync_store::LinkTimes {
            pending: Default::default(),
            ..create.times.clone()
        },
        created_at: now,
        updated_at: now,
        version: 0,
    };
    tracing::info!(
        event_id = intent.event_id,
        object,
        sf_id,
        app_object = link.app_object,
        "a poll found a record crmsync is creating; linking it to its app record"
    );
    crate::links::link_record(app, &link).await?;
    Ok(Some(link))
}

/// The intent and create whose record `candidate` is: same object, created since the
/// intent, same identity values, not a record the event's app record already had. The
/// earliest intent wins.
fn find_create<'a>(
    intents: &'a [WriteIntent],
    object: &str,
    candidate: &Candidate,
) -> Option<(&'a WriteIntent, &'a PendingCreate)> {
    let mut ordered: Vec<&WriteIntent> = intents.iter().collect();
    ordered.sort_by(|a, b| (a.started_at, &a.event_id).cmp(&(b.started_at, &b.event_id)));
    ordered.into_iter().find_map(|intent| {
        let known = |id: &str| intent.known_ids.iter().any(|k| same_id(k, id));
        intent
            .creates
            .iter()
            .filter(|c| c.sf_object == object)
            .find(|c| {
                pick(
                    object,
                    &c.identity,
                    created_since(intent.started_at),
                    std::slice::from_ref(candidate),
                    known,
                )
                .is_some()
            })
            .map(|c| (intent, c))
    })
}
