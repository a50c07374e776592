//! Where slow work runs: bounded queues in front of the blocking thread pool.
//!
//! The async workers only ever run microsecond work (framing, authentication, ECDSA, AES,
//! HMAC). Anything that may take milliseconds or seconds — RSA private-key operations and key
//! generation, key-store commits, every PKCS#11 or TPM call — goes to a named queue: one per
//! provider (a TPM is one device: its queue runs one job at a time) and one for the key store.
//! Each queue bounds how many of its jobs run at once and how many may wait; a job waits at most
//! the configured time to start; and a job still waiting when its client's connection closes
//! is dropped without running. A job that has started runs to the end (threads cannot be
//! interrupted safely); what it produced is discarded if nobody waits for it any more, and the
//! job itself can look at its cancellation token to undo work nobody will be told about.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// A queue's name, chosen by the daemon (e.g. one per provider and one for the key store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueId(pub u32);

/// Why a job did not produce a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    #[error("queue {queue} is full ({max_waiting} jobs waiting)")]
    Busy {
        queue: &'static str,
        max_waiting: usize,
    },
    #[error("a job waited {waited:?} in queue {queue} without starting")]
    Deadline {
        queue: &'static str,
        waited: Duration,
    },
    #[error("the client went away before the job started")]
    Cancelled,
    #[error("a job in queue {queue} panicked")]
    Panicked { queue: &'static str },
    #[error("no queue {0:?} is configured")]
    UnknownQueue(QueueId),
}

struct Queue {
    name: &'static str,
    running: Arc<Semaphore>,
    max_in_flight: usize,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// What a queue is doing right now (for metrics and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStats {
    pub name: &'static str,
    pub running: usize,
    pub waiting: usize,
}

/// The daemon's queues.
pub struct Executor {
    queues: HashMap<QueueId, Queue>,
    start_timeout: Duration,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("queues", &self.stats())
            .field("start_timeout", &self.start_timeout)
            .finish()
    }
}

/// Decrements the waiting count however the wait ends.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Executor {
    /// An executor whose jobs wait at most `start_timeout` to start.
    pub fn new(start_timeout: Duration) -> Self {
        Executor {
            queues: HashMap::new(),
            start_timeout,
        }
    }

    /// Adds a queue running at most `max_in_flight` jobs at once (at least 1) with at most
    /// `max_waiting` more waiting.
    pub fn add_queue(
        &mut self,
        id: QueueId,
        name: &'static str,
        max_in_flight: usize,
        max_waiting: usize,
    ) {
        let max_in_flight = max_in_flight.max(1);
        self.queues.insert(
            id,
            Queue {
                name,
                running: Arc::new(Semaphore::new(max_in_flight)),
                max_in_flight,
                waiting: AtomicUsize::new(0),
                max_waiting,
            },
        );
    }

    /// True when a queue with this id exists.
    pub fn has_queue(&self, id: QueueId) -> bool {
        self.queues.contains_key(&id)
    }

    /// Runs `job` on the blocking pool once queue `id` has room, unless `cancel` fires or the
    /// start time-out passes first.
    pub async fn run<R: Send + 'static>(
        &self,
        id: QueueId,
        cancel: &CancellationToken,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, ExecError> {
        let queue = self.queues.get(&id).ok_or(ExecError::UnknownQueue(id))?;
        // Reserve a waiting place first, so the bound holds under any interleaving.
        let waiting = queue.waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(&queue.waiting);
        if waiting >= queue.max_waiting {
            return Err(ExecError::Busy {
                queue: queue.name,
                max_waiting: queue.max_waiting,
            });
        }
        let permit = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(ExecError::Cancelled),
            permit = tokio::time::timeout(self.start_timeout, queue.running.clone().acquire_owned()) => match permit {
                Ok(Ok(permit)) => permit,
                Ok(Err(_closed)) => return Err(ExecError::Cancelled),
                Err(_) => return Err(ExecError::Deadline { queue: queue.name, waited: self.start_timeout }),
            },
        };
        drop(_waiting);
        if cancel.is_cancelled() {
            return Err(ExecError::Cancelled);
        }
        let name = queue.name;
        let handle = tokio::task::spawn_blocking(move || {
            // The permit goes with the job: the queue slot is held until the work ends, even
            // when nobody waits for the result any more.
            let _running = permit;
            job()
        });
        handle
            .await
            .map_err(|_| ExecError::Panicked { queue: name })
    }

    /// What every queue is doing, sorted by name.
    pub fn stats(&self) -> Vec<QueueStats> {
        let mut stats: Vec<QueueStats> = self
            .queues
            .values()
            .map(|q| {
                let running = q.max_in_flight - q.running.available_permits();
                QueueStats {
                    name: q.name,
                    running,
                    waiting: q.waiting.load(Ordering::Relaxed),
                }
            })
            .collect();
        stats.sort_by_key(|s| s.name);
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Mutex;

    const Q: QueueId = QueueId(1);

    fn executor(in_flight: usize, waiting: usize, timeout: Duration) -> Arc<Executor> {
        let mut exec = Executor::new(timeout);
        exec.add_queue(Q, "test", in_flight, waiting);
        Arc::new(exec)
    }

    #[tokio::test]
    async fn jobs_run_and_return() {
        let exec = executor(2, 2, Duration::from_secs(5));
        let token = CancellationToken::new();
        assert_eq!(exec.run(Q, &token, || 40 + 2).await, Ok(42));
        assert_eq!(
            exec.run(QueueId(9), &token, || 1).await,
            Err(ExecError::UnknownQueue(QueueId(9)))
        );
    }

    #[tokio::test]
    async fn at_most_max_in_flight_run_and_the_queue_is_bounded() {
        let exec = executor(1, 1, Duration::from_secs(5));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Arc::new(Mutex::new(release_rx));
        let token = CancellationToken::new();
        let started = Arc::new(AtomicUsize::new(0));
        let spawn = |exec: Arc<Executor>| {
            let token = token.clone();
            let started = started.clone();
            let release = release_rx.clone();
            tokio::spawn(async move {
                exec.run(Q, &token, move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    let _ = release.lock().expect("lock").recv();
                })
                .await
            })
        };
        let first = spawn(exec.clone());
        while started.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let second = spawn(exec.clone());
        // Wait until the second is counted as waiting, then the third finds the queue full.
        while exec.stats()[0].waiting < 1 {
            tokio::task::yield_now().await;
        }
        let third = exec.run(Q, &token, || ()).await;
        assert!(matches!(third, Err(ExecError::Busy { .. })), "{third:?}");
        assert_eq!(started.load(Ordering::SeqCst), 1, "only one runs at a time");
        release_tx.send(()).expect("release first");
        release_tx.send(()).expect("release second");
        assert_eq!(first.await.expect("task"), Ok(()));
        assert_eq!(second.await.expect("task"), Ok(()));
        assert_eq!(started.load(Ordering::SeqCst), 2);
    }

    // Real time: tokio does not advance paused time while a blocking job runs.
    #[tokio::test]
    async fn waiting_jobs_are_dropped_on_cancel_or_deadline_and_never_run() {
        let exec = executor(1, 10, Duration::from_millis(200));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let token = CancellationToken::new();
        let blocker = {
            let exec = exec.clone();
            let token = token.clone();
            tokio::spawn(async move {
                exec.run(Q, &token, move || {
                    let _ = release_rx.recv();
                })
                .await
            })
        };
        while exec.stats()[0].running == 0 {
            tokio::task::yield_now().await;
        }
        let ran = Arc::new(AtomicBool::new(false));
        // Cancelled while waiting: never runs.
        let gone = CancellationToken::new();
        let cancelled = {
            let exec = exec.clone();
            let gone = gone.clone();
            let ran = ran.clone();
            tokio::spawn(async move {
                exec.run(Q, &gone, move || ran.store(true, Ordering::SeqCst))
                    .await
            })
        };
        tokio::task::yield_now().await;
        gone.cancel();
        assert_eq!(cancelled.await.expect("task"), Err(ExecError::Cancelled));
        // Waiting past the start time-out: refused, never runs.
        let late = {
            let ran = ran.clone();
            exec.run(Q, &token, move || ran.store(true, Ordering::SeqCst))
                .await
        };
        assert!(matches!(late, Err(ExecError::Deadline { .. })), "{late:?}");
        release_tx.send(()).expect("release");
        assert_eq!(blocker.await.expect("task"), Ok(()));
        assert!(!ran.load(Ordering::SeqCst), "a dropped job ran");
        assert_eq!(exec.stats()[0].waiting, 0);
    }

    #[tokio::test]
    async fn a_panicking_job_is_reported_and_frees_its_slot() {
        let exec = executor(1, 1, Duration::from_secs(5));
        let token = CancellationToken::new();
        let result = exec
            .run(Q, &token, || -> u8 { panic!("provider bug") })
            .await;
        assert_eq!(result, Err(ExecError::Panicked { queue: "test" }));
        assert_eq!(exec.run(Q, &token, || 7).await, Ok(7));
    }
}
