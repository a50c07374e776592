//! Test harness: starts the real `keywardd` binary on a private socket and state directory per
//! test (no shared state between tests) and stops it with SIGTERM on drop.
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use keyward_client::{Authentication, BasicClient, ClientError};
use keyward_protocol::codec::encode_operation;
use keyward_protocol::frame::{encode_frame, read_response};
use keyward_protocol::header::{WireHeader, FLAG_KEYWARD_EXTENSIONS};
use keyward_protocol::{AuthType, Opcode, Operation, ProviderId, RawResponse, ResponseStatus};
pub use keyward_server::config::{AuthenticatorConfig, Limits, LogLevel};
pub use keywardd::config::{Config, KeysSection, ProviderConfig};

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
    /// Also enable direct authentication (after peer credentials).
    pub direct: bool,
    /// Admin entries (`"<authenticator>:<identity>"`).
    pub admins: Vec<String>,
    /// Listener limits; `None` keeps the defaults.
    pub limits: Option<Limits>,
    /// Key limits; `None` keeps the defaults.
    pub keys: Option<KeysSection>,
    /// The providers, in priority order; empty keeps the default (software only).
    pub providers: Vec<ProviderConfig>,
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

/// The default configuration (typed, from the `keywardd` crate) with test paths and options
/// applied.
pub fn test_config(socket: &Path, state_dir: &Path, options: &DaemonOptions) -> Config {
    let mut config = Config::default();
    config.service.socket_path = socket.to_owned();
    config.service.state_dir = state_dir.to_owned();
    config.service.fallback_to_user_dirs = false;
    config.service.log_level = LogLevel::Debug;
    config.service.shutdown_grace_secs = 5;
    if options.direct {
        config.authenticators.push(AuthenticatorConfig::Direct {});
    }
    config.access.admins = options.admins.clone();
    if let Some(limits) = &options.limits {
        config.limits = limits.clone();
    }
    if let Some(keys) = &options.keys {
        config.keys = keys.clone();
    }
    if !options.providers.is_empty() {
        config.providers = options.providers.clone();
    }
    config
        .check()
        .unwrap_or_else(|problem| panic!("the test's configuration is invalid: {problem}"));
    config
}

/// [`test_config`] as the TOML file keywardd reads.
pub fn config_text(socket: &Path, state_dir: &Path, options: &DaemonOptions) -> String {
    test_config(socket, state_dir, options).to_toml()
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
        self.terminate().is_some_and(|status| status.success())
    }

    /// Sends SIGTERM and waits (up to 15 s) for the process to exit. `None` if it had to be
    /// killed; when it was not running, reports success.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let Some(mut child) = self.child.take() else {
            return Some(std::process::ExitStatus::default());
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Kills the process with SIGKILL (no clean-up at all).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Clients, CLI and file helpers.
impl Daemon {
    /// An extension-aware client of this daemon with Unix peer-credential authentication.
    pub fn client(&self) -> BasicClient {
        self.client_with(Authentication::UnixPeerCredentials)
    }

    /// An extension-aware client with the given authentication.
    pub fn client_with(&self, auth: Authentication) -> BasicClient {
        BasicClient::builder()
            .endpoint(&self.socket)
            .auth(auth)
            .timeout(Some(Duration::from_secs(30)))
            .build()
            .expect("build client")
    }

    /// A client that behaves exactly like a stock Parsec client (no extension flag).
    pub fn stock_client(&self) -> BasicClient {
        BasicClient::builder()
            .endpoint(&self.socket)
            .auth(Authentication::UnixPeerCredentials)
            .stock_mode(true)
            .timeout(Some(Duration::from_secs(30)))
            .build()
            .expect("build stock client")
    }

    /// A `keyward` CLI command aimed at this daemon (through KEYWARD_ENDPOINT, as users do).
    pub fn cli(&self) -> Command {
        let mut command = Command::new(binary("keyward"));
        command
            .env("KEYWARD_ENDPOINT", self.endpoint())
            .env_remove("PARSEC_SERVICE_ENDPOINT")
            .stdin(Stdio::null());
        command
    }

    /// Waits up to `within` for `needle` to appear in the log.
    pub fn wait_for_log(&self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.log().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Lets other users reach the socket (the isolation tests run a client as uid 65534): the
    /// test's temporary directory is created 0700; the socket directory is made 0755 too, in
    /// case a umask narrowed it. The socket itself is 0666 by configuration.
    pub fn make_traversable(&self) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod the test directory");
        let run = self.socket.parent().expect("socket directory");
        std::fs::set_permissions(run, std::fs::Permissions::from_mode(0o755))
            .expect("chmod the socket directory");
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

/// The auth field of Unix peer-credential authentication for the calling process.
pub fn peer_auth() -> Vec<u8> {
    nix::unistd::getuid().as_raw().to_le_bytes().to_vec()
}

/// A request header with the given fields; everything else as a stock client sends it.
pub fn request_header(
    provider: u8,
    opcode: u32,
    auth_type: u8,
    body_len: usize,
    auth_len: usize,
) -> WireHeader {
    WireHeader {
        provider,
        opcode,
        auth_type,
        body_len: u32::try_from(body_len).expect("body length"),
        auth_len: u16::try_from(auth_len).expect("auth length"),
        ..WireHeader::default()
    }
}

/// A complete, well-formed request frame for `operation` (stock client: no extension flag).
pub fn operation_frame(
    provider: ProviderId,
    operation: &Operation,
    auth: &Authentication,
) -> Vec<u8> {
    let body = encode_operation(operation);
    let auth_field = auth.auth_field().expect("auth field");
    let header = request_header(
        provider as u8,
        operation.opcode() as u32,
        auth.auth_type() as u8,
        body.len(),
        auth_field.len(),
    );
    encode_frame(&header, &body, &auth_field)
}

/// Like [`operation_frame`] but with the Keyward extension flag set.
pub fn extension_frame(
    provider: ProviderId,
    operation: &Operation,
    auth: &Authentication,
) -> Vec<u8> {
    let body = encode_operation(operation);
    let auth_field = auth.auth_field().expect("auth field");
    let mut header = request_header(
        provider as u8,
        operation.opcode() as u32,
        auth.auth_type() as u8,
        body.len(),
        auth_field.len(),
    );
    header.flags = FLAG_KEYWARD_EXTENSIONS;
    encode_frame(&header, &body, &auth_field)
}

/// The auth type byte for peer credentials (for hand-built frames).
pub const PEER_AUTH: u8 = AuthType::UnixPeerCredentials as u8;

/// Asserts that a client call failed with exactly `expected` from the service (a missing key
/// counts as `PsaErrorDoesNotExist`, whichever side noticed it: see `ClientError::status`).
#[track_caller]
pub fn assert_status<T: std::fmt::Debug>(result: Result<T, ClientError>, expected: ResponseStatus) {
    match result {
        Err(err) if err.status() == Some(expected) => {}
        other => panic!("expected the service to answer {expected}, got {other:?}"),
    }
}

/// Raises this process's open-file soft limit to the hard limit and checks it reaches `needed`.
pub fn raise_fd_limit(needed: u64) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("setrlimit");
    }
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    assert!(
        soft >= needed,
        "the open-file limit is {soft}, this test needs {needed}: raise the hard limit (ulimit -Hn)"
    );
}

/// Runs a command, failing the test with its output when it does not succeed; returns stdout.
#[track_caller]
pub fn run_ok(command: &mut Command) -> String {
    let output = command.output().expect("run command");
    assert!(
        output.status.success(),
        "{command:?} failed with {}:\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// The sockets process `pid` has open (inodes, from /proc/PID/fd): for a daemon, its
/// listener, internal sockets and accepted connections, as the kernel sees them.
pub fn socket_inodes(pid: u32) -> std::collections::BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Default::default();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .filter(|target| target.starts_with("socket:"))
        .collect()
}
