//! Direct authentication: the caller names itself. Off by default; for demos and tests only,
//! because any local process can claim any name.

use keyward_protocol::ops::AuthenticatorInfo;
use keyward_protocol::AuthType;

use super::{AuthError, Authenticator};
use crate::identity::{PeerCredentials, VerifiedIdentity};

#[derive(Debug)]
pub struct DirectAuthenticator;

impl Authenticator for DirectAuthenticator {
    fn auth_type(&self) -> AuthType {
        AuthType::Direct
    }

    fn info(&self) -> AuthenticatorInfo {
        AuthenticatorInfo {
            description: "Direct: the application names itself (no proof; demos only).".into(),
            version_maj: 0,
            version_min: 1,
            version_rev: 0,
            id: AuthType::Direct as u8,
        }
    }

    fn authenticate(
        &self,
        auth: &[u8],
        _peer: Option<PeerCredentials>,
    ) -> Result<VerifiedIdentity, AuthError> {
        if auth.is_empty() {
            return Err(AuthError::Malformed(
                "direct auth needs an application name",
            ));
        }
        let name = std::str::from_utf8(auth)
            .map_err(|_| AuthError::Malformed("direct auth name is not UTF-8"))?;
        if name.chars().any(char::is_control) {
            return Err(AuthError::Malformed(
                "direct auth name contains control characters",
            ));
        }
        Ok(VerifiedIdentity::new(AuthType::Direct, name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let a = DirectAuthenticator;
        assert_eq!(a.authenticate(b"alice", None).expect("ok").name(), "alice");
        assert!(a.authenticate(b"", None).is_err());
        assert!(a.authenticate(&[0xff, 0xfe], None).is_err());
        assert!(a.authenticate(b"a\nb", None).is_err());
    }
}
