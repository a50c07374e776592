//! Who is calling: the kernel's view of the connection ([`PeerCredentials`]) and the identity an
//! authenticator proved ([`VerifiedIdentity`]).
//!
//! A [`VerifiedIdentity`] can only be built inside this crate's authenticators, so no handler can
//! act for an identity that was not authenticated: the key namespace always comes from one.

use std::time::SystemTime;

use keyward_protocol::AuthType;

/// Credentials of the connected peer, as the kernel reports them (`SO_PEERCRED`) when the
/// connection was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerCredentials {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
}

/// A caller identity proven by an authenticator.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifiedIdentity {
    authenticator: AuthType,
    name: String,
    expires_at: Option<SystemTime>,
}

impl VerifiedIdentity {
    pub(crate) fn new(authenticator: AuthType, name: String) -> Self {
        VerifiedIdentity {
            authenticator,
            name,
            expires_at: None,
        }
    }

    /// The authenticator that proved this identity.
    pub fn authenticator(&self) -> AuthType {
        self.authenticator
    }

    /// The first half of the key namespace. Both JWT auth types prove the same kind of
    /// identity (a SPIFFE ID signed by the identity provider), so they share one namespace:
    /// an application is the same whichever of the two its client sends.
    pub fn namespace(&self) -> AuthType {
        match self.authenticator {
            AuthType::JwtSvid => AuthType::Jwt,
            other => other,
        }
    }

    /// The application name: the second half of the key namespace.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When the proof behind this identity expires, if it does.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// An identity for unit tests of code that takes one. Only compiled with the
    /// `test-support` feature, which daemons enable for their tests alone (dev-dependencies),
    /// so no daemon binary can build an identity without an authenticator.
    #[cfg(any(test, feature = "test-support"))]
    pub fn for_tests(authenticator: AuthType, name: &str) -> Self {
        VerifiedIdentity::new(authenticator, name.to_owned())
    }
}

impl std::fmt::Display for VerifiedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", config_name(self.namespace()), self.name)
    }
}

/// The name of an authenticator in configuration, admin entries and logs.
pub fn config_name(auth: AuthType) -> &'static str {
    match auth {
        AuthType::NoAuth => "none",
        AuthType::Direct => "direct",
        AuthType::Jwt => "jwt",
        AuthType::UnixPeerCredentials => "unix-peer-credentials",
        AuthType::JwtSvid => "jwt-svid",
        AuthType::KeywardDaemon => "keyward-daemon",
    }
}
