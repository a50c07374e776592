//! Configuration pieces every daemon shares: connection and memory limits, the
//! `[[authenticator]]` list, log settings and the socket mode. Each daemon composes them into
//! its own file format (its own `[service]` section with its own default paths).
//!
//! Conventions: every key has a safe default (`#[serde(default)]`), unknown keys are errors
//! that name the key, enumerated values are checked when the file is read and the error names
//! the allowed values.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Size, count, memory and time limits of the listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body in bytes.
    pub max_body_len: u32,
    /// Largest auth field in bytes.
    pub max_auth_len: u16,
    /// Largest response body in bytes.
    pub max_response_len: u32,
    /// Most simultaneous connections, all users together.
    pub max_connections: usize,
    /// Most simultaneous connections of one UID.
    pub max_connections_per_uid: usize,
    /// A connection idle for this long between requests is closed (ms).
    pub idle_timeout_ms: u64,
    /// Once a request has started to arrive, all of it must arrive within this time (ms).
    pub read_timeout_ms: u64,
    /// A response must be taken by the client within this time (ms).
    pub write_timeout_ms: u64,
    /// Bytes of request and response bodies held in memory at once, all users together (MiB).
    pub memory_budget_mib: u32,
    /// The share of that budget one UID may hold (MiB).
    pub memory_budget_per_uid_mib: u32,
    /// Blocking work (RSA, hardware, key-store commits) waiting longer than this to start is
    /// refused (ms).
    pub queue_timeout_ms: u64,
    /// Most requests waiting in one queue (one per provider, one for the key store).
    pub max_queued_per_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_len: 1 << 20,
            max_auth_len: 16 * 1024,
            max_response_len: 1 << 20,
            max_connections: 4096,
            max_connections_per_uid: 256,
            idle_timeout_ms: 60_000,
            read_timeout_ms: 5_000,
            write_timeout_ms: 5_000,
            memory_budget_mib: 128,
            memory_budget_per_uid_mib: 32,
            queue_timeout_ms: 10_000,
            max_queued_per_queue: 256,
        }
    }
}

/// Why a configuration value is unusable.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct InvalidValue {
    pub key: &'static str,
    pub problem: String,
}

impl Limits {
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }
    pub fn read_timeout(&self) -> Duration {
        Duration::from_millis(self.read_timeout_ms)
    }
    pub fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms)
    }
    pub fn queue_timeout(&self) -> Duration {
        Duration::from_millis(self.queue_timeout_ms)
    }
    /// The memory budget in bytes.
    pub fn memory_budget(&self) -> usize {
        (self.memory_budget_mib as usize) << 20
    }
    /// One UID's share of the memory budget in bytes.
    pub fn memory_budget_per_uid(&self) -> usize {
        (self.memory_budget_per_uid_mib as usize) << 20
    }

    /// Checks relations between the limits.
    pub fn check(&self) -> Result<(), InvalidValue> {
        let positive: [(&'static str, u64); 8] = [
            ("limits.max_connections", self.max_connections as u64),
            (
                "limits.max_connections_per_uid",
                self.max_connections_per_uid as u64,
            ),
            ("limits.idle_timeout_ms", self.idle_timeout_ms),
            ("limits.read_timeout_ms", self.read_timeout_ms),
            ("limits.write_timeout_ms", self.write_timeout_ms),
            ("limits.queue_timeout_ms", self.queue_timeout_ms),
            ("limits.memory_budget_mib", self.memory_budget_mib.into()),
            (
                "limits.memory_budget_per_uid_mib",
                self.memory_budget_per_uid_mib.into(),
            ),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(InvalidValue {
                    key,
                    problem: "must be above 0".into(),
                });
            }
        }
        if self.max_connections_per_uid > self.max_connections {
            return Err(InvalidValue {
                key: "limits.max_connections_per_uid",
                problem: format!(
                    "{} is above limits.max_connections ({})",
                    self.max_connections_per_uid, self.max_connections
                ),
            });
        }
        if self.memory_budget_per_uid_mib > self.memory_budget_mib {
            return Err(InvalidValue {
                key: "limits.memory_budget_per_uid_mib",
                problem: format!(
                    "{} is above limits.memory_budget_mib ({})",
                    self.memory_budget_per_uid_mib, self.memory_budget_mib
                ),
            });
        }
        // One largest request and its largest reply must fit one UID's share, or such a
        // request could never be served.
        let largest = u64::from(self.max_body_len)
            + u64::from(self.max_auth_len)
            + u64::from(self.max_response_len);
        if largest > self.memory_budget_per_uid() as u64 {
            return Err(InvalidValue {
                key: "limits.memory_budget_per_uid_mib",
                problem: format!(
                    "{} MiB cannot hold one largest request and reply ({largest} bytes: max_body_len + max_auth_len + max_response_len)",
                    self.memory_budget_per_uid_mib
                ),
            });
        }
        Ok(())
    }
}

/// One `[[authenticator]]` entry; `type` picks the method, and each method owns its keys.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AuthenticatorConfig {
    /// Identity = the caller's UID, checked against `SO_PEERCRED`.
    UnixPeerCredentials {},
    /// Identity = whatever name the caller claims. Demo only.
    Direct {},
}

/// The shipped authenticator list: Unix peer credentials only.
pub fn default_authenticators() -> Vec<AuthenticatorConfig> {
    vec![AuthenticatorConfig::UnixPeerCredentials {}]
}

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// The level as a `tracing` filter directive.
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// A file mode written as an octal string (`"0666"`), checked when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct FileMode(pub u32);

impl TryFrom<String> for FileMode {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let digits = text.trim_start_matches("0o");
        u32::from_str_radix(digits, 8)
            .ok()
            .filter(|mode| *mode <= 0o777 && !digits.is_empty())
            .map(FileMode)
            .ok_or_else(|| format!("{text:?} is not an octal file mode such as \"0666\""))
    }
}

impl From<FileMode> for String {
    fn from(mode: FileMode) -> String {
        format!("{:04o}", mode.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        limits: Limits,
        #[serde(default = "default_authenticators", rename = "authenticator")]
        authenticators: Vec<AuthenticatorConfig>,
        #[serde(default)]
        level: LogLevel,
        mode: Option<FileMode>,
    }

    fn parse(text: &str) -> Result<File, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn empty_file_means_defaults() {
        let file = parse("").expect("empty");
        assert_eq!(file.limits, Limits::default());
        assert_eq!(file.authenticators, default_authenticators());
        assert_eq!(file.level, LogLevel::Info);
        Limits::default().check().expect("defaults are consistent");
    }

    #[test]
    fn partial_sections_keep_the_other_defaults() {
        let file = parse("[limits]\nmax_connections = 10\nmax_connections_per_uid = 2\n")
            .expect("partial");
        assert_eq!(file.limits.max_connections, 10);
        assert_eq!(
            file.limits.read_timeout_ms,
            Limits::default().read_timeout_ms
        );
    }

    #[test]
    fn authenticators_keep_their_order() {
        let file = parse(
            "[[authenticator]]\ntype = \"direct\"\n[[authenticator]]\ntype = \"unix-peer-credentials\"\n",
        )
        .expect("two");
        assert_eq!(
            file.authenticators,
            [
                AuthenticatorConfig::Direct {},
                AuthenticatorConfig::UnixPeerCredentials {}
            ]
        );
    }

    #[test]
    fn bad_values_name_the_key_and_the_choices() {
        let err = parse("level = \"verbose\"").expect_err("bad level");
        let text = err.to_string();
        assert!(text.contains("level") && text.contains("debug"), "{text}");
        let err = parse("[[authenticator]]\ntype = \"kerberos\"\n").expect_err("bad type");
        assert!(err.to_string().contains("kerberos"), "{err}");
        let err = parse("[limits]\nmax_conections = 1\n").expect_err("typo");
        assert!(err.to_string().contains("max_conections"), "{err}");
        let err = parse("mode = \"rw\"").expect_err("bad mode");
        assert!(err.to_string().contains("octal"), "{err}");
        assert_eq!(
            parse("mode = \"0640\"").expect("mode").mode,
            Some(FileMode(0o640))
        );
    }

    #[test]
    fn inconsistent_limits_are_refused() {
        let cases: Vec<(Limits, &str)> = vec![
            (
                Limits {
                    max_connections_per_uid: 5000,
                    ..Limits::default()
                },
                "max_connections_per_uid",
            ),
            (
                Limits {
                    read_timeout_ms: 0,
                    ..Limits::default()
                },
                "read_timeout_ms",
            ),
            (
                Limits {
                    memory_budget_per_uid_mib: 1,
                    ..Limits::default()
                },
                "memory_budget_per_uid_mib",
            ),
        ];
        for (limits, key) in cases {
            let err = limits.check().expect_err(key);
            assert!(err.to_string().contains(key), "{err}");
        }
    }
}
