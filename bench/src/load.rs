//! The load runner: N threads repeat one operation for a fixed time after a short warm-up;
//! every operation's latency is kept (a sorted vector gives exact percentiles) and the
//! throughput is operations completed over the measured wall time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

/// What one measured run produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub ops: u64,
    pub errors: u64,
    pub seconds: f64,
    pub ops_per_sec: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub mean_us: f64,
    /// Connections the server closed under a persistent client (Parsec closes after each reply).
    pub reconnects: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

impl Stats {
    fn from_samples(mut samples: Vec<u32>, errors: u64, seconds: f64) -> Stats {
        samples.sort_unstable();
        let ops = samples.len() as u64;
        let at = |per_mille: usize| -> f64 {
            if samples.is_empty() {
                return 0.0;
            }
            let index = (samples.len() * per_mille / 1000).min(samples.len() - 1);
            f64::from(samples[index]) / 1000.0
        };
        let mean_us = if samples.is_empty() {
            0.0
        } else {
            samples.iter().map(|&ns| f64::from(ns)).sum::<f64>() / samples.len() as f64 / 1000.0
        };
        Stats {
            ops,
            errors,
            seconds,
            ops_per_sec: if seconds > 0.0 {
                ops as f64 / seconds
            } else {
                0.0
            },
            p50_us: at(500),
            p99_us: at(990),
            mean_us,
            reconnects: 0,
            first_error: None,
        }
    }
}

/// Per-thread state an operation may keep (a connection, a counter) and report from.
pub trait Worker {
    /// Runs one operation; `Err` counts as an error (not an operation).
    fn run_once(&mut self) -> Result<(), String>;
    /// Reconnections this worker needed.
    fn reconnects(&self) -> u64 {
        0
    }
}

/// Runs `clients` workers, built by `make(thread_index)`, for `duration` after a warm-up of
/// up to `warmup` per thread. Stops a thread early after 100 errors in a row (a broken target).
pub fn run<W: Worker>(
    clients: usize,
    duration: Duration,
    warmup: Duration,
    make: impl Fn(usize) -> anyhow::Result<W> + Sync,
) -> anyhow::Result<Stats> {
    let clients = clients.max(1);
    let barrier = Barrier::new(clients);
    let samples = Mutex::new(Vec::new());
    let errors = AtomicU64::new(0);
    let reconnects = AtomicU64::new(0);
    let first_error = Mutex::new(None::<String>);
    let window = Mutex::new((None::<Instant>, None::<Instant>));
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let mut handles = Vec::new();
        for index in 0..clients {
            let (barrier, samples, errors, reconnects, first_error, window, make) = (
                &barrier,
                &samples,
                &errors,
                &reconnects,
                &first_error,
                &window,
                &make,
            );
            handles.push(scope.spawn(move || -> anyhow::Result<()> {
                let built = make(index);
                // Every thread must reach the barrier, even one whose set-up failed.
                let mut worker = match built {
                    Ok(worker) => Some(worker),
                    Err(err) => {
                        barrier.wait();
                        return Err(err);
                    }
                };
                let warm_until = Instant::now() + warmup;
                if let Some(worker) = worker.as_mut() {
                    while Instant::now() < warm_until {
                        if worker.run_once().is_err() {
                            break;
                        }
                    }
                }
                barrier.wait();
                let start = Instant::now();
                let deadline = start + duration;
                {
                    let mut w = window.lock().unwrap_or_else(|p| p.into_inner());
                    w.0 = Some(w.0.map_or(start, |s| s.min(start)));
                }
                let mut mine: Vec<u32> = Vec::with_capacity(1 << 16);
                let mut failed_in_a_row = 0u32;
                let Some(worker) = worker.as_mut() else {
                    return Ok(());
                };
                loop {
                    let begin = Instant::now();
                    if begin >= deadline {
                        break;
                    }
                    match worker.run_once() {
                        Ok(()) => {
                            let ns = begin.elapsed().as_nanos();
                            mine.push(u32::try_from(ns).unwrap_or(u32::MAX));
                            failed_in_a_row = 0;
                        }
                        Err(err) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            let mut first = first_error.lock().unwrap_or_else(|p| p.into_inner());
                            first.get_or_insert(err);
                            failed_in_a_row += 1;
                            if failed_in_a_row >= 100 {
                                break;
                            }
                        }
                    }
                }
                let end = Instant::now();
                {
                    let mut w = window.lock().unwrap_or_else(|p| p.into_inner());
                    w.1 = Some(w.1.map_or(end, |e| e.max(end)));
                }
                reconnects.fetch_add(worker.reconnects(), Ordering::Relaxed);
                samples
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(mine);
                Ok(())
            }));
        }
        for handle in handles {
            handle
                .join()
                .map_err(|_| anyhow::anyhow!("a load thread panicked"))??;
        }
        Ok(())
    })?;
    let (start, end) = window.into_inner().unwrap_or_else(|p| p.into_inner());
    let seconds = match (start, end) {
        (Some(start), Some(end)) => (end - start).as_secs_f64(),
        _ => 0.0,
    };
    let mut stats = Stats::from_samples(
        samples.into_inner().unwrap_or_else(|p| p.into_inner()),
        errors.load(Ordering::Relaxed),
        seconds,
    );
    stats.reconnects = reconnects.load(Ordering::Relaxed);
    stats.first_error = first_error.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(stats)
}

/// Latency percentiles of single calls, not under load (ListKeys at scale).
pub fn time_calls(
    count: usize,
    mut call: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Stats> {
    let started = Instant::now();
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let begin = Instant::now();
        call()?;
        samples.push(u32::try_from(begin.elapsed().as_nanos()).unwrap_or(u32::MAX));
    }
    Ok(Stats::from_samples(
        samples,
        0,
        started.elapsed().as_secs_f64(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u64);
    impl Worker for Counter {
        fn run_once(&mut self) -> Result<(), String> {
            self.0 += 1;
            if self.0 % 10 == 0 {
                Err("every tenth fails".into())
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn counts_operations_and_errors() {
        let stats = run(2, Duration::from_millis(50), Duration::ZERO, |_| {
            Ok(Counter(0))
        })
        .expect("run");
        assert!(stats.ops > 0);
        assert!(stats.errors > 0 && stats.errors < stats.ops);
        assert!(stats.seconds >= 0.05 && stats.seconds < 1.0, "{stats:?}");
        assert_eq!(stats.first_error.as_deref(), Some("every tenth fails"));
        assert!(stats.p50_us <= stats.p99_us);
    }

    #[test]
    fn percentiles_are_exact() {
        let samples: Vec<u32> = (1..=1000).rev().map(|us| us * 1000).collect();
        let stats = Stats::from_samples(samples, 0, 1.0);
        assert_eq!(stats.p50_us, 501.0);
        assert_eq!(stats.p99_us, 991.0);
        assert_eq!(stats.ops_per_sec, 1000.0);
    }

    #[test]
    fn a_failing_set_up_is_reported() {
        let result = run(3, Duration::from_millis(10), Duration::ZERO, |i| {
            if i == 1 {
                anyhow::bail!("no connection")
            }
            Ok(Counter(0))
        });
        assert!(result.is_err());
    }
}
