//! Service configuration: a TOML file whose documented defaults (`config.toml` at the repository
//! root) are embedded in the binary. Unknown keys are rejected with their name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The documented default configuration, embedded at build time.
pub const DEFAULT_CONFIG: &str = include_str!("../../config.toml");

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub service: ServiceSection,
    pub limits: Limits,
    pub authenticators: AuthenticatorsSection,
    #[serde(rename = "provider")]
    pub providers: Vec<ProviderConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSection {
    pub socket_path: PathBuf,
    pub state_dir: PathBuf,
    pub fallback_to_user_dirs: bool,
    pub socket_mode: String,
    pub log_level: String,
    pub log_format: LogFormat,
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Size, count and time limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_body_len: u32,
    pub max_auth_len: u16,
    pub max_response_len: u32,
    pub max_connections: usize,
    pub idle_timeout_ms: u64,
    pub read_timeout_ms: u64,
    pub max_keys_per_identity: u64,
    pub max_key_name_len: usize,
}

impl Limits {
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }
    pub fn read_timeout(&self) -> Duration {
        Duration::from_millis(self.read_timeout_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthenticatorsSection {
    pub unix_peer_credentials: bool,
    pub direct: bool,
    pub admins: Vec<String>,
}

/// One `[[provider]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ProviderConfig {
    Software {
        master_key_path: PathBuf,
        key_cache_entries: usize,
    },
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration {origin}: {source}")]
    Parse {
        origin: String,
        source: toml::de::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// The embedded defaults.
    pub fn embedded() -> Result<Config, ConfigError> {
        Config::parse(DEFAULT_CONFIG, "(embedded defaults)")
    }

    /// Loads a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parses and checks configuration text.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|source| ConfigError::Parse {
            origin: origin.to_owned(),
            source,
        })?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.providers.is_empty() {
            return Err(ConfigError::Invalid(
                "at least one [[provider]] is required".into(),
            ));
        }
        if !self.authenticators.unix_peer_credentials && !self.authenticators.direct {
            return Err(ConfigError::Invalid(
                "no authenticator enabled: enable unix_peer_credentials or direct".into(),
            ));
        }
        self.socket_mode()?;
        for admin in &self.authenticators.admins {
            crate::authenticators::parse_admin(admin).map_err(ConfigError::Invalid)?;
        }
        let limits = &self.limits;
        if limits.max_connections == 0 || limits.read_timeout_ms == 0 || limits.idle_timeout_ms == 0
        {
            return Err(ConfigError::Invalid(
                "limits.max_connections, read_timeout_ms and idle_timeout_ms must be above 0"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The socket file mode as a number.
    pub fn socket_mode(&self) -> Result<u32, ConfigError> {
        let text = self.service.socket_mode.trim_start_matches("0o");
        u32::from_str_radix(text, 8)
            .ok()
            .filter(|mode| *mode <= 0o777)
            .ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "service.socket_mode {:?} is not an octal file mode",
                    self.service.socket_mode
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_parse() {
        let config = Config::embedded().expect("defaults parse");
        assert_eq!(
            config.service.socket_path,
            PathBuf::from("/run/keyward/keyward.sock")
        );
        assert!(config.authenticators.unix_peer_credentials);
        assert!(!config.authenticators.direct);
        assert_eq!(config.limits.max_body_len, 1 << 20);
        assert_eq!(config.socket_mode().expect("mode"), 0o666);
    }

    #[test]
    fn unknown_keys_are_named() {
        let text = DEFAULT_CONFIG.replace("[limits]", "[limits]\nmax_bodylen = 3");
        let err = Config::parse(&text, "test").expect_err("unknown key");
        assert!(err.to_string().contains("max_bodylen"), "{err}");

        let text = format!("{DEFAULT_CONFIG}\n[surprise]\nx = 1\n");
        let err = Config::parse(&text, "test").expect_err("unknown section");
        assert!(err.to_string().contains("surprise"), "{err}");
    }

    #[test]
    fn bad_values_are_refused() {
        let text = DEFAULT_CONFIG.replace("socket_mode = \"0666\"", "socket_mode = \"rw\"");
        assert!(Config::parse(&text, "t").is_err());
        let text = DEFAULT_CONFIG.replace(
            "unix_peer_credentials = true",
            "unix_peer_credentials = false",
        );
        assert!(Config::parse(&text, "t").is_err());
        let text = DEFAULT_CONFIG.replace("admins = []", "admins = [\"nobody\"]");
        assert!(Config::parse(&text, "t").is_err());
        let text = DEFAULT_CONFIG.replace("type = \"software\"", "type = \"quantum\"");
        assert!(Config::parse(&text, "t").is_err());
    }
}
