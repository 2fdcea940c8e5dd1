use serde::{Deserialize, Serialize};

/// The queues crmsync uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueKind {
    /// FIFO: record events from the app (group = one record, dedup = event id).
    Push,
    /// Standard: one message per connection due for a pull.
    Poll,
    /// Standard: one message per connection to sweep for deletions (the sweep fan-out).
    Sweep,
}

impl QueueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueKind::Push => "push",
            QueueKind::Poll => "poll",
            QueueKind::Sweep => "sweep",
        }
    }
}

/// A message to send. FIFO queues require `group_id`; `dedup_id` drops repeats
/// within the deduplication window (5 minutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMessage {
    pub body: String,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

/// A received message; `receipt` acknowledges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub body: String,
    pub receipt: String,
    pub group_id: Option<String>,
}
