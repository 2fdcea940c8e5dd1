//! The store fault plan (one armed fault per worker run, a trigger, or throttling) and the
//! killable worker future.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use crmsync_store::faulty::{StoreFault, StoreFaultPlan};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What the plan does at its armed store call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Armed {
    /// That call gets this store fault.
    Fault(StoreFault),
    /// That call proceeds, and the plan's trigger runs first (a lease-expiry race).
    Trigger,
}

/// Runs once when an armed [`Armed::Trigger`] call is reached.
pub type Trigger = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct PlanState {
    calls: u32,
    armed: Option<(u32, Armed)>,
    trigger: Option<Trigger>,
    /// Throttling: per mille of calls refused, and the generator deciding which.
    throttle: Option<(u16, StdRng)>,
    fired: bool,
    killed: bool,
}

/// The store fault plan: at most one armed fault, at the n-th store call of a worker run,
/// or a throttled share of every call.
#[derive(Default)]
pub struct StorePlan {
    state: Mutex<PlanState>,
}

impl std::fmt::Debug for StorePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorePlan").finish_non_exhaustive()
    }
}

impl StorePlan {
    fn lock(&self) -> std::sync::MutexGuard<'_, PlanState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arms `fault` at store call number `at_call` (0-based) from now on.
    pub fn arm(&self, at_call: u32, fault: StoreFault) {
        *self.lock() = PlanState {
            armed: Some((at_call, Armed::Fault(fault))),
            ..PlanState::default()
        };
    }

    /// Runs `trigger` when store call number `at_call` is reached (the call proceeds).
    pub fn arm_trigger(&self, at_call: u32, trigger: Trigger) {
        *self.lock() = PlanState {
            armed: Some((at_call, Armed::Trigger)),
            trigger: Some(trigger),
            ..PlanState::default()
        };
    }

    /// Refuses `per_mille` of the calls from now on as throttled, chosen by `seed`.
    pub fn throttle(&self, per_mille: u16, seed: u64) {
        *self.lock() = PlanState {
            throttle: Some((per_mille, StdRng::seed_from_u64(seed))),
            ..PlanState::default()
        };
    }

    /// Disarms; returns whether the armed fault fired.
    pub fn disarm(&self) -> bool {
        let mut st = self.lock();
        let fired = st.fired;
        *st = PlanState::default();
        fired
    }

    pub fn killed(&self) -> bool {
        self.lock().killed
    }
}

impl StoreFaultPlan for StorePlan {
    fn decide(&self, _port: &'static str, _operation: &'static str, write: bool) -> StoreFault {
        let (decision, trigger) = {
            let mut st = self.lock();
            let n = st.calls;
            st.calls += 1;
            if let Some((per_mille, rng)) = st.throttle.as_mut() {
                if rng.random_range(0..1000u16) < *per_mille {
                    st.fired = true;
                    return StoreFault::Throttled;
                }
                return StoreFault::Proceed;
            }
            match st.armed {
                Some((at, armed)) if at == n => {
                    st.fired = true;
                    st.armed = None;
                    match armed {
                        Armed::Trigger => (StoreFault::Proceed, st.trigger.take()),
                        // A read cannot commit: after-commit on a read is a plain failure.
                        Armed::Fault(StoreFault::FailAfterCommit) if !write => {
                            (StoreFault::FailBefore, None)
                        }
                        Armed::Fault(StoreFault::Hang) => {
                            st.killed = true;
                            (StoreFault::Hang, None)
                        }
                        Armed::Fault(f) => (f, None),
                    }
                }
                _ => (StoreFault::Proceed, None),
            }
        };
        // Outside the lock: the trigger moves clocks and wakes the second worker.
        if let Some(trigger) = trigger {
            trigger();
        }
        decision
    }
}

/// Runs a worker future until it finishes (`Some`) or the plan kills it (`None`; the future
/// is dropped at its pending await point, as a Lambda timeout does).
pub struct Killable<'p, F: Future> {
    inner: Pin<Box<F>>,
    plan: &'p StorePlan,
}

impl<'p, F: Future> Killable<'p, F> {
    pub fn new(inner: F, plan: &'p StorePlan) -> Self {
        Self {
            inner: Box::pin(inner),
            plan,
        }
    }
}

impl<F: Future> Future for Killable<'_, F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.inner.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(Some(v)),
            Poll::Pending if self.plan.killed() => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
