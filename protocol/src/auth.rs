//! Authentication types carried in header byte 21 (reference §1.3).

/// The authentication type of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum AuthType {
    /// No authentication: only core informational operations work.
    NoAuth = 0,
    /// The application name in clear text (demo only).
    Direct = 1,
    /// A JWT issued by keyward-idp.
    Jwt = 2,
    /// The caller's UID as 4 little-endian bytes, checked against SO_PEERCRED.
    UnixPeerCredentials = 3,
    /// A SPIFFE JWT-SVID.
    JwtSvid = 4,
    /// Keyward extension: one of Keyward's own daemons (identity provider, orchestrator) using
    /// its reserved namespace; the auth field names the role, the connection's UID proves it
    /// (docs/identity.md). Only valid on extension requests.
    KeywardDaemon = 0x4B,
}

impl AuthType {
    /// The auth type for a wire value; Parsec's values 0 to 4, and Keyward's extension.
    pub fn from_u8(value: u8) -> Option<AuthType> {
        Some(match value {
            0 => AuthType::NoAuth,
            1 => AuthType::Direct,
            2 => AuthType::Jwt,
            3 => AuthType::UnixPeerCredentials,
            4 => AuthType::JwtSvid,
            0x4B => AuthType::KeywardDaemon,
            _ => return None,
        })
    }

    /// True for auth types a stock Parsec client knows.
    pub fn is_parsec_standard(self) -> bool {
        self != AuthType::KeywardDaemon
    }
}
