//! The README's start command as an ordinary user: `keywardd` with no `--config` (embedded
//! defaults) cannot create `/run/keyward`, says so, and falls back to the per-user runtime and
//! state directories; the `keyward` CLI, run by the same user with no flags, finds it there.
// Test code: a panic with its location is the failure report.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keyward_e2e_tests::binary;

const NOBODY: u32 = 65534;

/// A command run as uid/gid 65534 with a minimal environment (as a fresh login would have).
fn as_nobody(program: &Path, runtime: &Path, state: &Path) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "env",
            "-i",
        ])
        .arg("PATH=/usr/bin:/bin")
        .arg(format!("XDG_RUNTIME_DIR={}", runtime.display()))
        .arg(format!("XDG_STATE_HOME={}", state.display()))
        .arg("HOME=/nonexistent")
        .arg(program);
    command
}

#[test]
fn embedded_defaults_fall_back_to_user_directories_and_the_cli_finds_them() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test switches to uid 65534 with setpriv and must run as root (CI does)"
    );
    let dir = tempfile::Builder::new()
        .prefix("keyward-defaults")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let runtime = dir.path().join("runtime");
    let state = dir.path().join("state-home");
    for owned in [&runtime, &state] {
        std::fs::create_dir(owned).unwrap();
        std::fs::set_permissions(owned, std::fs::Permissions::from_mode(0o700)).unwrap();
        nix::unistd::chown(owned.as_path(), Some(NOBODY.into()), Some(NOBODY.into())).unwrap();
    }
    let log_path = dir.path().join("keywardd.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut daemon = as_nobody(&binary("keywardd"), &runtime, &state)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();

    let socket = runtime.join("keyward/keyward.sock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        if let Ok(Some(status)) = daemon.try_wait() {
            panic!(
                "keywardd exited with {status}: {}",
                std::fs::read_to_string(&log_path).unwrap()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no socket at {}",
            socket.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let log_text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log_text.contains("falling back"),
        "the fallback is announced: {log_text}"
    );
    assert!(
        log_text.contains("/run/keyward"),
        "and names the unusable path: {log_text}"
    );
    assert!(
        state.join("keyward/keys.sqlite3").exists(),
        "state under $XDG_STATE_HOME/keyward"
    );
    let master = std::fs::metadata(state.join("keyward/master.key")).unwrap();
    assert_eq!(master.permissions().mode() & 0o777, 0o600);

    let cli = |args: &[&str]| {
        let output = as_nobody(&binary("keyward"), &runtime, &state)
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "keyward {args:?} failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    };
    assert!(cli(&["ping"]).contains("1.0"));
    cli(&["create-ecc-key", "--key-name", "mine"]);
    let signature = cli(&["sign", "--key-name", "mine", "hello"]);
    cli(&[
        "verify",
        "--key-name",
        "mine",
        "--signature",
        signature.trim(),
        "hello",
    ]);
    assert!(cli(&["list-keys"]).contains("mine"));
    let audit = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        audit.contains("identity=\"65534\""),
        "keys belong to uid 65534: {audit}"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(daemon.wait().unwrap().success());
    assert!(!socket.exists(), "socket removed on shutdown");
}
