//! keywardd's configuration: a TOML file whose documented defaults (`config.toml` at the
//! repository root) are embedded in the binary.
//!
//! Every key has a default, so a file holding only the keys to change (e.g. `socket_path` and
//! `state_dir`) is complete; the defaults in code and in `config.toml` are checked to be the
//! same. Unknown keys and unknown enumerated values are errors naming the key.

use std::path::{Path, PathBuf};

use keyward_protocol::paths::{SYSTEM_SOCKET_PATH, SYSTEM_STATE_DIR};
use keyward_server::config::{
    default_authenticators, AuthenticatorConfig, FileMode, Limits, LogFormat, LogLevel,
};
use serde::{Deserialize, Serialize};

/// The documented default configuration, embedded at build time.
pub const DEFAULT_CONFIG: &str = include_str!("../../config.toml");

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub service: ServiceSection,
    pub access: AccessSection,
    pub limits: Limits,
    pub keys: KeysSection,
    #[serde(rename = "authenticator")]
    pub authenticators: Vec<AuthenticatorConfig>,
    #[serde(rename = "provider")]
    pub providers: Vec<ProviderConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            service: ServiceSection::default(),
            access: AccessSection::default(),
            limits: Limits::default(),
            keys: KeysSection::default(),
            authenticators: default_authenticators(),
            providers: vec![ProviderConfig::default()],
        }
    }
}

/// `[service]`: where keywardd lives and how it logs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceSection {
    pub socket_path: PathBuf,
    pub state_dir: PathBuf,
    pub fallback_to_user_dirs: bool,
    pub socket_mode: FileMode,
    pub log_level: LogLevel,
    pub log_format: LogFormat,
    pub shutdown_grace_secs: u64,
}

impl Default for ServiceSection {
    fn default() -> Self {
        ServiceSection {
            socket_path: PathBuf::from(SYSTEM_SOCKET_PATH),
            state_dir: PathBuf::from(SYSTEM_STATE_DIR),
            fallback_to_user_dirs: true,
            socket_mode: FileMode(0o666),
            log_level: LogLevel::Info,
            log_format: LogFormat::Text,
            shutdown_grace_secs: 10,
        }
    }
}

/// `[access]`: who may do more than use their own keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessSection {
    /// `"<authenticator>:<identity>"` entries allowed to call ListClients and DeleteClient.
    pub admins: Vec<String>,
}

/// `[keys]`: limits on what identities store.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysSection {
    pub max_keys_per_identity: u64,
    pub max_key_name_len: usize,
}

impl Default for KeysSection {
    fn default() -> Self {
        KeysSection {
            max_keys_per_identity: 100_000,
            max_key_name_len: 256,
        }
    }
}

/// One `[[provider]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ProviderConfig {
    Software {
        #[serde(default)]
        master_key_path: PathBuf,
        #[serde(default = "default_key_cache_entries")]
        key_cache_entries: usize,
        /// Smallest RSA key accepted (bits). Default 2048; 1024 at the lowest, for Parsec
        /// compatibility only (logged as a warning at start).
        #[serde(default = "default_min_rsa_bits")]
        min_rsa_bits: u32,
    },
}

fn default_key_cache_entries() -> usize {
    1024
}

fn default_min_rsa_bits() -> u32 {
    keyward_provider_software::DEFAULT_MIN_RSA_BITS
}

impl Default for ProviderConfig {
    fn default() -> Self {
        ProviderConfig::Software {
            master_key_path: PathBuf::new(),
            key_cache_entries: default_key_cache_entries(),
            min_rsa_bits: default_min_rsa_bits(),
        }
    }
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
    #[error("invalid configuration {origin}: {problem}")]
    Invalid { origin: String, problem: String },
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
        config.check().map_err(|problem| ConfigError::Invalid {
            origin: origin.to_owned(),
            problem,
        })?;
        Ok(config)
    }

    /// The configuration as TOML (tests write typed configurations this way).
    pub fn to_toml(&self) -> String {
        // Serialising plain data structures cannot fail.
        toml::to_string(self).unwrap_or_default()
    }

    /// Relations between values that the types alone do not guarantee.
    pub fn check(&self) -> Result<(), String> {
        if self.providers.is_empty() {
            return Err("at least one [[provider]] is required".into());
        }
        self.limits.check().map_err(|err| err.to_string())?;
        let authenticators = keyward_server::Authenticators::from_config(&self.authenticators)
            .map_err(|err| err.to_string())?;
        keyward_server::AccessPolicy::new(&self.access.admins, &authenticators, Vec::new())
            .map_err(|err| format!("access.admins: {err}"))?;
        if self.keys.max_key_name_len == 0 {
            return Err("keys.max_key_name_len must be above 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_defaults_are_the_defaults_in_code() {
        assert_eq!(
            Config::embedded().expect("defaults parse"),
            Config::default()
        );
        let config = Config::default();
        assert_eq!(
            config.service.socket_path,
            PathBuf::from(SYSTEM_SOCKET_PATH)
        );
        assert_eq!(config.service.socket_mode, FileMode(0o666));
        assert_eq!(
            config.authenticators,
            [AuthenticatorConfig::UnixPeerCredentials {}]
        );
        assert_eq!(config.limits.max_body_len, 1 << 20);
    }

    #[test]
    fn a_file_with_only_two_paths_is_complete() {
        let config = Config::parse(
            "[service]\nsocket_path = \"/tmp/k/keyward.sock\"\nstate_dir = \"/tmp/k/state\"\n",
            "test",
        )
        .expect("two keys suffice");
        assert_eq!(config.service.state_dir, PathBuf::from("/tmp/k/state"));
        assert_eq!(config.limits, Limits::default());
        assert_eq!(config.providers, [ProviderConfig::default()]);
        assert_eq!(
            Config::parse("", "empty").expect("empty"),
            Config::default()
        );
    }

    #[test]
    fn typed_configurations_round_trip_through_toml() {
        let mut config = Config {
            authenticators: vec![
                AuthenticatorConfig::Direct {},
                AuthenticatorConfig::UnixPeerCredentials {},
            ],
            ..Config::default()
        };
        config.access.admins = vec!["direct:admin".into()];
        config.limits.max_connections = 10;
        config.limits.max_connections_per_uid = 5;
        let text = config.to_toml();
        assert_eq!(Config::parse(&text, "round trip").expect("parses"), config);
    }

    #[test]
    fn unknown_keys_and_values_are_named() {
        let cases = [
            ("[limits]\nmax_bodylen = 3\n", "max_bodylen"),
            ("[surprise]\nx = 1\n", "surprise"),
            ("[service]\nlog_level = \"verbose\"\n", "verbose"),
            ("[service]\nlog_level = \"verbose\"\n", "trace"),
            ("[service]\nlog_format = \"xml\"\n", "json"),
            ("[service]\nsocket_mode = \"rw\"\n", "octal"),
            ("[[provider]]\ntype = \"quantum\"\n", "quantum"),
            ("[[authenticator]]\ntype = \"kerberos\"\n", "kerberos"),
            ("[access]\nadmins = [\"nobody\"]\n", "nobody"),
            ("[access]\nadmins = [\"direct:alice\"]\n", "not configured"),
            ("[limits]\nmax_connections = 0\n", "max_connections"),
        ];
        for (text, needle) in cases {
            let err = Config::parse(text, "test").expect_err(text);
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
    }
}
