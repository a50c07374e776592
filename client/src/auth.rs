//! How the client proves who it is: the auth type in the header and the bytes of the auth field.
//!
//! Tokens are secrets: they live in `Zeroizing` buffers and [`Authentication`]'s `Debug`
//! never prints them.

use std::fmt;
use std::sync::Arc;

use keyward_protocol::AuthType;
use zeroize::Zeroizing;

use crate::error::{ClientError, Result, TokenError};

/// Supplies a fresh JWT for each request (tokens are short-lived, so they are not cached here).
///
/// The identity-provider-backed implementation comes with keyward-idp; [`StaticToken`] serves
/// tests and tokens obtained out of band.
pub trait TokenSource: Send + Sync {
    /// A token valid now.
    fn token(&self) -> std::result::Result<Zeroizing<String>, TokenError>;
}

/// A fixed token.
pub struct StaticToken(Zeroizing<String>);

impl StaticToken {
    /// A source that always returns `token`.
    pub fn new(token: impl Into<String>) -> Self {
        StaticToken(Zeroizing::new(token.into()))
    }
}

impl TokenSource for StaticToken {
    fn token(&self) -> std::result::Result<Zeroizing<String>, TokenError> {
        Ok(self.0.clone())
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

/// The authentication a client sends with its requests.
#[derive(Clone)]
pub enum Authentication {
    /// No authentication: only informational core operations work.
    None,
    /// Direct authentication: the application name in clear (demo and tests only).
    Direct(String),
    /// The caller's UID, checked by the service against the socket's peer credentials.
    UnixPeerCredentials,
    /// A JWT from the identity provider, fetched for every request.
    Jwt(Arc<dyn TokenSource>),
    /// A SPIFFE JWT-SVID.
    JwtSvid(Zeroizing<String>),
}

impl Authentication {
    /// The auth type carried in the header.
    pub fn auth_type(&self) -> AuthType {
        match self {
            Authentication::None => AuthType::NoAuth,
            Authentication::Direct(_) => AuthType::Direct,
            Authentication::UnixPeerCredentials => AuthType::UnixPeerCredentials,
            Authentication::Jwt(_) => AuthType::Jwt,
            Authentication::JwtSvid(_) => AuthType::JwtSvid,
        }
    }

    /// The auth field's bytes for one request.
    pub fn auth_field(&self) -> Result<Zeroizing<Vec<u8>>> {
        Ok(Zeroizing::new(match self {
            Authentication::None => Vec::new(),
            Authentication::Direct(name) => name.as_bytes().to_vec(),
            Authentication::UnixPeerCredentials => {
                nix::unistd::getuid().as_raw().to_le_bytes().to_vec()
            }
            Authentication::Jwt(source) => source
                .token()
                .map_err(ClientError::Token)?
                .as_bytes()
                .to_vec(),
            Authentication::JwtSvid(token) => token.as_bytes().to_vec(),
        }))
    }
}

impl fmt::Debug for Authentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Authentication::None => f.write_str("None"),
            Authentication::Direct(name) => f.debug_tuple("Direct").field(name).finish(),
            Authentication::UnixPeerCredentials => f.write_str("UnixPeerCredentials"),
            Authentication::Jwt(_) => f.write_str("Jwt(<token source>)"),
            Authentication::JwtSvid(_) => f.write_str("JwtSvid(<redacted>)"),
        }
    }
}

/// What the client can authenticate with, used to pick among the service's authenticators.
#[derive(Clone, Default)]
pub(crate) struct AuthOptions {
    pub app_name: Option<String>,
    pub token_source: Option<Arc<dyn TokenSource>>,
    pub jwt_svid: Option<Zeroizing<String>>,
}

impl fmt::Debug for AuthOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthOptions")
            .field("app_name", &self.app_name)
            .field("token_source", &self.token_source.is_some())
            .field("jwt_svid", &self.jwt_svid.is_some())
            .finish()
    }
}

impl AuthOptions {
    /// Picks the best authentication among the service's enabled authenticators (`offered`,
    /// in the service's order): peer credentials need nothing and cannot be replayed, so they
    /// come first; then a token-based one the client has a token for; Direct last, and only
    /// with an application name.
    pub fn choose(&self, offered: &[u8]) -> Result<Authentication> {
        let offers = |ty: AuthType| offered.contains(&(ty as u8));
        if offers(AuthType::UnixPeerCredentials) {
            return Ok(Authentication::UnixPeerCredentials);
        }
        for id in offered {
            match AuthType::from_u8(*id) {
                Some(AuthType::JwtSvid) => {
                    if let Some(token) = &self.jwt_svid {
                        return Ok(Authentication::JwtSvid(token.clone()));
                    }
                }
                Some(AuthType::Jwt) => {
                    if let Some(source) = &self.token_source {
                        return Ok(Authentication::Jwt(source.clone()));
                    }
                }
                _ => {}
            }
        }
        if offers(AuthType::Direct) {
            if let Some(name) = &self.app_name {
                return Ok(Authentication::Direct(name.clone()));
            }
        }
        Err(ClientError::NoAuthenticator {
            offered: offered.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: u8 = AuthType::UnixPeerCredentials as u8;
    const DIRECT: u8 = AuthType::Direct as u8;
    const JWT: u8 = AuthType::Jwt as u8;
    const SVID: u8 = AuthType::JwtSvid as u8;

    fn options(app: bool, token: bool, svid: bool) -> AuthOptions {
        AuthOptions {
            app_name: app.then(|| "app".to_owned()),
            token_source: token.then(|| Arc::new(StaticToken::new("jwt")) as Arc<dyn TokenSource>),
            jwt_svid: svid.then(|| Zeroizing::new("svid".to_owned())),
        }
    }

    #[test]
    fn peer_credentials_preferred_whatever_the_order() {
        let auth = options(true, true, true)
            .choose(&[DIRECT, JWT, PEER])
            .expect("choice");
        assert_eq!(auth.auth_type(), AuthType::UnixPeerCredentials);
        let field = auth.auth_field().expect("field");
        assert_eq!(&field[..], &nix::unistd::getuid().as_raw().to_le_bytes());
    }

    #[test]
    fn token_auth_only_with_a_token() {
        let err = options(false, false, false)
            .choose(&[JWT, SVID])
            .expect_err("none");
        assert!(
            matches!(err, ClientError::NoAuthenticator { ref offered } if offered == &[JWT, SVID])
        );
        let auth = options(false, true, false)
            .choose(&[SVID, JWT])
            .expect("jwt");
        assert_eq!(auth.auth_type(), AuthType::Jwt);
        assert_eq!(&auth.auth_field().expect("field")[..], b"jwt");
        let auth = options(false, true, true)
            .choose(&[SVID, JWT])
            .expect("svid");
        assert_eq!(auth.auth_type(), AuthType::JwtSvid);
    }

    #[test]
    fn direct_only_with_an_app_name_and_after_tokens() {
        assert!(options(false, false, false).choose(&[DIRECT]).is_err());
        let auth = options(true, false, false)
            .choose(&[DIRECT])
            .expect("direct");
        assert_eq!(&auth.auth_field().expect("field")[..], b"app");
        let auth = options(true, true, false)
            .choose(&[DIRECT, JWT])
            .expect("jwt");
        assert_eq!(auth.auth_type(), AuthType::Jwt);
    }

    #[test]
    fn debug_never_shows_tokens() {
        let auth = Authentication::JwtSvid(Zeroizing::new("secret-token".to_owned()));
        assert!(!format!("{auth:?}").contains("secret-token"));
        let auth = Authentication::Jwt(Arc::new(StaticToken::new("secret-token")));
        assert!(!format!("{auth:?}").contains("secret-token"));
        assert!(!format!("{:?}", options(true, true, true)).contains("svid\""));
    }

    #[test]
    fn failing_token_source_is_reported() {
        struct Broken;
        impl TokenSource for Broken {
            fn token(&self) -> std::result::Result<Zeroizing<String>, TokenError> {
                Err("idp unreachable".into())
            }
        }
        let err = Authentication::Jwt(Arc::new(Broken))
            .auth_field()
            .expect_err("broken");
        assert!(matches!(err, ClientError::Token(_)), "{err:?}");
        let cause = std::error::Error::source(&err).expect("the token error is the source");
        assert_eq!(cause.to_string(), "idp unreachable");
    }
}
