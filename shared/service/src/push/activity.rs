//! Activities' Task relations from crmsync's links ([`crmsync_core::activity`]): the links
//! of the person and deal an activity names, and whether a parked activity can go now.

use crmsync_core::activity::{ActivityLinks, Unready, named, relations};
use crmsync_core::config::SyncConfig;
use crmsync_core::event::AppEvent;
use crmsync_store::{ConnectionId, TenantId};

use crate::app::App;
use crate::error::ServiceError;
use crate::links::links_of;

/// The report code of an activity parked until the person (or deal) it names is linked.
pub const WAITING_FOR_LINK: &str = "WAITING_FOR_LINK";

/// The links of the person and deal `event` names (store reads only).
pub(crate) async fn related_links(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    config: &SyncConfig,
    event: &AppEvent,
) -> Result<ActivityLinks, ServiceError> {
    let named = named(config, event);
    let mut out = ActivityLinks::default();
    if let Some(contact) = &named.contact {
        out.person = links_of(app, tenant, connection, "contact", contact).await?;
    }
    if let Some(deal) = &named.deal {
        out.deal = links_of(app, tenant, connection, "deal", deal).await?;
    }
    Ok(out)
}

/// Whether a parked activity no longer waits for a link (so replaying it can write it).
pub(crate) async fn links_ready(
    app: &App,
    tenant: &TenantId,
    connection: &ConnectionId,
    config: &SyncConfig,
    event: &AppEvent,
) -> Result<bool, ServiceError> {
    let links = related_links(app, tenant, connection, config, event).await?;
    Ok(!matches!(
        relations(config, event, &links),
        Err(Unready::Waiting(_))
    ))
}
