//! Test harness: starts the real `keywardd` binary on a private socket and state directory per
//! test (no shared state between tests) and stops it with SIGTERM on drop.
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keyward_protocol::frame::{encode_frame, read_response};
use keyward_protocol::header::WireHeader;
use keyward_protocol::{Opcode, RawResponse};

/// The workspace's target directory, where `cargo build --bins` put the daemons.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target")
}

/// Path of a workspace binary, built in the same profile as the tests.
pub fn binary(name: &str) -> PathBuf {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let path = target_dir().join(profile).join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

/// Options that change the daemon's configuration from the defaults.
#[derive(Debug, Clone, Default)]
pub struct DaemonOptions {
    pub direct: bool,
    pub admins: Vec<String>,
    /// Extra `key = value` lines for the `[limits]` section (replacing the defaults named).
    pub limits: Vec<(String, String)>,
}

/// A running keywardd.
#[derive(Debug)]
pub struct Daemon {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub state_dir: PathBuf,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
}

/// The default configuration with test paths and options applied.
pub fn config_text(socket: &Path, state_dir: &Path, options: &DaemonOptions) -> String {
    let defaults =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../config.toml"))
            .expect("config.toml at the repository root");
    let mut text = defaults
        .replace(
            "socket_path = \"/run/keyward/keyward.sock\"",
            &format!("socket_path = {:?}", socket.display().to_string()),
        )
        .replace(
            "state_dir = \"/var/lib/keyward\"",
            &format!("state_dir = {:?}", state_dir.display().to_string()),
        )
        .replace(
            "fallback_to_user_dirs = true",
            "fallback_to_user_dirs = false",
        )
        .replace("log_level = \"info\"", "log_level = \"debug\"")
        .replace("shutdown_grace_secs = 10", "shutdown_grace_secs = 5");
    if options.direct {
        text = text.replace("direct = false", "direct = true");
    }
    let admins: Vec<String> = options.admins.iter().map(|a| format!("{a:?}")).collect();
    text = text.replace("admins = []", &format!("admins = [{}]", admins.join(", ")));
    for (key, value) in &options.limits {
        let start = text.find(&format!("\n{key} = ")).expect("known limit") + 1;
        let end = start + text[start..].find('\n').expect("line end");
        text.replace_range(start..end, &format!("{key} = {value}"));
    }
    text
}

impl Daemon {
    /// Starts keywardd with the default configuration on private paths.
    pub fn start() -> Daemon {
        Daemon::start_with(DaemonOptions::default())
    }

    /// Starts keywardd with options.
    pub fn start_with(options: DaemonOptions) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("keyward-e2e")
            .tempdir()
            .expect("tempdir");
        let socket = dir.path().join("run").join("keyward.sock");
        let state_dir = dir.path().join("state");
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, config_text(&socket, &state_dir, &options))
            .expect("write config");
        let log_path = dir.path().join("keywardd.log");
        let mut daemon = Daemon {
            child: None,
            dir,
            socket,
            state_dir,
            config_path,
            log_path,
        };
        daemon.spawn();
        daemon
    }

    /// Starts the process (again) on the same paths and waits until it answers a ping.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("log file");
        let child = Command::new(binary("keywardd"))
            .arg("--config")
            .arg(&self.config_path)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn keywardd");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("keywardd exited early with {status}; log:\n{}", self.log());
                }
            }
            if self.socket.exists() && raw_ping(&self.socket).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("keywardd did not answer within 20 s; log:\n{}", self.log());
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The endpoint string clients use.
    pub fn endpoint(&self) -> String {
        format!("unix:{}", self.socket.display())
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends SIGTERM and waits for a clean exit; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Kills the process with SIGKILL (no clean-up at all).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends raw bytes on a new connection and reads one response (or the close).
pub fn raw_exchange(socket: &Path, bytes: &[u8]) -> std::io::Result<Option<RawResponse>> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(bytes)?;
    match read_response(&mut stream, 1 << 24) {
        Ok(response) => Ok(Some(response)),
        Err(keyward_protocol::FrameError::Closed) => Ok(None),
        Err(keyward_protocol::FrameError::Io(err)) => Err(err),
        Err(err) => Err(std::io::Error::other(err.to_string())),
    }
}

/// A ping request frame with no authentication.
pub fn ping_frame() -> Vec<u8> {
    let header = WireHeader {
        opcode: Opcode::Ping as u32,
        ..WireHeader::default()
    };
    encode_frame(&header, &[], &[])
}

/// Pings over a fresh connection, checking the answer.
pub fn raw_ping(socket: &Path) -> std::io::Result<()> {
    match raw_exchange(socket, &ping_frame())? {
        Some(response) if response.header.status == 0 && response.body == [0x08, 0x01] => Ok(()),
        other => Err(std::io::Error::other(format!(
            "unexpected ping answer {other:?}"
        ))),
    }
}

/// Reads everything the peer sends until it closes (for "was the connection closed" checks).
pub fn read_to_close(stream: &mut UnixStream) -> std::io::Result<Vec<u8>> {
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest)?;
    Ok(rest)
}
