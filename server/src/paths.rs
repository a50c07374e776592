//! Choosing and preparing a daemon's paths: the configured (system) socket and state
//! directory, or the per-user fallbacks of `keyward_protocol::paths` (the same rules the
//! client's discovery uses), and binding the socket safely.
//!
//! A socket directory that others can write is refused: they could replace our socket with
//! theirs and impersonate the service (Parsec threat model O-2/O-9). The directory itself is
//! checked without following a symlink.

use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use keyward_protocol::paths;
use tokio::net::UnixListener;

/// Why a path could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} {path} is unsafe: {problem}")]
    Unsafe {
        what: &'static str,
        path: PathBuf,
        problem: String,
    },
    #[error("another service is already listening on {0}")]
    InUse(PathBuf),
    #[error(
        "cannot prepare the configured paths ({configured}) and fallback_to_user_dirs is false"
    )]
    NoFallback { configured: Box<PathError> },
}

/// What a daemon asks for.
#[derive(Debug, Clone)]
pub struct PathRequest<'a> {
    /// The configured socket path.
    pub socket_path: &'a Path,
    /// The configured state directory.
    pub state_dir: &'a Path,
    /// Whether to use the per-user directories when the configured ones cannot be prepared.
    pub fallback_to_user_dirs: bool,
    /// The socket's file name in the per-user runtime directory.
    pub user_socket_name: &'a str,
    /// The state directory's name under the per-user state home (`keyward`, `keyward-idp`).
    pub user_state_name: &'a str,
}

/// The paths the daemon will really use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPaths {
    pub socket_path: PathBuf,
    pub state_dir: PathBuf,
    /// True when the per-user fallback was taken.
    pub per_user: bool,
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> PathError + 'a {
    move |source| PathError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// Creates `dir` (and parents) with `mode` and checks we can really write there (a read-only
/// mount passes `create_dir_all`).
fn make_private_dir(dir: &Path, mode: u32, what: &'static str) -> Result<(), PathError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(io(what, dir))?;
    let probe = dir.join(".keyward-write-probe");
    std::fs::write(&probe, b"").map_err(io(what, dir))?;
    std::fs::remove_file(&probe).map_err(io(what, dir))
}

fn socket_dir(socket_path: &Path) -> &Path {
    socket_path.parent().unwrap_or(Path::new("/"))
}

/// Uses the configured paths, or the per-user ones when those cannot be created and the
/// configuration allows the fallback. Logs which and why.
pub fn resolve(request: &PathRequest<'_>) -> Result<ResolvedPaths, PathError> {
    let attempt = make_private_dir(socket_dir(request.socket_path), 0o755, "socket directory")
        .and_then(|()| make_private_dir(request.state_dir, 0o700, "state directory"));
    let err = match attempt {
        Ok(()) => {
            return Ok(ResolvedPaths {
                socket_path: request.socket_path.to_owned(),
                state_dir: request.state_dir.to_owned(),
                per_user: false,
            })
        }
        Err(err) if !request.fallback_to_user_dirs => {
            return Err(PathError::NoFallback {
                configured: Box::new(err),
            })
        }
        Err(err) => err,
    };
    let uid = nix::unistd::getuid().as_raw();
    let env = |name: &str| std::env::var(name).ok();
    let socket_path = paths::user_socket_path_named(
        env("XDG_RUNTIME_DIR").as_deref(),
        uid,
        request.user_socket_name,
    );
    let mut state_dir = user_state_dir(
        env("XDG_STATE_HOME").as_deref(),
        env("HOME").as_deref(),
        uid,
        request.user_state_name,
    );
    tracing::warn!(
        "cannot use the configured paths ({err}); falling back to socket {} and state {}",
        socket_path.display(),
        state_dir.display()
    );
    make_private_dir(socket_dir(&socket_path), 0o700, "fallback socket directory")?;
    if let Err(err) = make_private_dir(&state_dir, 0o700, "fallback state directory") {
        // $HOME may not exist (system users): the per-uid temporary directory remains.
        let last_resort = user_state_dir(None, None, uid, request.user_state_name);
        tracing::warn!(
            "cannot use fallback state directory {} ({err}); using {}",
            state_dir.display(),
            last_resort.display()
        );
        make_private_dir(&last_resort, 0o700, "fallback state directory")?;
        state_dir = last_resort;
    }
    Ok(ResolvedPaths {
        socket_path,
        state_dir,
        per_user: true,
    })
}

/// `keyward_protocol::paths::user_state_dir`, with the last component renamed for daemons
/// other than keywardd.
fn user_state_dir(xdg: Option<&str>, home: Option<&str>, uid: u32, name: &str) -> PathBuf {
    let keywardd = paths::user_state_dir(xdg, home, uid);
    if name == "keyward" {
        return keywardd;
    }
    match keywardd.file_name().and_then(|n| n.to_str()) {
        // `/tmp/keyward-<uid>/state` → `/tmp/keyward-<uid>/state-<name>`.
        Some("state") => keywardd.with_file_name(format!("state-{name}")),
        _ => keywardd.with_file_name(name),
    }
}

/// Refuses a socket directory that others could write to, or that is a symlink (whoever owns
/// the link chooses where it points).
pub fn check_socket_dir(dir: &Path) -> Result<(), PathError> {
    let unsafe_dir = |problem: String| PathError::Unsafe {
        what: "socket directory",
        path: dir.to_owned(),
        problem,
    };
    let meta = std::fs::symlink_metadata(dir).map_err(io("socket directory", dir))?;
    if meta.file_type().is_symlink() {
        return Err(unsafe_dir(
            "it is a symbolic link; configure the real directory".into(),
        ));
    }
    if !meta.is_dir() {
        return Err(unsafe_dir("it is not a directory".into()));
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(unsafe_dir(format!(
            "it is owned by uid {}, not by us ({me}) or root",
            meta.uid()
        )));
    }
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(unsafe_dir(format!(
            "it is writable by group or others (mode {:o}); use a directory only this daemon can write",
            meta.permissions().mode() & 0o7777
        )));
    }
    Ok(())
}

/// Binds the socket: refuses to steal a live socket or replace a non-socket file, removes a
/// stale socket, applies the mode.
pub fn bind_socket(path: &Path, mode: u32) -> Result<UnixListener, PathError> {
    check_socket_dir(socket_dir(path))?;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(PathError::Unsafe {
                what: "socket path",
                path: path.to_owned(),
                problem: "it exists and is not a socket; refusing to replace it".into(),
            });
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(PathError::InUse(path.to_owned()));
        }
        std::fs::remove_file(path).map_err(io("stale socket", path))?;
    }
    let listener = UnixListener::bind(path).map_err(io("binding socket", path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io("setting the mode of socket", path))?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_user_state_names() {
        assert_eq!(
            user_state_dir(None, Some("/home/a"), 1, "keyward"),
            PathBuf::from("/home/a/.local/state/keyward")
        );
        assert_eq!(
            user_state_dir(None, Some("/home/a"), 1, "keyward-idp"),
            PathBuf::from("/home/a/.local/state/keyward-idp")
        );
        assert_eq!(
            user_state_dir(None, None, 7, "keyward-idp"),
            PathBuf::from("/tmp/keyward-7/state-keyward-idp")
        );
    }

    #[test]
    fn socket_directory_checks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("run");
        std::fs::create_dir(&good).expect("mkdir");
        std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        check_socket_dir(&good).expect("ours, 0755");

        let writable = dir.path().join("open");
        std::fs::create_dir(&writable).expect("mkdir");
        std::fs::set_permissions(&writable, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = check_socket_dir(&writable).expect_err("world-writable");
        assert!(err.to_string().contains("writable"), "{err}");

        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&good, &link).expect("symlink");
        let err = check_socket_dir(&link).expect_err("symlink");
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[tokio::test]
    async fn binding_refuses_live_sockets_and_other_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        let path = dir.path().join("s.sock");
        let live = bind_socket(&path, 0o666).expect("bind");
        assert!(matches!(
            bind_socket(&path, 0o666),
            Err(PathError::InUse(_))
        ));
        drop(live);
        // A stale socket (nobody listening) is replaced.
        let again = bind_socket(&path, 0o600).expect("rebind over a stale socket");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        drop(again);
        let file = dir.path().join("plain");
        std::fs::write(&file, b"x").expect("file");
        let err = bind_socket(&file, 0o666).expect_err("not a socket");
        assert!(err.to_string().contains("not a socket"), "{err}");
    }
}
