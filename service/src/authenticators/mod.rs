//! Authenticators turn a request's auth field (plus the socket's peer credentials) into a
//! [`VerifiedIdentity`], the only value the rest of the service accepts as "who is calling".
//!
//! Several authenticators may be enabled at once; the request's auth type picks one. Keys are
//! namespaced by (authenticator, identity), so enabling another authenticator never exposes
//! existing keys: "1000" via peer credentials and "1000" via direct are different clients.

mod direct;
mod peer_credentials;

use keyward_protocol::ops::AuthenticatorInfo;
use keyward_protocol::AuthType;

use crate::config::AuthenticatorsSection;

/// Credentials of the connected peer, as the kernel reports them (SO_PEERCRED).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCredentials {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
}

/// A caller identity proven by an authenticator. Only this module can construct one, so no
/// code path can act for an identity that was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifiedIdentity {
    authenticator: AuthType,
    name: String,
}

impl VerifiedIdentity {
    fn new(authenticator: AuthType, name: String) -> Self {
        VerifiedIdentity {
            authenticator,
            name,
        }
    }

    /// The authenticator that proved this identity: the first half of the key namespace.
    pub fn authenticator(&self) -> AuthType {
        self.authenticator
    }

    /// The application name: the second half of the key namespace.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// For tests of other modules only.
    #[cfg(test)]
    pub fn for_tests(authenticator: AuthType, name: &str) -> Self {
        VerifiedIdentity::new(authenticator, name.to_owned())
    }
}

impl std::fmt::Display for VerifiedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", config_name(self.authenticator), self.name)
    }
}

/// Why authentication failed. Callers only ever learn [`keyward_protocol::ResponseStatus`].
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
}

/// One authentication method.
pub trait Authenticator: Send + Sync {
    fn auth_type(&self) -> AuthType;
    fn info(&self) -> AuthenticatorInfo;
    fn authenticate(
        &self,
        auth: &[u8],
        peer: Option<PeerCredentials>,
    ) -> Result<VerifiedIdentity, AuthError>;
}

/// The enabled authenticators and the admin list.
pub struct Authenticators {
    enabled: Vec<Box<dyn Authenticator>>,
    admins: Vec<(AuthType, String)>,
}

impl std::fmt::Debug for Authenticators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let types: Vec<AuthType> = self.enabled.iter().map(|a| a.auth_type()).collect();
        f.debug_struct("Authenticators")
            .field("enabled", &types)
            .field("admins", &self.admins)
            .finish()
    }
}

/// The name of an authenticator in configuration and logs.
pub fn config_name(auth: AuthType) -> &'static str {
    match auth {
        AuthType::NoAuth => "none",
        AuthType::Direct => "direct",
        AuthType::Jwt => "jwt",
        AuthType::UnixPeerCredentials => "unix-peer-credentials",
        AuthType::JwtSvid => "jwt-svid",
    }
}

/// Parses an admin entry `"<authenticator>:<identity>"`.
pub fn parse_admin(entry: &str) -> Result<(AuthType, String), String> {
    let (kind, name) = entry
        .split_once(':')
        .ok_or_else(|| format!("admin {entry:?} must be \"<authenticator>:<identity>\""))?;
    let auth = [AuthType::Direct, AuthType::UnixPeerCredentials]
        .into_iter()
        .find(|auth| config_name(*auth) == kind)
        .ok_or_else(|| {
            format!("admin {entry:?}: unknown authenticator {kind:?} (use unix-peer-credentials or direct)")
        })?;
    if name.is_empty() {
        return Err(format!("admin {entry:?} has an empty identity"));
    }
    Ok((auth, name.to_owned()))
}

impl Authenticators {
    /// Builds the enabled set from configuration (peer credentials first: clients that pick the
    /// first entry of ListAuthenticators then prefer the safer method).
    pub fn from_config(section: &AuthenticatorsSection) -> Result<Self, String> {
        let mut enabled: Vec<Box<dyn Authenticator>> = Vec::new();
        if section.unix_peer_credentials {
            enabled.push(Box::new(peer_credentials::PeerCredentialsAuthenticator));
        }
        if section.direct {
            tracing::warn!(
                "the direct authenticator is enabled: any local process can claim any identity; use it for demos only"
            );
            enabled.push(Box::new(direct::DirectAuthenticator));
        }
        let admins = section
            .admins
            .iter()
            .map(|entry| parse_admin(entry))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Authenticators { enabled, admins })
    }

    /// Authenticates a request. `NoAuth` yields no identity (only informational core operations
    /// accept that).
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

    /// Descriptions of the enabled authenticators, in preference order.
    pub fn infos(&self) -> Vec<AuthenticatorInfo> {
        self.enabled.iter().map(|a| a.info()).collect()
    }

    /// True when `identity` is a configured admin.
    pub fn is_admin(&self, identity: &VerifiedIdentity) -> bool {
        self.admins
            .iter()
            .any(|(auth, name)| *auth == identity.authenticator() && name == identity.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(peer: bool, direct: bool, admins: &[&str]) -> AuthenticatorsSection {
        AuthenticatorsSection {
            unix_peer_credentials: peer,
            direct,
            admins: admins.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn admin_entries_parse() {
        assert_eq!(
            parse_admin("unix-peer-credentials:0"),
            Ok((AuthType::UnixPeerCredentials, "0".into()))
        );
        assert_eq!(
            parse_admin("direct:ops:team"),
            Ok((AuthType::Direct, "ops:team".into()))
        );
        assert!(parse_admin("0").is_err());
        assert!(parse_admin("jwt:x").is_err());
        assert!(parse_admin("direct:").is_err());
    }

    #[test]
    fn only_enabled_types_authenticate() {
        let auths = Authenticators::from_config(&section(true, false, &[])).expect("config");
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
    fn namespaces_differ_per_authenticator() {
        let auths =
            Authenticators::from_config(&section(true, true, &["direct:1000"])).expect("config");
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
        assert!(auths.is_admin(&by_direct));
        assert!(!auths.is_admin(&by_peer));
    }
}
