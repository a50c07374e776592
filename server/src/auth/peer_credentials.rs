//! Unix peer credentials: the request declares a UID (4 bytes, little endian) and the kernel's
//! SO_PEERCRED for the connection must agree. Identity = the UID as a decimal string.

use keyward_protocol::ops::AuthenticatorInfo;
use keyward_protocol::AuthType;

use super::{AuthError, Authenticator};
use crate::identity::{PeerCredentials, VerifiedIdentity};

#[derive(Debug)]
pub struct PeerCredentialsAuthenticator;

impl Authenticator for PeerCredentialsAuthenticator {
    fn auth_type(&self) -> AuthType {
        AuthType::UnixPeerCredentials
    }

    fn info(&self) -> AuthenticatorInfo {
        AuthenticatorInfo {
            description: "Unix peer credentials: the UID declared in the request must match the \
                          UID the kernel reports for the connection."
                .into(),
            version_maj: 0,
            version_min: 1,
            version_rev: 0,
            id: AuthType::UnixPeerCredentials as u8,
        }
    }

    fn authenticate(
        &self,
        auth: &[u8],
        peer: Option<PeerCredentials>,
    ) -> Result<VerifiedIdentity, AuthError> {
        let declared: [u8; 4] = auth
            .try_into()
            .map_err(|_| AuthError::Malformed("peer-credential auth must be exactly 4 bytes"))?;
        let declared = u32::from_le_bytes(declared);
        let peer = peer.ok_or(AuthError::NoPeerCredentials)?;
        if declared != peer.uid {
            return Err(AuthError::Mismatch(format!(
                "declared uid {declared}, peer uid {}",
                peer.uid
            )));
        }
        Ok(VerifiedIdentity::new(
            AuthType::UnixPeerCredentials,
            peer.uid.to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let peer = Some(PeerCredentials {
            uid: 1000,
            gid: 100,
            pid: Some(1),
        });
        let a = PeerCredentialsAuthenticator;
        assert_eq!(
            a.authenticate(&1000u32.to_le_bytes(), peer)
                .expect("match")
                .name(),
            "1000"
        );
        assert!(matches!(
            a.authenticate(&0u32.to_le_bytes(), peer),
            Err(AuthError::Mismatch(_))
        ));
        assert!(matches!(
            a.authenticate(b"100", peer),
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            a.authenticate(b"10000", peer),
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            a.authenticate(&1000u32.to_le_bytes(), None),
            Err(AuthError::NoPeerCredentials)
        ));
    }
}
