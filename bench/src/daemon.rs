//! The service under test: a keywardd this program starts on private paths (its defaults plus
//! a temporary socket and state directory), and process measurements of any target by pid
//! (resident memory, CPU time) read from /proc.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use keyward_protocol::ops::Operation;
use keyward_protocol::ProviderId;

use crate::wire::{self, Auth, Conn};

/// Settings of a keywardd this program starts.
#[derive(Debug, Clone)]
pub struct DaemonSettings {
    pub binary: PathBuf,
    pub log_level: String,
    /// Enable the direct authenticator (the many-identities scale test needs it).
    pub direct: bool,
}

/// A running keywardd started by this program; stopped (SIGTERM) on drop.
#[derive(Debug)]
pub struct Daemon {
    child: Option<Child>,
    /// Holds the socket, state and log; removed when the daemon is dropped.
    _dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
    /// Spawn → first successful ping, for the last start.
    pub startup: Duration,
}

/// A configuration file for this run: keywardd's defaults (every key has one) with this run's
/// paths and options.
fn config_text(
    settings: &DaemonSettings,
    socket: &Path,
    state_dir: &Path,
) -> anyhow::Result<String> {
    let mut text = format!(
        "[service]\nsocket_path = {:?}\nstate_dir = {:?}\nfallback_to_user_dirs = false\nlog_level = {:?}\n\n[[authenticator]]\ntype = \"unix-peer-credentials\"\n",
        socket.display().to_string(),
        state_dir.display().to_string(),
        settings.log_level,
    );
    if settings.direct {
        text.push_str("\n[[authenticator]]\ntype = \"direct\"\n");
    }
    Ok(text)
}

impl Daemon {
    /// Starts keywardd on fresh private paths and waits for its first successful ping.
    pub fn start(settings: &DaemonSettings) -> anyhow::Result<Daemon> {
        let dir = tempfile::Builder::new()
            .prefix("keyward-bench")
            .tempdir()
            .context("temporary directory")?;
        let socket = dir.path().join("run").join("keyward.sock");
        let state_dir = dir.path().join("state");
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, config_text(settings, &socket, &state_dir)?)
            .context("writing the configuration")?;
        let log_path = dir.path().join("keywardd.log");
        let mut daemon = Daemon {
            child: None,
            _dir: dir,
            socket,
            config_path,
            log_path,
            startup: Duration::ZERO,
        };
        daemon.spawn(&settings.binary)?;
        Ok(daemon)
    }

    /// Starts the process (again) on the same paths; records the start-up time.
    pub fn spawn(&mut self, binary: &Path) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .context("log file")?;
        let started = Instant::now();
        // stderr goes to a file, as it would to journald: a terminal would make logging the
        // bottleneck.
        let child = Command::new(binary)
            .arg("--config")
            .arg(&self.config_path)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("log file")?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        self.child = Some(child);
        self.startup = self.wait_ready(started)?;
        Ok(())
    }

    fn wait_ready(&mut self, started: Instant) -> anyhow::Result<Duration> {
        let ping = wire::frame(&Operation::Ping, ProviderId::Core, &Auth::None);
        let deadline = started + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    bail!(
                        "keywardd exited early with {status}; log:\n{}",
                        self.log_tail()
                    );
                }
            }
            let mut conn = Conn::new(&self.socket, false);
            if matches!(conn.call(&ping), Ok(reply) if reply.status == 0) {
                return Ok(started.elapsed());
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        bail!(
            "keywardd did not answer within 30 s; log:\n{}",
            self.log_tail()
        )
    }

    /// The last lines of the daemon's log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGTERM, then wait (SIGKILL after 15 s).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Resident set size in KiB (VmRSS of /proc/PID/status).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time used so far (user + system, all threads), in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields restart after the
    // last ')'. utime and stime are fields 14 and 15, i.e. the 12th and 13th after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|t| *t > 0)
        .unwrap_or(100);
    Some((utime + stime) as f64 / ticks as f64)
}

/// The CPU a process used over `window` while nothing is asked of it, in percent of one core.
pub fn idle_cpu_percent(pid: u32, window: Duration) -> Option<f64> {
    let before = cpu_seconds(pid)?;
    let started = Instant::now();
    std::thread::sleep(window);
    let after = cpu_seconds(pid)?;
    Some((after - before) / started.elapsed().as_secs_f64() * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_process() {
        let me = std::process::id();
        let rss = rss_kib(me).expect("rss");
        assert!(rss > 100, "{rss}");
        let spin = Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(30) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(cpu_seconds(me).expect("cpu") > 0.0);
        assert!(rss_kib(u32::MAX).is_none());
    }
}
