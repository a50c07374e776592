//! Authenticators turn a request's auth field (plus the connection's peer credentials) into a
//! [`VerifiedIdentity`], the only value handlers accept as "who is calling"; and the access
//! policy (admins, trusted peers) that decides the checks above "authenticated".
//!
//! Several authenticators may be configured at once (`[[authenticator]]`, in order: that order
//! is what ListAuthenticators reports, and stock clients use the first entry). The request's
//! auth type picks one. Keys are namespaced by (authenticator, identity), so enabling another
//! authenticator never exposes existing keys: "1000" via peer credentials and "1000" via direct
//! are different clients.

mod direct;
mod peer_credentials;
mod trust;

use keyward_protocol::ops::AuthenticatorInfo;
use keyward_protocol::AuthType;

use crate::config::AuthenticatorConfig;
use crate::identity::{config_name, PeerCredentials, VerifiedIdentity};

pub use trust::{Shared, TrustError, TrustStore, TrustedKey};

/// Why authentication failed. Callers only ever learn a wire status; the detail goes to logs.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("authenticator {0:?} is not enabled")]
    NotEnabled(AuthType),
    #[error("malformed credentials: {0}")]
    Malformed(&'static str),
    #[error("credentials do not match the connection's peer: {0}")]
    Mismatch(String),
    #[error("peer credentials of the connection are unavailable")]
    NoPeerCredentials,
    #[error("credentials refused: {0}")]
    Refused(String),
}

/// One authentication method.
pub trait Authenticator: Send + Sync {
    /// The auth type (header byte 21) it serves.
    fn auth_type(&self) -> AuthType;
    /// Its ListAuthenticators entry.
    fn info(&self) -> AuthenticatorInfo;
    /// Checks the auth field of a request arriving on a connection with `peer` credentials.
    fn authenticate(
        &self,
        auth: &[u8],
        peer: Option<PeerCredentials>,
    ) -> Result<VerifiedIdentity, AuthError>;
}

/// The configured authenticators, in configuration order.
pub struct Authenticators {
    enabled: Vec<Box<dyn Authenticator>>,
}

impl std::fmt::Debug for Authenticators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let types: Vec<AuthType> = self.enabled.iter().map(|a| a.auth_type()).collect();
        f.debug_struct("Authenticators")
            .field("enabled", &types)
            .finish()
    }
}

/// Why the authenticator or access configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("no [[authenticator]] is configured: configure at least one")]
    NoAuthenticator,
    #[error("authenticator {0:?} is configured twice")]
    Duplicate(&'static str),
    #[error("admin {entry:?} must be \"<authenticator>:<identity>\" with a configured authenticator ({configured}); {problem}")]
    BadAdmin {
        entry: String,
        configured: String,
        problem: &'static str,
    },
}

impl Authenticators {
    /// Builds the configured set, in order.
    pub fn from_config(configs: &[AuthenticatorConfig]) -> Result<Self, AuthConfigError> {
        if configs.is_empty() {
            return Err(AuthConfigError::NoAuthenticator);
        }
        let mut enabled: Vec<Box<dyn Authenticator>> = Vec::new();
        for config in configs {
            let authenticator: Box<dyn Authenticator> = match config {
                AuthenticatorConfig::UnixPeerCredentials {} => {
                    Box::new(peer_credentials::PeerCredentialsAuthenticator)
                }
                AuthenticatorConfig::Direct {} => {
                    tracing::warn!(
                        "the direct authenticator is enabled: any local process can claim any identity; use it for demos only"
                    );
                    Box::new(direct::DirectAuthenticator)
                }
            };
            if enabled
                .iter()
                .any(|a| a.auth_type() == authenticator.auth_type())
            {
                return Err(AuthConfigError::Duplicate(config_name(
                    authenticator.auth_type(),
                )));
            }
            enabled.push(authenticator);
        }
        Ok(Authenticators { enabled })
    }

    /// Authenticates a request. `NoAuth` yields no identity (only public operations accept
    /// that).
    pub fn authenticate(
        &self,
        auth_type: AuthType,
        auth: &[u8],
        peer: Option<PeerCredentials>,
    ) -> Result<Option<VerifiedIdentity>, AuthError> {
        if auth_type == AuthType::NoAuth {
            return Ok(None);
        }
        let authenticator = self
            .enabled
            .iter()
            .find(|a| a.auth_type() == auth_type)
            .ok_or(AuthError::NotEnabled(auth_type))?;
        authenticator.authenticate(auth, peer).map(Some)
    }

    /// Descriptions of the configured authenticators, in configuration order.
    pub fn infos(&self) -> Vec<AuthenticatorInfo> {
        self.enabled.iter().map(|a| a.info()).collect()
    }

    /// The configured auth types, in order.
    pub fn types(&self) -> Vec<AuthType> {
        self.enabled.iter().map(|a| a.auth_type()).collect()
    }
}

/// Who may do more than an authenticated caller: configured admins (ListClients,
/// DeleteClient) and the trusted peer (ShareTrustBundle, and the identity provider's
/// orchestrator operations), known by the UID of its connection.
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    admins: Vec<(AuthType, String)>,
    trusted_peer_uids: Vec<u32>,
}

impl AccessPolicy {
    /// Admins as `"<authenticator>:<identity>"` entries; each must name a configured
    /// authenticator.
    pub fn new(
        admins: &[String],
        authenticators: &Authenticators,
        trusted_peer_uids: Vec<u32>,
    ) -> Result<Self, AuthConfigError> {
        let configured = authenticators.types();
        let admins = admins
            .iter()
            .map(|entry| parse_admin(entry, &configured))
            .collect::<Result<_, _>>()?;
        Ok(AccessPolicy {
            admins,
            trusted_peer_uids,
        })
    }

    /// True when `identity` is a configured admin.
    pub fn is_admin(&self, identity: &VerifiedIdentity) -> bool {
        self.admins
            .iter()
            .any(|(auth, name)| *auth == identity.namespace() && name == identity.name())
    }

    /// True when the connection's peer is the configured trusted component.
    pub fn is_trusted_peer(&self, peer: &PeerCredentials) -> bool {
        self.trusted_peer_uids.contains(&peer.uid)
    }
}

/// Parses an admin entry `"<authenticator>:<identity>"` against the configured auth types.
fn parse_admin(
    entry: &str,
    configured: &[AuthType],
) -> Result<(AuthType, String), AuthConfigError> {
    let bad = |problem| AuthConfigError::BadAdmin {
        entry: entry.to_owned(),
        configured: configured
            .iter()
            .map(|auth| config_name(*auth))
            .collect::<Vec<_>>()
            .join(", "),
        problem,
    };
    let (kind, name) = entry
        .split_once(':')
        .ok_or_else(|| bad("there is no ':'"))?;
    let auth = configured
        .iter()
        .copied()
        .find(|auth| config_name(*auth) == kind)
        .ok_or_else(|| bad("its authenticator is not configured"))?;
    if name.is_empty() {
        return Err(bad("its identity is empty"));
    }
    Ok((auth, name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both() -> Authenticators {
        Authenticators::from_config(&[
            AuthenticatorConfig::UnixPeerCredentials {},
            AuthenticatorConfig::Direct {},
        ])
        .expect("config")
    }

    #[test]
    fn admin_entries_parse() {
        let configured = [AuthType::UnixPeerCredentials, AuthType::Direct];
        assert_eq!(
            parse_admin("unix-peer-credentials:0", &configured).expect("ok"),
            (AuthType::UnixPeerCredentials, "0".into())
        );
        assert_eq!(
            parse_admin("direct:ops:team", &configured).expect("ok"),
            (AuthType::Direct, "ops:team".into())
        );
        for bad in ["0", "jwt:x", "direct:", "unix-peer-credentials"] {
            assert!(parse_admin(bad, &configured).is_err(), "{bad}");
        }
        // Only configured authenticators can name admins.
        let err = parse_admin("direct:alice", &[AuthType::UnixPeerCredentials])
            .expect_err("direct is not configured");
        assert!(err.to_string().contains("unix-peer-credentials"), "{err}");
    }

    #[test]
    fn configuration_order_is_the_reported_order() {
        let peer_first = both();
        assert_eq!(
            peer_first.types(),
            [AuthType::UnixPeerCredentials, AuthType::Direct]
        );
        let direct_first = Authenticators::from_config(&[
            AuthenticatorConfig::Direct {},
            AuthenticatorConfig::UnixPeerCredentials {},
        ])
        .expect("config");
        let ids: Vec<u8> = direct_first.infos().iter().map(|i| i.id).collect();
        assert_eq!(
            ids,
            [AuthType::Direct as u8, AuthType::UnixPeerCredentials as u8]
        );
        assert!(matches!(
            Authenticators::from_config(&[]),
            Err(AuthConfigError::NoAuthenticator)
        ));
        assert!(matches!(
            Authenticators::from_config(&[
                AuthenticatorConfig::Direct {},
                AuthenticatorConfig::Direct {}
            ]),
            Err(AuthConfigError::Duplicate("direct"))
        ));
    }

    #[test]
    fn only_enabled_types_authenticate() {
        let auths = Authenticators::from_config(&[AuthenticatorConfig::UnixPeerCredentials {}])
            .expect("config");
        let err = auths
            .authenticate(AuthType::Direct, b"alice", None)
            .expect_err("direct is off");
        assert!(matches!(err, AuthError::NotEnabled(AuthType::Direct)));
        assert_eq!(
            auths
                .authenticate(AuthType::NoAuth, b"", None)
                .expect("none"),
            None
        );
        assert_eq!(auths.infos().len(), 1);
    }

    #[test]
    fn namespaces_differ_per_authenticator_and_admins_are_per_namespace() {
        let auths = both();
        let policy = AccessPolicy::new(&["direct:1000".into()], &auths, vec![42]).expect("policy");
        let peer = PeerCredentials {
            uid: 1000,
            gid: 1000,
            pid: None,
        };
        let by_peer = auths
            .authenticate(
                AuthType::UnixPeerCredentials,
                &1000u32.to_le_bytes(),
                Some(peer),
            )
            .expect("peer")
            .expect("identity");
        let by_direct = auths
            .authenticate(AuthType::Direct, b"1000", None)
            .expect("direct")
            .expect("identity");
        assert_eq!(by_peer.name(), by_direct.name());
        assert_ne!(by_peer, by_direct);
        assert!(policy.is_admin(&by_direct));
        assert!(!policy.is_admin(&by_peer));
        assert!(!policy.is_trusted_peer(&peer));
        assert!(policy.is_trusted_peer(&PeerCredentials { uid: 42, ..peer }));
    }
}
