//! Memory and scale: fill a keywardd with keys spread over many identities (direct
//! authentication) and measure resident memory, ListKeys latency for one identity, signing
//! latency among all those keys, and start-up time with the full store.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use keyward_protocol::ops::{Operation, OperationResult};
use keyward_protocol::ProviderId;
use serde::Serialize;

use crate::daemon::{rss_kib, Daemon};
use crate::load::{self, Stats};
use crate::ops::{digest, ecdsa_alg, p256_attributes};
use crate::wire::{self, Auth, Conn};

/// Measurements once the store holds `keys` keys.
#[derive(Debug, Clone, Serialize)]
pub struct ScalePoint {
    pub keys: u64,
    pub identities: usize,
    pub keys_per_identity: u64,
    /// Keys created per second while filling up to this point.
    pub create_per_sec: f64,
    pub rss_kib: Option<u64>,
    /// ListKeys of one identity (all its keys), sequential calls.
    pub list_keys: Stats,
    /// ECDSA P-256 sign, persistent connection, 1 client, among all those keys.
    pub sign: Stats,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScaleReport {
    pub points: Vec<ScalePoint>,
    /// Start-up (spawn → first ping) with the full store.
    pub restart_ms: f64,
    pub rss_after_restart_kib: Option<u64>,
}

fn identity(index: usize) -> Auth {
    Auth::Direct(format!("kwb-scale-{index:03}"))
}

fn key_name(index: u64) -> String {
    format!("k{index:06}")
}

/// Gives identities `from..to` keys each, `threads` persistent connections in parallel.
fn fill(
    daemon: &Daemon,
    identities: usize,
    from: u64,
    to: u64,
    threads: usize,
) -> anyhow::Result<()> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || -> anyhow::Result<()> {
                    let mut conn = Conn::new(&daemon.socket, true);
                    for id in (t..identities).step_by(threads) {
                        let auth = identity(id);
                        for n in from..to {
                            let frame = wire::frame(
                                &Operation::GenerateKey {
                                    key_name: key_name(n),
                                    attributes: p256_attributes(),
                                },
                                ProviderId::Software,
                                &auth,
                            );
                            let reply = conn.call(&frame)?;
                            wire::check_status(
                                keyward_protocol::Opcode::PsaGenerateKey,
                                reply.status,
                            )
                            .with_context(|| format!("identity {id}, key {n}"))?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for handle in handles {
            handle
                .join()
                .map_err(|_| anyhow::anyhow!("a fill thread panicked"))??;
        }
        Ok(())
    })
}

/// Fills the store to each of `totals` keys in turn over `identities` identities and
/// measures at each step; then restarts the daemon and times its start-up.
pub fn run(
    daemon: &mut Daemon,
    binary: &std::path::Path,
    identities: usize,
    totals: &[u64],
    threads: usize,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<ScaleReport> {
    let pid = daemon.pid().context("daemon not running")?;
    let mut points = Vec::new();
    let mut per_identity = 0u64;
    let first = identity(0);
    let mut conn = Conn::new(&daemon.socket, true);
    conn.call_op(
        &Operation::GenerateKey {
            key_name: "sign".into(),
            attributes: p256_attributes(),
        },
        ProviderId::Software,
        &first,
    )
    .context("creating the scale test's signing key")?;
    for &total in totals {
        let target = total / identities as u64;
        if target <= per_identity {
            continue;
        }
        progress(&format!(
            "scale: filling to {total} keys ({identities} identities × {target})…"
        ));
        let started = Instant::now();
        fill(daemon, identities, per_identity, target, threads)?;
        let created = (target - per_identity) * identities as u64;
        let create_per_sec = created as f64 / started.elapsed().as_secs_f64();
        per_identity = target;
        let list = wire::frame(&Operation::ListKeys, ProviderId::Core, &first);
        let reply = conn.call_op(&Operation::ListKeys, ProviderId::Core, &first)?;
        let OperationResult::ListKeys { keys } = reply else {
            bail!("ListKeys returned {reply:?}");
        };
        // The identity's keys plus its signing key.
        if keys.len() as u64 != per_identity + 1 {
            bail!(
                "ListKeys returned {} keys, expected {}",
                keys.len(),
                per_identity + 1
            );
        }
        let list_keys = load::time_calls(20, || {
            let reply = conn.call(&list)?;
            wire::check_status(keyward_protocol::Opcode::ListKeys, reply.status)
        })?;
        let sign_frame = wire::frame(
            &Operation::SignHash {
                key_name: "sign".into(),
                alg: ecdsa_alg(),
                hash: digest(),
            },
            ProviderId::Software,
            &first,
        );
        let sign = load::run(
            1,
            Duration::from_secs(1),
            Duration::from_millis(100),
            |_| {
                Ok(FrameWorker {
                    conn: Conn::new(&daemon.socket, true),
                    frame: sign_frame.clone(),
                })
            },
        )?;
        points.push(ScalePoint {
            keys: per_identity * identities as u64,
            identities,
            keys_per_identity: per_identity,
            create_per_sec,
            rss_kib: rss_kib(pid),
            list_keys,
            sign,
        });
    }
    drop(conn);
    daemon.stop();
    daemon.spawn(binary)?;
    let rss_after_restart_kib = daemon.pid().and_then(rss_kib);
    Ok(ScaleReport {
        points,
        restart_ms: daemon.startup.as_secs_f64() * 1000.0,
        rss_after_restart_kib,
    })
}

/// Sends the same frame again and again.
#[derive(Debug)]
struct FrameWorker {
    conn: Conn,
    frame: Vec<u8>,
}

impl load::Worker for FrameWorker {
    fn run_once(&mut self) -> Result<(), String> {
        match self.conn.call(&self.frame) {
            Ok(reply) if reply.status == 0 => Ok(()),
            Ok(reply) => Err(format!("status {}", reply.status)),
            Err(err) => Err(err.to_string()),
        }
    }
}
