//! In-memory adapters for local runs (`crmsync dev`) and tests, with the same
//! semantics as the AWS ones: conditional writes, TTLs (via the [`Clock`]), paging.
//!
//! All state sits behind one async mutex, so every operation is atomic — races behave
//! like DynamoDB's conditional writes (exactly one winner). With a path, every write
//! is written through to a JSON file (write to a temp file, then atomic rename); a
//! failed write rolls the in-memory state back so memory never runs ahead of disk.
//! The file holds refresh tokens in clear (it is for local development), so it is
//! created with owner-only permissions.

mod accounts;
mod feed;
mod links;
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
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::clock::Clock;
use crate::error::{StoreError, StoreResult};

use state::State;

/// One embedded store implementing every port.
#[derive(Debug)]
pub struct EmbeddedStore {
    state: Mutex<State>,
    path: Option<PathBuf>,
    clock: Arc<dyn Clock>,
    secret_prefix: String,
}

impl EmbeddedStore {
    /// Opens the store; with a path, loads it if the file exists (else starts empty).
    pub async fn open(path: Option<PathBuf>, clock: Arc<dyn Clock>) -> StoreResult<Self> {
        let state = match &path {
            Some(p) => load(p).await?,
            None => State::default(),
        };
        Ok(Self {
            state: Mutex::new(state),
            path,
            clock,
            secret_prefix: crate::aws::AwsSettings::DEFAULT_SECRET_PREFIX.to_string(),
        })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Reads under the lock.
    async fn read<R>(&self, f: impl FnOnce(&State, DateTime<Utc>) -> R) -> R {
        let state = self.state.lock().await;
        f(&state, self.now())
    }

    /// Mutates under the lock and writes through. `f` must validate before it mutates
    /// when it can fail; on a persistence failure the state is rolled back.
    async fn write<R>(
        &self,
        f: impl FnOnce(&mut State, DateTime<Utc>) -> StoreResult<R>,
    ) -> StoreResult<R> {
        let mut state = self.state.lock().await;
        let now = self.now();
        let Some(path) = &self.path else {
            return f(&mut state, now);
        };
        let before = state.clone();
        let result = f(&mut state, now)?;
        if let Err(e) = save(path, &state).await {
            *state = before;
            return Err(e);
        }
        Ok(result)
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
            .map_err(|e| StoreError::corrupt(path.display().to_string(), e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(io_err(path, e)),
    }
}

async fn save(path: &Path, state: &State) -> StoreResult<()> {
    let bytes = serde_json::to_vec(state).map_err(|e| io_err(path, e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| io_err(dir, e))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    write_private(&tmp, &bytes)
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
