//! Lease names. One place, so every lease is named the way the stores accept (no `#`,
//! which is the table's key separator).

use crmsync_store::{ConnectionId, TenantId};

/// What a lease guards, per connection.
#[derive(Debug, Clone, Copy)]
pub enum LeaseKind {
    /// One poller per connection.
    Poll,
    /// One sweeper per connection.
    Sweep,
    /// One token refresh per connection.
    Refresh,
    /// One parked replay per connection (the reconnect callback and the poll both replay).
    Replay,
    /// A scheduled poll is queued or running (the scheduler's mark; see `schedule`).
    Queued,
}

impl LeaseKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Poll => "poll",
            Self::Sweep => "sweep",
            Self::Refresh => "refresh",
            Self::Replay => "replay",
            Self::Queued => "queued",
        }
    }
}

/// `kind:tenant:connection`.
pub fn lease_name(kind: LeaseKind, tenant: &TenantId, connection: &ConnectionId) -> String {
    format!(
        "{}:{}:{}",
        kind.as_str(),
        tenant.as_str(),
        connection.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_names_carry_no_key_separator() {
        let tenant = TenantId::new("acme").unwrap();
        let connection = ConnectionId::new("prod").unwrap();
        for kind in [
            LeaseKind::Poll,
            LeaseKind::Sweep,
            LeaseKind::Refresh,
            LeaseKind::Replay,
            LeaseKind::Queued,
        ] {
            let name = lease_name(kind, &tenant, &connection);
            assert!(!name.contains('#'), "{name}");
            assert!(name.ends_with(":acme:prod"), "{name}");
        }
    }
}
