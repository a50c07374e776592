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
}

impl AuthType {
    /// The auth type for a wire value; values above 4 do not exist.
    pub fn from_u8(value: u8) -> Option<AuthType> {
        Some(match value {
            0 => AuthType::NoAuth,
            1 => AuthType::Direct,
            2 => AuthType::Jwt,
            3 => AuthType::UnixPeerCredentials,
            4 => AuthType::JwtSvid,
            _ => return None,
        })
    }
}
