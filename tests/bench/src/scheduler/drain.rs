//! Poll workers draining the poll queue while the scheduler pass fills it, as the poll
//! function's event source does in a deployment (batch 1, up to 20 at once): each worker
//! receives up to 10 messages (`ReceiveMessage`, no wait) and deletes each one
//! (`DeleteMessage`), without running the poll itself. On SQS this changes nothing for the
//! pass (a send does not depend on the queue's depth); on moto it keeps the depth what a
//! deployment sees instead of 10,000, since moto scans every message in the queue on each
//! send (it computes the queue's attributes for every message sent).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crmsync_store::{QueueKind, Queues};
use tokio::task::JoinHandle;

/// How long a worker that found the queue empty waits before it asks again.
const EMPTY_WAIT: Duration = Duration::from_millis(250);

/// What the workers did.
#[derive(Debug, Clone, Copy, Default)]
pub struct DrainStats {
    pub workers: usize,
    pub receives: u64,
    /// Receives that found the queue empty.
    pub empty_receives: u64,
    pub deletes: u64,
    /// Deletes refused because the message had been received again meanwhile (its
    /// visibility timeout passed): the other receipt deletes it.
    pub stale_deletes: u64,
    /// From the pass's start until the last expected message was deleted.
    pub drained_after: Duration,
    /// The deepest the queue was seen (messages sent minus deleted, sampled per receive).
    pub max_depth: u64,
}

struct Shared {
    receives: AtomicU64,
    empty: AtomicU64,
    deletes: AtomicU64,
    stale: AtomicU64,
    max_depth: AtomicU64,
    stop: AtomicBool,
}

/// Running workers.
pub struct Drainers {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
    started: Instant,
    workers: usize,
}

impl Drainers {
    /// Starts `workers` workers on the poll queue; `sent` counts the messages the pass has
    /// sent so far (for the depth).
    pub fn start(queues: Arc<dyn Queues>, workers: usize, sent: Arc<AtomicU64>) -> Self {
        let shared = Arc::new(Shared {
            receives: AtomicU64::new(0),
            empty: AtomicU64::new(0),
            deletes: AtomicU64::new(0),
            stale: AtomicU64::new(0),
            max_depth: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let handles = (0..workers)
            .map(|_| {
                let (queues, shared, sent) = (queues.clone(), shared.clone(), sent.clone());
                tokio::spawn(async move {
                    loop {
                        let depth = sent
                            .load(Ordering::Relaxed)
                            .saturating_sub(shared.deletes.load(Ordering::Relaxed));
                        shared.max_depth.fetch_max(depth, Ordering::Relaxed);
                        let got = queues
                            .receive(QueueKind::Poll, 10)
                            .await
                            .expect("receive from the poll queue");
                        shared.receives.fetch_add(1, Ordering::Relaxed);
                        if got.is_empty() {
                            shared.empty.fetch_add(1, Ordering::Relaxed);
                            if shared.stop.load(Ordering::Relaxed) {
                                return;
                            }
                            // An idle worker waits as a long poll would, not hammering moto.
                            tokio::time::sleep(EMPTY_WAIT).await;
                            continue;
                        }
                        for m in got {
                            match queues.ack(QueueKind::Poll, &m.receipt).await {
                                Ok(()) => shared.deletes.fetch_add(1, Ordering::Relaxed),
                                Err(_) => shared.stale.fetch_add(1, Ordering::Relaxed),
                            };
                        }
                    }
                })
            })
            .collect();
        Self {
            shared,
            handles,
            started: Instant::now(),
            workers,
        }
    }

    /// Waits until `expected` messages are deleted (at most `limit`), then stops the workers.
    pub async fn finish(self, expected: u64, limit: Duration) -> DrainStats {
        while self.shared.deletes.load(Ordering::Relaxed) < expected
            && self.started.elapsed() < limit
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let drained_after = self.started.elapsed();
        self.shared.stop.store(true, Ordering::Relaxed);
        for h in self.handles {
            let _ = h.await;
        }
        DrainStats {
            workers: self.workers,
            receives: self.shared.receives.load(Ordering::Relaxed),
            empty_receives: self.shared.empty.load(Ordering::Relaxed),
            deletes: self.shared.deletes.load(Ordering::Relaxed),
            stale_deletes: self.shared.stale.load(Ordering::Relaxed),
            drained_after,
            max_depth: self.shared.max_depth.load(Ordering::Relaxed),
        }
    }
}
