//! Booking a push's writes before they are made (issue 11, goal 3).
//!
//! The gate at the start of a batch only knows how many events there are; a sale costs one
//! composite whatever its size, a batch of singles one collections call per object,
//! operation and 200 records. Once a wave is planned and matched, its writes' exact call
//! count is reserved against crmsync's share ([`guard::reserve`]) before the first of them
//! is sent. What does not fit is parked (replayed when the budget allows), and so is every
//! later event of the same record, so a record's order holds. Reads (describes, matching,
//! pricing) are booked as they are made, inside the batch's gate.

use std::collections::BTreeSet;

use crmsync_salesforce::SfClient;
use crmsync_store::Connection;

use crate::app::App;
use crate::error::ServiceError;
use crate::guard;
use crate::messages::PushMessage;

/// Records per sObject Collections call.
pub(super) const COLLECTION_SIZE: usize = 200;
/// The report code of an event parked because its writes did not fit the budget.
pub(super) const BUDGET_SPENT: &str = "QUOTA_PAUSED";
pub(super) const BUDGET_SPENT_REASON: &str = "the connection's API budget cannot take this write now; the event is parked and replays when it frees up";

/// What a batch has booked, and the records whose events it parked.
#[derive(Debug)]
pub(super) struct Budget {
    /// The client's request counter when the batch started.
    calls_before: u64,
    /// Calls booked so far: reads already made and writes reserved ahead. The caller books
    /// only the calls beyond these when the batch ends.
    pub(super) booked: u64,
    parked: BTreeSet<String>,
}

impl Budget {
    pub(super) fn new(client: &SfClient) -> Self {
        Budget {
            calls_before: client.requests_sent(),
            booked: 0,
            parked: BTreeSet::new(),
        }
    }

    /// Books `calls` writes now, with the batch's reads not booked yet, if they all fit in
    /// the connection's share; false (nothing booked) when they do not.
    pub(super) async fn reserve(
        &mut self,
        app: &App,
        conn: &Connection,
        client: &SfClient,
        calls: u64,
    ) -> Result<bool, ServiceError> {
        let made = client.requests_sent().saturating_sub(self.calls_before);
        let unbooked = made.saturating_sub(self.booked);
        let total = unbooked + calls;
        if !guard::reserve(app, conn, total).await? {
            return Ok(false);
        }
        self.booked += total;
        Ok(true)
    }

    /// Notes that `msg`'s record has an event parked: its later events park behind it.
    pub(super) fn parked(&mut self, msg: &PushMessage) {
        self.parked.insert(msg.group_id());
    }

    /// Whether an earlier event of `msg`'s record was parked in this batch.
    pub(super) fn is_behind_parked(&self, msg: &PushMessage) -> bool {
        self.parked.contains(&msg.group_id())
    }
}

/// Calls to write `records` records with sObject Collections.
pub(super) fn collection_calls(records: usize) -> u64 {
    records.div_ceil(COLLECTION_SIZE) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_take_200_records_a_call() {
        assert_eq!(collection_calls(0), 0);
        assert_eq!(collection_calls(1), 1);
        assert_eq!(collection_calls(200), 1);
        assert_eq!(collection_calls(201), 2);
    }
}
