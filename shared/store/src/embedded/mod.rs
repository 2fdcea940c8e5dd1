//! In-memory adapters for local runs (`crmsync dev`) and tests, with the same
//! semantics as the AWS ones: conditional writes, TTLs (via the [`Clock`]), paging.
//!
//! All state sits behind one async mutex, so every operation is atomic — races behave
//! like DynamoDB's conditional writes (exactly one winner). With a path, the state is
//! written behind to a JSON file (temp file, then atomic rename): a background task saves
//! the whole state at most every [`FLUSH_DELAY`] after changes, and dropping the store
//! saves what is left. Rewriting the file on every write made a full sync of a few
//! thousand records take tens of seconds; a crash loses at most the last moments of
//! local-development state. The file holds refresh tokens in clear (it is for local
//! development), so it is created with owner-only permissions.

mod accounts;
mod checkpoints;
mod feed;
mod intents;
mod links;
mod outbox;
mod paging;
mod queues;
mod quota;
mod reports;
mod runs;
mod shortlived;
mod state;
mod sync;
mod vault;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, Notify};

use crate::clock::Clock;
use crate::error::{StoreError, StoreResult};

use state::State;

/// How long the background saver waits after a change, so a burst of writes is saved once.
pub const FLUSH_DELAY: Duration = Duration::from_millis(100);

/// One embedded store implementing every port.
#[derive(Debug)]
pub struct EmbeddedStore {
    state: Arc<Mutex<State>>,
    persistence: Option<Arc<Persistence>>,
    clock: Arc<dyn Clock>,
    secret_prefix: String,
}

/// Write-behind bookkeeping: `changed` counts writes, `saved` the count last on disk.
#[derive(Debug)]
struct Persistence {
    path: PathBuf,
    changed: AtomicU64,
    saved: AtomicU64,
    wake: Notify,
}

impl EmbeddedStore {
    /// Opens the store; with a path, loads it if the file exists (else starts empty) and
    /// starts the background saver.
    pub async fn open(path: Option<PathBuf>, clock: Arc<dyn Clock>) -> StoreResult<Self> {
        let state = match &path {
            Some(p) => load(p).await?,
            None => State::default(),
        };
        let state = Arc::new(Mutex::new(state));
        let persistence = path.map(|path| {
            let p = Arc::new(Persistence {
                path,
                changed: AtomicU64::new(0),
                saved: AtomicU64::new(0),
                wake: Notify::new(),
            });
            tokio::spawn(save_behind(Arc::downgrade(&state), p.clone()));
            p
        });
        Ok(Self {
            state,
            persistence,
            clock,
            secret_prefix: crate::aws::AwsSettings::DEFAULT_SECRET_PREFIX.to_string(),
        })
    }

    pub fn path(&self) -> Option<&Path> {
        self.persistence.as_ref().map(|p| p.path.as_path())
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Reads under the lock.
    async fn read<R>(&self, f: impl FnOnce(&State, DateTime<Utc>) -> R) -> R {
        let state = self.state.lock().await;
        f(&state, self.now())
    }

    /// Mutates under the lock and schedules a save. `f` must validate before it mutates
    /// when it can fail (an error leaves the state as it was).
    async fn write<R>(
        &self,
        f: impl FnOnce(&mut State, DateTime<Utc>) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let mut state = self.state.lock().await;
        let result = f(&mut state, self.now())?;
        if let Some(p) = &self.persistence {
            p.changed.fetch_add(1, Ordering::SeqCst);
            p.wake.notify_one();
        }
        Ok(result)
    }
}

impl Drop for EmbeddedStore {
    /// Saves what the background saver has not yet (the store is going away).
    fn drop(&mut self) {
        let Some(p) = &self.persistence else {
            return;
        };
        let changed = p.changed.load(Ordering::SeqCst);
        if changed == p.saved.load(Ordering::SeqCst) {
            return;
        }
        // Nothing else can hold the lock once the store is dropped, except a save in
        // progress, which then writes this same state.
        if let Ok(state) = self.state.try_lock()
            && let Err(e) = serde_json::to_vec(&*state)
                .map_err(|e| io_err(&p.path, e))
                .and_then(|bytes| save_blocking(&p.path, &bytes))
        {
            eprintln!("crmsync: could not save the local state file: {e}");
        }
    }
}

/// The background saver: after each change (and [`FLUSH_DELAY`]), saves the whole state;
/// stops once the store is dropped.
async fn save_behind(state: Weak<Mutex<State>>, p: Arc<Persistence>) {
    loop {
        p.wake.notified().await;
        tokio::time::sleep(FLUSH_DELAY).await;
        let Some(state) = state.upgrade() else {
            return;
        };
        let (changed, bytes) = {
            let guard = state.lock().await;
            (
                p.changed.load(Ordering::SeqCst),
                serde_json::to_vec(&*guard),
            )
        };
        drop(state);
        let result = match bytes {
            Ok(bytes) => save(&p.path, &bytes).await,
            Err(e) => Err(io_err(&p.path, e)),
        };
        match result {
            Ok(()) => {
                p.saved.fetch_max(changed, Ordering::SeqCst);
            }
            Err(e) => {
                tracing::error!(error = %e, "could not save the local state file; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                p.wake.notify_one();
            }
        }
    }
}

fn io_err(path: &Path, e: impl ToString) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

async fn load(path: &Path) -> StoreResult<State> {
    match tokio::fs::read(path).await {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(|mut state: State| {
                state.reindex();
                state
            })
            .map_err(|e| StoreError::corrupt(path.display().to_string(), e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(io_err(path, e)),
    }
}

async fn save(path: &Path, bytes: &[u8]) -> StoreResult<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| io_err(dir, e))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    write_private(&tmp, bytes)
        .await
        .map_err(|e| io_err(&tmp, e))?;
    tokio::fs::rename(&tmp, path)
        .await
        .map_err(|e| io_err(path, e))
}

/// The file holds refresh tokens: owner-only permissions where the OS has them.
async fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, bytes).await?;
    file.sync_all().await
}

/// [`save`] without a runtime (for `Drop`).
fn save_blocking(path: &Path, bytes: &[u8]) -> StoreResult<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let write = || -> std::io::Result<()> {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    write().map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
}
