//! Where the service's socket lives, computed the same way by the service and its clients.
//!
//! Production path first (`/run/keyward/keyward.sock`, as in `config.toml`); when that cannot
//! be used (an ordinary user on a fresh machine), the per-user runtime directory. Pure
//! functions over the environment so both sides agree and tests can pin the inputs.

use std::path::PathBuf;

/// The production socket path.
pub const SYSTEM_SOCKET_PATH: &str = "/run/keyward/keyward.sock";
/// The production state directory.
pub const SYSTEM_STATE_DIR: &str = "/var/lib/keyward";
/// Environment variable naming the endpoint (`unix:/path` or a bare path).
pub const ENDPOINT_ENV: &str = "KEYWARD_ENDPOINT";
/// Parsec's endpoint variable, honoured too.
pub const PARSEC_ENDPOINT_ENV: &str = "PARSEC_SERVICE_ENDPOINT";

/// The per-user fallback socket: `$XDG_RUNTIME_DIR/keyward/keyward.sock`, or
/// `/tmp/keyward-<uid>/keyward.sock` when no runtime directory is set.
pub fn user_socket_path(xdg_runtime_dir: Option<&str>, uid: u32) -> PathBuf {
    user_socket_path_named(xdg_runtime_dir, uid, SOCKET_FILE_NAME)
}

/// keywardd's socket file name, in the system and per-user directories alike.
pub const SOCKET_FILE_NAME: &str = "keyward.sock";

/// The per-user fallback path of a socket called `file_name` (each Keyward daemon has its own
/// name in the same directory).
pub fn user_socket_path_named(xdg_runtime_dir: Option<&str>, uid: u32, file_name: &str) -> PathBuf {
    match xdg_runtime_dir.filter(|dir| !dir.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("keyward").join(file_name),
        None => PathBuf::from(format!("/tmp/keyward-{uid}")).join(file_name),
    }
}

/// The per-user fallback state directory: `$XDG_STATE_HOME/keyward`, else
/// `$HOME/.local/state/keyward`, else `/tmp/keyward-<uid>/state`.
pub fn user_state_dir(xdg_state_home: Option<&str>, home: Option<&str>, uid: u32) -> PathBuf {
    if let Some(dir) = xdg_state_home.filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir).join("keyward");
    }
    if let Some(home) = home.filter(|dir| !dir.is_empty()) {
        return PathBuf::from(home).join(".local/state/keyward");
    }
    PathBuf::from(format!("/tmp/keyward-{uid}")).join("state")
}

/// Parses an endpoint value: `unix:/abs/path`, `unix:///abs/path` or a bare absolute path.
pub fn parse_endpoint(value: &str) -> Option<PathBuf> {
    let path = value
        .strip_prefix("unix://")
        .or_else(|| value.strip_prefix("unix:"))
        .unwrap_or(value);
    path.starts_with('/').then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        let cases = [
            ("unix:/run/x.sock", Some("/run/x.sock")),
            ("unix:///run/x.sock", Some("/run/x.sock")),
            ("/run/x.sock", Some("/run/x.sock")),
            ("tcp://127.0.0.1:1", None),
            ("relative.sock", None),
            ("unix:relative", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_endpoint(input),
                expected.map(PathBuf::from),
                "{input}"
            );
        }
    }

    #[test]
    fn user_fallbacks() {
        assert_eq!(
            user_socket_path(Some("/run/user/1000"), 1000),
            PathBuf::from("/run/user/1000/keyward/keyward.sock")
        );
        assert_eq!(
            user_socket_path(None, 7),
            PathBuf::from("/tmp/keyward-7/keyward.sock")
        );
        assert_eq!(
            user_state_dir(None, Some("/home/a"), 1),
            PathBuf::from("/home/a/.local/state/keyward")
        );
        assert_eq!(
            user_state_dir(Some("/s"), Some("/home/a"), 1),
            PathBuf::from("/s/keyward")
        );
    }
}
