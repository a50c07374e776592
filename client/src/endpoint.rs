//! Finding the service's socket.
//!
//! Order: `KEYWARD_ENDPOINT`, then Parsec's `PARSEC_SERVICE_ENDPOINT`, then the first existing
//! socket among the system path and the per-user path (the same paths the service computes,
//! from `keyward_protocol::paths`). The logic is a pure function over [`EndpointEnv`] so tests
//! pin the inputs instead of mutating the process environment.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use keyward_protocol::paths;

use crate::error::{ClientError, Result};

/// The environment inputs endpoint discovery reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointEnv {
    /// `KEYWARD_ENDPOINT`.
    pub keyward_endpoint: Option<String>,
    /// `PARSEC_SERVICE_ENDPOINT`.
    pub parsec_endpoint: Option<String>,
    /// `XDG_RUNTIME_DIR`.
    pub xdg_runtime_dir: Option<String>,
    /// The caller's real user ID.
    pub uid: u32,
}

impl EndpointEnv {
    /// Reads the inputs from this process's environment.
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok();
        EndpointEnv {
            keyward_endpoint: var(paths::ENDPOINT_ENV),
            parsec_endpoint: var(paths::PARSEC_ENDPOINT_ENV),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR"),
            uid: nix::unistd::getuid().as_raw(),
        }
    }

    /// The default socket paths, in the order they are tried.
    pub fn default_paths(&self) -> [PathBuf; 2] {
        [
            PathBuf::from(paths::SYSTEM_SOCKET_PATH),
            paths::user_socket_path(self.xdg_runtime_dir.as_deref(), self.uid),
        ]
    }
}

/// True when `path` exists and is a Unix socket.
pub fn is_socket(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| meta.file_type().is_socket())
}

/// Discovers the endpoint from explicit inputs; `is_socket` decides whether a default path
/// may be used. An endpoint named by a variable is returned as is, without checking it
/// exists: an explicit choice should fail loudly at connect time, not fall back silently.
pub fn discover_with(env: &EndpointEnv, is_socket: impl Fn(&Path) -> bool) -> Result<PathBuf> {
    let named = [
        (paths::ENDPOINT_ENV, env.keyward_endpoint.as_deref()),
        (paths::PARSEC_ENDPOINT_ENV, env.parsec_endpoint.as_deref()),
    ];
    for (source_name, value) in named {
        // An empty variable is treated as unset, as shells make it easy to export one.
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            return paths::parse_endpoint(value).ok_or_else(|| ClientError::InvalidEndpoint {
                source_name,
                value: value.to_owned(),
            });
        }
    }
    let tried = env.default_paths();
    match tried.iter().find(|path| is_socket(path)) {
        Some(path) => Ok(path.clone()),
        None => Err(ClientError::NoEndpoint {
            tried: tried.to_vec(),
        }),
    }
}

/// Discovers the endpoint from this process's environment and file system.
pub fn discover() -> Result<PathBuf> {
    discover_with(&EndpointEnv::from_process(), is_socket)
}

/// Parses an endpoint given on a command line or in configuration.
pub fn parse(value: &str) -> Result<PathBuf> {
    paths::parse_endpoint(value).ok_or_else(|| ClientError::InvalidEndpoint {
        source_name: "the command line",
        value: value.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(keyward: Option<&str>, parsec: Option<&str>) -> EndpointEnv {
        EndpointEnv {
            keyward_endpoint: keyward.map(str::to_owned),
            parsec_endpoint: parsec.map(str::to_owned),
            xdg_runtime_dir: Some("/run/user/1000".to_owned()),
            uid: 1000,
        }
    }

    #[test]
    fn keyward_variable_wins_over_parsec_variable() {
        let found = discover_with(&env(Some("unix:/k.sock"), Some("unix:/p.sock")), |_| false)
            .expect("named");
        assert_eq!(found, PathBuf::from("/k.sock"));
    }

    #[test]
    fn parsec_variable_is_honoured_in_uri_form() {
        let found = discover_with(&env(None, Some("unix:///run/parsec/parsec.sock")), |_| {
            false
        })
        .expect("named");
        assert_eq!(found, PathBuf::from("/run/parsec/parsec.sock"));
    }

    #[test]
    fn empty_variable_counts_as_unset() {
        let found = discover_with(&env(Some(""), Some("/p.sock")), |_| false).expect("named");
        assert_eq!(found, PathBuf::from("/p.sock"));
    }

    #[test]
    fn invalid_variable_is_an_error_naming_it() {
        let err =
            discover_with(&env(Some("tcp://127.0.0.1:1"), None), |_| true).expect_err("invalid");
        match &err {
            ClientError::InvalidEndpoint { source_name, value } => {
                assert_eq!(*source_name, "KEYWARD_ENDPOINT");
                assert_eq!(value, "tcp://127.0.0.1:1");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("KEYWARD_ENDPOINT"));
    }

    #[test]
    fn system_socket_preferred_then_user_socket() {
        let found = discover_with(&env(None, None), |_| true).expect("system");
        assert_eq!(found, PathBuf::from(paths::SYSTEM_SOCKET_PATH));

        let found = discover_with(&env(None, None), |p| {
            p == Path::new("/run/user/1000/keyward/keyward.sock")
        })
        .expect("user");
        assert_eq!(found, PathBuf::from("/run/user/1000/keyward/keyward.sock"));
    }

    #[test]
    fn nothing_found_names_every_path_tried() {
        let mut inputs = env(None, None);
        inputs.xdg_runtime_dir = None;
        inputs.uid = 4242;
        let err = discover_with(&inputs, |_| false).expect_err("none");
        let text = err.to_string();
        assert!(text.contains(paths::SYSTEM_SOCKET_PATH), "{text}");
        assert!(text.contains("/tmp/keyward-4242/keyward.sock"), "{text}");
    }

    #[test]
    fn is_socket_checks_the_file_type() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join("s.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
        let file = dir.path().join("plain");
        std::fs::write(&file, b"x").expect("write");
        assert!(is_socket(&sock));
        assert!(!is_socket(&file));
        assert!(!is_socket(&dir.path().join("missing")));
    }

    #[test]
    fn command_line_endpoint_parses() {
        assert_eq!(parse("unix:/x.sock").expect("ok"), PathBuf::from("/x.sock"));
        assert!(matches!(
            parse("x.sock"),
            Err(ClientError::InvalidEndpoint { .. })
        ));
    }
}
