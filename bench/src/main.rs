//! `keyward-bench`: throughput and latency of keywardd (or any Parsec-wire service) under N
//! concurrent clients, with a new connection per request (stock Parsec clients) and with a
//! persistent connection (our client); the same crypto in-process for the overhead ratio;
//! idle memory and CPU, start-up time, and (with `--scale`) behaviour with 100k keys.
//!
//! See BENCHMARKS.md for the method and the latest results.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod algorithms;
mod daemon;
mod load;
mod ops;
mod report;
mod scale;
mod wire;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};

use crate::daemon::{cpu_seconds, idle_cpu_percent, rss_kib, Daemon, DaemonSettings};
use crate::ops::{LocalKeys, LocalWorker, Op, RemoteKeys, ServiceWorker};
use crate::report::{AuditCost, Idle, Line, Report};
use crate::wire::{Auth, Conn};

/// Benchmark keywardd, or any Parsec-wire endpoint.
#[derive(Debug, Parser)]
#[command(name = "keyward-bench", version)]
struct Args {
    /// Target a running service (stock Parsec wire, e.g. a real Parsec) at unix:PATH instead
    /// of starting target/release/keywardd.
    #[arg(long, value_name = "unix:PATH")]
    endpoint: Option<String>,
    /// Process id of the --endpoint service, for its memory and CPU figures.
    #[arg(long)]
    pid: Option<u32>,
    /// Seconds each measured run lasts.
    #[arg(long, default_value_t = 3.0)]
    duration: f64,
    /// Concurrent clients (threads), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    clients: Vec<usize>,
    /// Connection mode.
    #[arg(long, value_enum, default_value_t = ModeArg::Both)]
    mode: ModeArg,
    /// Run each configuration this many times and keep the median run (by throughput): on a
    /// VM, where threads land changes single-client latency a lot between runs.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Operations to run, comma-separated (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    ops: Vec<Op>,
    /// Also run the memory and scale test (10k and 100k keys over 100 identities; slow).
    #[arg(long)]
    scale: bool,
    /// Key totals for --scale, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    scale_keys: Vec<u64>,
    /// Print the report as JSON on stdout (progress goes to stderr).
    #[arg(long)]
    json: bool,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// A name for this run in reports and comparisons.
    #[arg(long)]
    label: Option<String>,
    /// Seconds over which idle CPU is measured (0 skips it).
    #[arg(long, default_value_t = 10.0)]
    idle_secs: f64,
    /// The keywardd binary to start (default: next to this program).
    #[arg(long)]
    keywardd: Option<PathBuf>,
    /// keywardd's log level (its stderr goes to a file, as to journald).
    #[arg(long, default_value = "info")]
    log_level: String,
    /// Skip the in-process baseline.
    #[arg(long)]
    no_baseline: bool,
    /// Skip the audit-logging cost run (a second keywardd at log level warn).
    #[arg(long)]
    no_audit_cost: bool,
    /// Compare JSON reports instead of running: the first against each of the others.
    #[arg(long, num_args = 2.., value_name = "FILE")]
    compare: Vec<PathBuf>,
    /// Only measure, in-process, each algorithm served by a RustCrypto crate against its
    /// closest aws-lc-rs path (one `--duration` each), print the table and exit.
    #[arg(long)]
    algorithms: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    PerRequest,
    Persistent,
    Both,
}

impl ModeArg {
    fn modes(self) -> Vec<bool> {
        match self {
            ModeArg::PerRequest => vec![false],
            ModeArg::Persistent => vec![true],
            ModeArg::Both => vec![false, true],
        }
    }
}

pub fn mode_name(persistent: bool) -> &'static str {
    if persistent {
        "persistent"
    } else {
        "per-request"
    }
}

/// Where progress and human-readable output go (stderr when stdout carries JSON).
struct Out {
    json: bool,
}

impl Out {
    fn say(&self, text: &str) {
        if self.json {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.compare.is_empty() {
        return report::compare(&args.compare);
    }
    if args.algorithms {
        let lines = algorithms::run(Duration::from_secs_f64(args.duration))?;
        print!("{}", algorithms::table(&lines));
        return Ok(());
    }
    let out = Out { json: args.json };
    let ops: Vec<Op> = if args.ops.is_empty() {
        Op::ALL.to_vec()
    } else {
        args.ops.clone()
    };
    let duration = Duration::from_secs_f64(args.duration);
    let warmup = Duration::from_secs_f64((args.duration / 10.0).min(0.3));
    let keywardd = match &args.keywardd {
        Some(path) => path.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("no directory for this program")?
            .join("keywardd"),
    };
    let settings = DaemonSettings {
        binary: keywardd.clone(),
        log_level: args.log_level.clone(),
        direct: true,
    };

    // The target: a keywardd started here, or a running service.
    let mut spawned = None;
    let mut first_start = None;
    let (socket, pid, target_name) = match &args.endpoint {
        Some(endpoint) => (
            wire::parse_endpoint(endpoint)?,
            args.pid,
            format!("endpoint {endpoint}"),
        ),
        None => {
            let mut daemon = Daemon::start(&settings)?;
            // The first start creates the master key and the store; every later start finds
            // them. Both are reported; the restart is what a service (re)start costs.
            first_start = Some(daemon.startup);
            daemon.stop();
            daemon.spawn(&keywardd)?;
            let socket = daemon.socket.clone();
            let pid = daemon.pid();
            spawned = Some(daemon);
            (socket, pid, format!("keywardd ({})", keywardd.display()))
        }
    };
    let mut report = Report::new(
        args.label.clone().unwrap_or_else(|| target_name.clone()),
        target_name,
        args.duration,
    );
    report.repeat = args.repeat.max(1);
    out.say(&report.header_text());
    ops::check_ping(&socket).context("the target does not answer ping")?;

    if let Some(daemon) = &spawned {
        report.startup_ms = Some(daemon.startup.as_secs_f64() * 1000.0);
        report.first_start_ms = first_start.map(|d| d.as_secs_f64() * 1000.0);
    }
    if let Some(pid) = pid {
        let rss_kib = rss_kib(pid);
        let mut idle_conns = Vec::new();
        // Idle clients must cost nothing either: keep a few connections open meanwhile.
        let ping = wire::frame(
            &keyward_protocol::Operation::Ping,
            keyward_protocol::ProviderId::Core,
            &Auth::None,
        );
        for _ in 0..8 {
            let mut conn = Conn::new(&socket, true);
            if conn.call(&ping).is_ok() {
                idle_conns.push(conn);
            }
        }
        let cpu_percent = if args.idle_secs > 0.0 {
            // Let one-off start-up work finish first (keywardd seeds its random generator in the
            // background right after binding, ~20 ms of CPU): idle means "nothing to do".
            std::thread::sleep(Duration::from_secs(1));
            out.say(&format!(
                "measuring idle CPU over {} s ({} idle connections open)…",
                args.idle_secs,
                idle_conns.len()
            ));
            idle_cpu_percent(pid, Duration::from_secs_f64(args.idle_secs))
        } else {
            None
        };
        report.idle = Some(Idle {
            rss_kib,
            cpu_percent,
            window_secs: args.idle_secs,
            idle_connections: idle_conns.len(),
        });
        drop(idle_conns);
    }
    out.say(&report.idle_text());

    // The load runs, for every crypto provider the service lists.
    let providers = ops::crypto_providers(&socket)?;
    out.say(&format!(
        "providers: {}",
        providers
            .iter()
            .map(|(_, name)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out.say(&Line::heading());
    let auth = Auth::current_uid();
    for (index, (provider, provider_name)) in providers.iter().enumerate() {
        let keys = RemoteKeys::create(&socket, *provider, auth.clone(), &ops)
            .with_context(|| format!("setting up keys on the {provider_name} provider"))?;
        for persistent in args.mode.modes() {
            for &clients in &args.clients {
                for &op in &ops {
                    // Ping has no provider: measure it once.
                    if !op.is_crypto() && index > 0 {
                        continue;
                    }
                    let (stats, server_cores) = median_of(args.repeat, || {
                        let cpu_before = pid.and_then(cpu_seconds);
                        let stats = load::run(clients, duration, warmup, |thread| {
                            Ok(ServiceWorker::new(&socket, persistent, op, &keys, thread))
                        })?;
                        let server_cores = match (cpu_before, pid.and_then(cpu_seconds)) {
                            (Some(before), Some(after)) if stats.seconds > 0.0 => {
                                Some((after - before) / stats.seconds)
                            }
                            _ => None,
                        };
                        Ok((stats, server_cores))
                    })?;
                    let line = Line {
                        provider: if op.is_crypto() {
                            provider_name.clone()
                        } else {
                            "core".into()
                        },
                        mode: mode_name(persistent).into(),
                        clients,
                        op,
                        stats,
                        server_cores,
                        inprocess_ops_per_sec: None,
                        inprocess_p50_us: None,
                        cost_ratio: None,
                        p50_ratio: None,
                    };
                    out.say(&line.text());
                    report.lines.push(line);
                }
            }
        }
        keys.destroy(&socket);
    }
    report.rss_after_load_kib = pid.and_then(rss_kib);

    if !args.no_baseline {
        out.say("\nin-process baseline (software provider called directly, same key types):");
        out.say(&Line::heading());
        let local = LocalKeys::create()?;
        for &clients in &args.clients {
            for &op in ops.iter().filter(|op| op.is_crypto()) {
                let (stats, _) = median_of(args.repeat, || {
                    let stats = load::run(clients, duration, warmup, |thread| {
                        Ok(LocalWorker::new(&local, op, thread))
                    })?;
                    Ok((stats, None))
                })?;
                let line = Line {
                    provider: "software".into(),
                    mode: "in-process".into(),
                    clients,
                    op,
                    stats,
                    server_cores: None,
                    inprocess_ops_per_sec: None,
                    inprocess_p50_us: None,
                    cost_ratio: None,
                    p50_ratio: None,
                };
                out.say(&line.text());
                report.baseline.push(line);
            }
        }
        report.attach_baseline();
    }

    if let (Some(daemon), false) = (&spawned, args.no_audit_cost) {
        if ops.contains(&Op::Sign) && args.log_level == "info" {
            let clients = args.clients.iter().copied().max().unwrap_or(1);
            out.say(&format!(
                "\naudit logging cost: sign, persistent, {clients} clients, log level info vs warn…"
            ));
            report.audit = Some(audit_cost(daemon, &settings, clients, duration, warmup)?);
        }
    }

    if args.scale {
        match spawned.as_mut() {
            Some(daemon) => {
                let threads = args.clients.iter().copied().max().unwrap_or(8).max(2);
                let scale = scale::run(daemon, &keywardd, 100, &args.scale_keys, threads, &mut |m| {
                    out.say(m)
                })?;
                report.scale = Some(scale);
            }
            None => out.say("--scale needs a keywardd started by keyward-bench (direct authentication); skipped"),
        }
    }

    report.evaluate_targets(spawned.is_some());
    out.say(&report.summary_text());
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &args.out {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{json}");
    }
    drop(spawned);
    Ok(())
}

/// Runs `once` `repeat` times and keeps the run with the median throughput.
fn median_of(
    repeat: usize,
    mut once: impl FnMut() -> anyhow::Result<(load::Stats, Option<f64>)>,
) -> anyhow::Result<(load::Stats, Option<f64>)> {
    let mut runs = Vec::new();
    for _ in 0..repeat.max(1) {
        runs.push(once()?);
    }
    runs.sort_by(|a, b| a.0.ops_per_sec.total_cmp(&b.0.ops_per_sec));
    Ok(runs.swap_remove(runs.len() / 2))
}

/// Sign throughput of the running daemon (log level info: one audit line per request) and of a
/// second one at level warn, back to back.
fn audit_cost(
    daemon: &Daemon,
    settings: &DaemonSettings,
    clients: usize,
    duration: Duration,
    warmup: Duration,
) -> anyhow::Result<AuditCost> {
    let measure = |socket: &std::path::Path| -> anyhow::Result<f64> {
        let keys = RemoteKeys::create(
            socket,
            keyward_protocol::ProviderId::Software,
            Auth::current_uid(),
            &[Op::Sign],
        )?;
        let stats = load::run(clients, duration, warmup, |thread| {
            Ok(ServiceWorker::new(socket, true, Op::Sign, &keys, thread))
        })?;
        keys.destroy(socket);
        Ok(stats.ops_per_sec)
    };
    let info_ops_per_sec = measure(&daemon.socket)?;
    let quiet = Daemon::start(&DaemonSettings {
        log_level: "warn".into(),
        ..settings.clone()
    })?;
    let warn_ops_per_sec = measure(&quiet.socket)?;
    Ok(AuditCost {
        clients,
        info_ops_per_sec,
        warn_ops_per_sec,
        cost_percent: (1.0 - info_ops_per_sec / warn_ops_per_sec) * 100.0,
    })
}
