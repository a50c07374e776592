//! The report: lines as they are measured, the summary table (Markdown, ready for
//! BENCHMARKS.md), the targets checked against the figures, JSON output, and the
//! comparison of saved reports (keywardd against Parsec, side by side).

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;

use crate::load::Stats;
use crate::ops::Op;
use crate::scale::ScaleReport;

/// One measured configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub provider: String,
    /// "per-request", "persistent" or "in-process".
    pub mode: String,
    pub clients: usize,
    pub op: Op,
    #[serde(flatten)]
    pub stats: Stats,
    /// CPU the service used during the run, in cores.
    pub server_cores: Option<f64>,
    pub inprocess_ops_per_sec: Option<f64>,
    pub inprocess_p50_us: Option<f64>,
    /// Service cost per operation ÷ in-process cost per operation, from throughput at the
    /// same concurrency.
    pub cost_ratio: Option<f64>,
    /// Service p50 ÷ in-process p50.
    pub p50_ratio: Option<f64>,
}

fn opt(value: Option<f64>, precision: usize) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.precision$}"))
}

impl Line {
    pub fn heading() -> String {
        format!(
            "{:<9} {:<11} {:>3} {:<19} {:>10} {:>9} {:>9} {:>8}",
            "provider", "mode", "n", "operation", "ops/s", "p50 µs", "p99 µs", "srv cpu"
        )
    }

    pub fn text(&self) -> String {
        let mut text = format!(
            "{:<9} {:<11} {:>3} {:<19} {:>10.0} {:>9.1} {:>9.1} {:>8}",
            self.provider,
            self.mode,
            self.clients,
            self.op.label(),
            self.stats.ops_per_sec,
            self.stats.p50_us,
            self.stats.p99_us,
            opt(self.server_cores, 2),
        );
        if self.stats.errors > 0 {
            text.push_str(&format!(
                "  ERRORS: {} (first: {})",
                self.stats.errors,
                self.stats.first_error.as_deref().unwrap_or("?")
            ));
        }
        if self.stats.reconnects > 0 {
            text.push_str(&format!(
                "  (server closed {} kept connections)",
                self.stats.reconnects
            ));
        }
        text
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Idle {
    pub rss_kib: Option<u64>,
    pub cpu_percent: Option<f64>,
    pub window_secs: f64,
    pub idle_connections: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditCost {
    pub clients: usize,
    pub info_ops_per_sec: f64,
    pub warn_ops_per_sec: f64,
    /// Throughput lost to audit logging, in percent.
    pub cost_percent: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
}

impl Machine {
    fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, model)| model.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default(),
        }
    }
}

/// One of the targets and how this run did.
#[derive(Debug, Clone, Serialize)]
pub struct TargetCheck {
    pub name: String,
    pub target: String,
    pub measured: String,
    /// None when this run did not measure it.
    pub met: Option<bool>,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub label: String,
    pub target: String,
    pub date: String,
    pub machine: Machine,
    pub duration_secs: f64,
    /// Runs per configuration; the median one is reported.
    pub repeat: usize,
    /// Spawn → first successful ping, existing state (a restart).
    pub startup_ms: Option<f64>,
    /// The same for the very first start (creates the master key and the key store).
    pub first_start_ms: Option<f64>,
    pub idle: Option<Idle>,
    pub lines: Vec<Line>,
    pub baseline: Vec<Line>,
    pub rss_after_load_kib: Option<u64>,
    pub audit: Option<AuditCost>,
    pub scale: Option<ScaleReport>,
    pub targets: Vec<TargetCheck>,
}

fn now() -> String {
    std::process::Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "-".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

impl Report {
    pub fn new(label: String, target: String, duration_secs: f64) -> Report {
        Report {
            label,
            target,
            date: now(),
            machine: Machine::detect(),
            duration_secs,
            repeat: 1,
            startup_ms: None,
            first_start_ms: None,
            idle: None,
            lines: Vec::new(),
            baseline: Vec::new(),
            rss_after_load_kib: None,
            audit: None,
            scale: None,
            targets: Vec::new(),
        }
    }

    pub fn header_text(&self) -> String {
        format!(
            "keyward-bench: {} — {} — {} × {} (kernel {}), {} s per run",
            self.target,
            self.date,
            self.machine.cpus,
            self.machine.cpu_model,
            self.machine.kernel,
            self.duration_secs
        )
    }

    pub fn idle_text(&self) -> String {
        let mut text = String::new();
        if let Some(ms) = self.startup_ms {
            text.push_str(&format!(
                "start-up to first ping: {ms:.1} ms ({} first start)\n",
                opt(self.first_start_ms, 1)
            ));
        }
        if let Some(idle) = &self.idle {
            text.push_str(&format!(
                "idle: RSS {}, CPU {} % of a core over {} s with {} idle connections",
                mib(idle.rss_kib),
                opt(idle.cpu_percent, 3),
                idle.window_secs,
                idle.idle_connections
            ));
        }
        text
    }

    /// Fills each service line's in-process figures and ratios from the baseline.
    pub fn attach_baseline(&mut self) {
        for line in &mut self.lines {
            let Some(base) = self
                .baseline
                .iter()
                .find(|b| b.op == line.op && b.clients == line.clients)
            else {
                continue;
            };
            line.inprocess_ops_per_sec = Some(base.stats.ops_per_sec);
            line.inprocess_p50_us = Some(base.stats.p50_us);
            if line.stats.ops_per_sec > 0.0 {
                line.cost_ratio = Some(base.stats.ops_per_sec / line.stats.ops_per_sec);
            }
            if base.stats.p50_us > 0.0 {
                line.p50_ratio = Some(line.stats.p50_us / base.stats.p50_us);
            }
        }
    }

    fn find(&self, op: Op, mode: &str, clients: usize) -> Option<&Line> {
        self.lines
            .iter()
            .find(|l| l.op == op && l.mode == mode && l.clients == clients)
    }

    /// Checks the targets (software provider, this machine, this run).
    pub fn evaluate_targets(&mut self, spawned: bool) {
        let mut checks = Vec::new();
        let mut check = |name: &str, target: &str, measured: Option<(String, bool)>| {
            checks.push(TargetCheck {
                name: name.into(),
                target: target.into(),
                measured: measured
                    .as_ref()
                    .map_or_else(|| "not measured".into(), |m| m.0.clone()),
                met: measured.map(|m| m.1),
            });
        };
        // A target line's measured text and whether it is met.
        let p50_within = |l: &Line, limit_us: f64| {
            (
                format!("{:.1} µs", l.stats.p50_us),
                l.stats.p50_us <= limit_us,
            )
        };
        let at_least_ops = |l: &Line, ops: f64| {
            (
                format!("{:.0} ops/s", l.stats.ops_per_sec),
                l.stats.ops_per_sec >= ops,
            )
        };
        let sign_pr1 = self.find(Op::Sign, "per-request", 1);
        check(
            "sign, new connection per request, 1 client: p50",
            "≤ 100 µs",
            sign_pr1.map(|l| p50_within(l, 100.0)),
        );
        let sign_pr8 = self.find(Op::Sign, "per-request", 8);
        check(
            "sign, new connection per request, 8 clients",
            "≥ 15,000 ops/s",
            sign_pr8.map(|l| at_least_ops(l, 15_000.0)),
        );
        let sign_p8 = self.find(Op::Sign, "persistent", 8);
        check(
            "sign, persistent connection, 8 clients",
            "≥ 30,000 ops/s",
            sign_p8.map(|l| at_least_ops(l, 30_000.0)),
        );
        let ping_p1 = self.find(Op::Ping, "persistent", 1);
        check(
            "ping, persistent connection, 1 client: p50",
            "≤ 40 µs",
            ping_p1.map(|l| p50_within(l, 40.0)),
        );
        for mode in ["per-request", "persistent"] {
            for clients in [1, 8] {
                let (Some(sign), Some(ping)) = (
                    self.find(Op::Sign, mode, clients),
                    self.find(Op::Ping, mode, clients),
                ) else {
                    continue;
                };
                let share = sign.stats.ops_per_sec / ping.stats.ops_per_sec * 100.0;
                check(
                    &format!("sign ÷ ping throughput, {mode}, {clients} clients"),
                    "≥ 70 %",
                    Some((format!("{share:.0} %"), share >= 70.0)),
                );
            }
        }
        if let Some(idle) = &self.idle {
            check(
                "idle CPU (no busy polling)",
                "≈ 0 (≤ 0.1 % of a core)",
                idle.cpu_percent
                    .map(|c| (format!("{c:.3} % over {} s", idle.window_secs), c <= 0.1)),
            );
            check(
                "RSS idle",
                "≤ 10 MiB",
                idle.rss_kib.map(|k| (mib(Some(k)), k <= 10 * 1024)),
            );
        }
        if let Some(scale) = &self.scale {
            let at = |keys: u64| scale.points.iter().find(|p| p.keys == keys);
            check(
                "RSS with 100k keys",
                "≤ 64 MiB",
                at(100_000).and_then(|p| p.rss_kib.map(|k| (mib(Some(k)), k <= 64 * 1024))),
            );
            check(
                "ListKeys of 1,000 keys for one identity: p50",
                "≤ 20 ms",
                at(100_000).map(|p| {
                    (
                        format!(
                            "{:.2} ms (p99 {:.2} ms)",
                            p.list_keys.p50_us / 1000.0,
                            p.list_keys.p99_us / 1000.0
                        ),
                        p.list_keys.p50_us <= 20_000.0,
                    )
                }),
            );
        }
        if spawned {
            check(
                "start-up to first ping (existing state)",
                "≤ 20 ms",
                self.startup_ms
                    .map(|ms| (format!("{ms:.1} ms"), ms <= 20.0)),
            );
            check(
                "start-up to first ping (very first start)",
                "≤ 20 ms",
                self.first_start_ms
                    .map(|ms| (format!("{ms:.1} ms"), ms <= 20.0)),
            );
        }
        check(
            "JWT auth cost vs peer credentials",
            "≤ 10 %",
            None, // JWT authentication does not exist yet.
        );
        self.targets = checks;
    }

    /// The summary: Markdown tables and the target checks.
    pub fn summary_text(&self) -> String {
        let mut text = String::from("\n## Summary\n\n");
        text.push_str(&format!(
            "{} — {} — {} CPUs ({}, kernel {}), {} s per run, median of {} run(s)\n\n",
            self.label,
            self.date,
            self.machine.cpus,
            self.machine.cpu_model,
            self.machine.kernel,
            self.duration_secs,
            self.repeat
        ));
        text.push_str("| provider | operation | mode | clients | ops/s | p50 µs | p99 µs | service CPU (cores) | in-process ops/s | cost × in-process |\n");
        text.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for line in &self.lines {
            text.push_str(&format!(
                "| {} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {} | {} | {} |\n",
                line.provider,
                line.op.label(),
                line.mode,
                line.clients,
                line.stats.ops_per_sec,
                line.stats.p50_us,
                line.stats.p99_us,
                opt(line.server_cores, 2),
                opt(line.inprocess_ops_per_sec, 0),
                opt(line.cost_ratio, 1),
            ));
        }
        if !self.baseline.is_empty() {
            text.push_str("\nIn-process baseline (software provider called directly):\n\n");
            text.push_str(
                "| operation | clients | ops/s | p50 µs | p99 µs |\n|---|---:|---:|---:|---:|\n",
            );
            for line in &self.baseline {
                text.push_str(&format!(
                    "| {} | {} | {:.0} | {:.1} | {:.1} |\n",
                    line.op.label(),
                    line.clients,
                    line.stats.ops_per_sec,
                    line.stats.p50_us,
                    line.stats.p99_us
                ));
            }
        }
        text.push_str("\nProcess:\n\n");
        if let Some(ms) = self.startup_ms {
            text.push_str(&format!(
                "- start-up to first ping: {ms:.1} ms with existing state, {} ms on the very first start\n",
                opt(self.first_start_ms, 1)
            ));
        }
        if let Some(idle) = &self.idle {
            text.push_str(&format!(
                "- idle: RSS {}, CPU {} % of a core over {} s ({} idle connections)\n",
                mib(idle.rss_kib),
                opt(idle.cpu_percent, 3),
                idle.window_secs,
                idle.idle_connections
            ));
        }
        if self.rss_after_load_kib.is_some() {
            text.push_str(&format!(
                "- RSS after the load runs: {}\n",
                mib(self.rss_after_load_kib)
            ));
        }
        if let Some(audit) = &self.audit {
            text.push_str(&format!(
                "- audit logging (level info, stderr to a file) vs level warn, sign, persistent, {} clients: {:.0} vs {:.0} ops/s ({:.1} % cost)\n",
                audit.clients, audit.info_ops_per_sec, audit.warn_ops_per_sec, audit.cost_percent
            ));
        }
        if let Some(scale) = &self.scale {
            text.push_str("\nScale (ECDSA P-256 keys over direct-auth identities):\n\n");
            text.push_str("| keys | identities | keys/identity | created/s | RSS | ListKeys p50 | ListKeys p99 | sign p50 (1 client, persistent) |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            for p in &scale.points {
                text.push_str(&format!(
                    "| {} | {} | {} | {:.0} | {} | {:.2} ms | {:.2} ms | {:.1} µs |\n",
                    p.keys,
                    p.identities,
                    p.keys_per_identity,
                    p.create_per_sec,
                    mib(p.rss_kib),
                    p.list_keys.p50_us / 1000.0,
                    p.list_keys.p99_us / 1000.0,
                    p.sign.p50_us
                ));
            }
            text.push_str(&format!(
                "\n- restart with the full store: first ping after {:.1} ms, RSS {}\n",
                scale.restart_ms,
                mib(scale.rss_after_restart_kib)
            ));
        }
        text.push_str("\nTargets:\n\n| target | wanted | measured | |\n|---|---|---|---|\n");
        for t in &self.targets {
            let verdict = match t.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "n/a",
            };
            text.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                t.name, t.target, t.measured, verdict
            ));
        }
        text
    }
}

/// Prints the first saved report against each of the others: throughput and p50 side by side
/// and the throughput ratio (first ÷ other) for every configuration they share.
pub fn compare(files: &[PathBuf]) -> anyhow::Result<()> {
    let reports: Vec<Value> = files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
        })
        .collect::<anyhow::Result<_>>()?;
    let label = |r: &Value| r["label"].as_str().unwrap_or("?").to_owned();
    type Key = (String, String, u64);
    // (operation, mode, clients) → (ops/s, p50 µs), in the report's order.
    let lines = |r: &Value| -> Vec<(Key, (f64, f64))> {
        r["lines"]
            .as_array()
            .map(|lines| {
                lines
                    .iter()
                    .map(|l| {
                        (
                            (
                                l["op"].as_str().unwrap_or("").to_owned(),
                                l["mode"].as_str().unwrap_or("").to_owned(),
                                l["clients"].as_u64().unwrap_or(0),
                            ),
                            (
                                l["ops_per_sec"].as_f64().unwrap_or(0.0),
                                l["p50_us"].as_f64().unwrap_or(0.0),
                            ),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let first = &reports[0];
    let order = lines(first);
    let base: HashMap<Key, (f64, f64)> = order.iter().cloned().collect();
    println!(
        "## {} compared with {}\n",
        label(first),
        reports[1..]
            .iter()
            .map(label)
            .collect::<Vec<_>>()
            .join(", ")
    );
    print!(
        "| operation | mode | clients | {} ops/s (p50 µs) |",
        label(first)
    );
    for other in &reports[1..] {
        print!(" {} ops/s (p50 µs) | ratio |", label(other));
    }
    println!();
    print!("|---|---|---:|---:|");
    for _ in &reports[1..] {
        print!("---:|---:|");
    }
    println!();
    let others: Vec<HashMap<Key, (f64, f64)>> = reports[1..]
        .iter()
        .map(|r| lines(r).into_iter().collect())
        .collect();
    for (key, (ops, p50)) in &order {
        print!(
            "| {} | {} | {} | {:.0} ({:.0}) |",
            key.0, key.1, key.2, ops, p50
        );
        for other in &others {
            match other.get(key) {
                Some((o_ops, o_p50)) if *o_ops > 0.0 => {
                    print!(" {o_ops:.0} ({o_p50:.0}) | {:.1}× |", ops / o_ops)
                }
                _ => print!(" - | - |"),
            }
        }
        println!();
    }
    for (other, report) in others.iter().zip(&reports[1..]) {
        let key = ("sign".to_owned(), "per-request".to_owned(), 8u64);
        if let (Some((ours, _)), Some((theirs, _))) = (base.get(&key), other.get(&key)) {
            println!(
                "\nsign, new connection per request, 8 clients: {} is {:.1}× {}",
                label(first),
                ours / theirs,
                label(report)
            );
        }
        for (name, value) in [
            ("idle CPU %", &report["idle"]["cpu_percent"]),
            ("idle RSS KiB", &report["idle"]["rss_kib"]),
        ] {
            if let Some(v) = value.as_f64() {
                println!("{}: {name} {v:.3}", label(report));
            }
        }
    }
    Ok(())
}
