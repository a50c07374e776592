//! JWT-SVID-shaped tokens: issued by the IdP with its current intermediate, verified by
//! keywardd's `jwt` authenticator against the trust store (`docs/identity.md`, "Tokens").
//!
//! Header exactly `{"alg":"ES256","kid":<kid>,"typ":"JWT"}`; claims exactly `sub` (a workload
//! SPIFFE ID), `aud` (an array), `iat`, `exp` and `jti`, nothing else. A token never expires
//! after the intermediate that signed it, so "superseded or expired intermediate" and "expired
//! token" cannot disagree. Verification runs the JWS checks of [`crate::jws`] (size, header,
//! current kid), then `jsonwebtoken::decode` on its aws-lc-rs backend (ES256 only, signature,
//! audience, required claims), then the rules `jsonwebtoken` does not know, against an explicit
//! `now` (so verification is testable without a clock).

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::cert::SigningIntermediate;
use crate::jws::{
    install_crypto_provider, open_envelope, sign_jws, JwsError, JwsLimits, MAX_JSON_DEPTH,
};
use crate::key::{KeyError, Kid};
use crate::spiffe::SpiffeId;
use crate::store::{TrustStore, TrustedKey};
use crate::Refusal;

/// The JWT header's `typ`.
pub const TOKEN_TYP: &str = "JWT";
/// Default bound on a token's length (`max_token_len`).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// keywardd's default accepted audiences.
pub const DEFAULT_AUDIENCES: [&str; 2] = ["keyward", "parsec"];
/// Longest audience value issued or accepted, in bytes.
pub const MAX_AUDIENCE_LEN: usize = 255;
/// Longest `jti` accepted, in bytes (ours are 22).
pub const MAX_JTI_LEN: usize = 64;

/// A token's claims: exactly these, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenClaims {
    /// The workload's SPIFFE ID: the identity keywardd namespaces keys by.
    pub sub: SpiffeId,
    /// The audiences (ours carry exactly the requested one).
    pub aud: Vec<String>,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: u64,
    /// A random identifier.
    pub jti: String,
}

/// What verification accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// Accepted audiences (`audiences`; a token must name one of them).
    pub audiences: Vec<String>,
    /// Clock leeway on `iat`, `exp` and the intermediate's notAfter (`leeway_secs`).
    pub leeway: Duration,
    /// Longest token accepted, in bytes (`max_token_len`).
    pub max_token_len: usize,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy {
            audiences: DEFAULT_AUDIENCES.iter().map(|a| (*a).to_owned()).collect(),
            leeway: crate::cert::DEFAULT_LEEWAY,
            max_token_len: MAX_TOKEN_LEN,
        }
    }
}

/// Why a token could not be issued or was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Envelope(#[from] JwsError),
    #[error("the claims are not exactly {{sub, aud, iat, exp, jti}} with valid values")]
    Claims(#[source] jsonwebtoken::errors::Error),
    #[error("the token's signature or format was refused by jsonwebtoken")]
    Jwt(#[source] jsonwebtoken::errors::Error),
    #[error("the token is for none of the accepted audiences")]
    WrongAudience,
    #[error("the token expired at {exp}")]
    Expired { exp: u64 },
    #[error("the token is issued in the future ({iat})")]
    IssuedInFuture { iat: u64 },
    #[error("the token expires ({exp}) no later than it was issued ({iat})")]
    BadTimes { iat: u64, exp: u64 },
    #[error("the token expires ({exp}) after its intermediate ({not_after})")]
    OutlivesIntermediate { exp: u64, not_after: u64 },
    #[error("sub {0} names a trust domain, not a workload")]
    NotWorkloadId(SpiffeId),
    #[error("jti is empty, longer than {MAX_JTI_LEN} bytes or not printable ASCII")]
    BadJti,
    #[error("audience {0:?} must be 1-{MAX_AUDIENCE_LEN} printable ASCII bytes")]
    BadAudience(String),
    #[error("the lifetime must be at least one second")]
    BadLifetime,
    #[error("the signing intermediate has expired")]
    IntermediateExpired,
    #[error("signing the token failed")]
    Sign(#[source] KeyError),
}

impl TokenError {
    /// The wire refusal. keywardd answers `AuthenticationError` for every refusal anyway; the
    /// distinction matters for logs and for the IdP (which never issues a refused token).
    pub fn refusal(&self) -> Refusal {
        match self {
            TokenError::Envelope(JwsError::UnknownKey(_) | JwsError::KeyExpired(_))
            | TokenError::IntermediateExpired => Refusal::StaleIntermediate,
            TokenError::Sign(_) => Refusal::Internal,
            _ => Refusal::TrustVerificationFailed,
        }
    }
}

/// A token just issued, with its claims (for the IdP's cache: refresh when a third of the
/// lifetime remains). The token string is a bearer credential: wiped on drop, never logged.
pub struct IssuedToken {
    token: Zeroizing<String>,
    claims: TokenClaims,
    kid: Kid,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("claims", &self.claims)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl IssuedToken {
    /// The compact JWT.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Its claims.
    pub fn claims(&self) -> &TokenClaims {
        &self.claims
    }

    /// The signing intermediate's kid.
    pub fn kid(&self) -> &Kid {
        &self.kid
    }

    /// When it expires.
    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.claims.exp)
    }
}

/// A token that passed [`verify_token`]; only verification makes one.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    claims: TokenClaims,
    key: TrustedKey,
}

impl VerifiedToken {
    /// The verified claims.
    pub fn claims(&self) -> &TokenClaims {
        &self.claims
    }

    /// The identity: `sub`.
    pub fn spiffe_id(&self) -> &SpiffeId {
        &self.claims.sub
    }

    /// When it expires (a cached verification must be dropped then).
    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.claims.exp)
    }

    /// The kid that verified it.
    pub fn kid(&self) -> &Kid {
        &self.key.kid
    }

    /// The trust store's epoch when the key was read: cache the result under this epoch.
    pub fn epoch(&self) -> u64 {
        self.key.epoch
    }
}

/// Seconds since the Unix epoch, rounded down (0 before it).
pub(crate) fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn printable(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
}

fn valid_audience(audience: &str) -> bool {
    !audience.is_empty() && audience.len() <= MAX_AUDIENCE_LEN && printable(audience)
}

/// Issues a token for `sub` and `audience`, valid from `now` for `lifetime` but never past the
/// intermediate's notAfter.
pub fn issue_token(
    intermediate: &SigningIntermediate,
    sub: &SpiffeId,
    audience: &str,
    lifetime: Duration,
    now: SystemTime,
) -> Result<IssuedToken, TokenError> {
    if !sub.is_workload() {
        return Err(TokenError::NotWorkloadId(sub.clone()));
    }
    if !valid_audience(audience) {
        return Err(TokenError::BadAudience(audience.to_owned()));
    }
    if lifetime < Duration::from_secs(1) {
        return Err(TokenError::BadLifetime);
    }
    let iat = unix_secs(now);
    let exp = iat
        .saturating_add(lifetime.as_secs())
        .min(unix_secs(intermediate.not_after()));
    if exp <= iat {
        return Err(TokenError::IntermediateExpired);
    }
    let mut jti = [0u8; 16];
    aws_lc_rs::rand::fill(&mut jti).map_err(|e| TokenError::Sign(KeyError::Sign(e)))?;
    let claims = TokenClaims {
        sub: sub.clone(),
        aud: vec![audience.to_owned()],
        iat,
        exp,
        jti: URL_SAFE_NO_PAD.encode(jti),
    };
    // A struct of strings and integers always serialises.
    let payload = Zeroizing::new(serde_json::to_vec(&claims).unwrap_or_default());
    let token = sign_jws(intermediate.key(), TOKEN_TYP, &payload).map_err(TokenError::Sign)?;
    Ok(IssuedToken {
        token: Zeroizing::new(token),
        claims,
        kid: intermediate.kid().clone(),
    })
}

/// Verifies a token against the trust store's current intermediate at `now`.
pub fn verify_token<S: TrustStore + ?Sized>(
    store: &S,
    token: &[u8],
    policy: &TokenPolicy,
    now: SystemTime,
) -> Result<VerifiedToken, TokenError> {
    let limits = JwsLimits {
        max_len: policy.max_token_len,
        max_depth: MAX_JSON_DEPTH,
        leeway: policy.leeway,
    };
    let envelope = open_envelope(store, token, TOKEN_TYP, &limits, now)?;
    install_crypto_provider();

    let mut validation = Validation::new(Algorithm::ES256);
    // Time is checked below against `now`; jsonwebtoken would read the system clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = true;
    validation.set_audience(&policy.audiences);
    validation.required_spec_claims = ["exp", "sub", "aud"]
        .map(String::from)
        .into_iter()
        .collect::<HashSet<_>>();
    validation.leeway = policy.leeway.as_secs();
    let key = DecodingKey::from_ec_der(&envelope.key.spki_der);
    let decoded = jsonwebtoken::decode::<TokenClaims>(envelope.compact, &key, &validation)
        .map_err(|err| match err.kind() {
            ErrorKind::InvalidSignature => TokenError::Envelope(JwsError::BadSignature),
            ErrorKind::InvalidAudience => TokenError::WrongAudience,
            ErrorKind::Json(_)
            | ErrorKind::MissingRequiredClaim(_)
            | ErrorKind::InvalidClaimFormat(_) => TokenError::Claims(err),
            _ => TokenError::Jwt(err),
        })?;
    let claims = decoded.claims;

    if !claims.aud.iter().any(|aud| policy.audiences.contains(aud)) {
        return Err(TokenError::WrongAudience);
    }
    if !claims.sub.is_workload() {
        return Err(TokenError::NotWorkloadId(claims.sub));
    }
    if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN || !printable(&claims.jti) {
        return Err(TokenError::BadJti);
    }
    let leeway = policy.leeway.as_secs();
    let now = unix_secs(now);
    if claims.exp <= claims.iat {
        return Err(TokenError::BadTimes {
            iat: claims.iat,
            exp: claims.exp,
        });
    }
    if claims.iat > now.saturating_add(leeway) {
        return Err(TokenError::IssuedInFuture { iat: claims.iat });
    }
    if now > claims.exp.saturating_add(leeway) {
        return Err(TokenError::Expired { exp: claims.exp });
    }
    let not_after = unix_secs(envelope.key.not_after);
    if claims.exp > not_after {
        return Err(TokenError::OutlivesIntermediate {
            exp: claims.exp,
            not_after,
        });
    }
    Ok(VerifiedToken {
        claims,
        key: envelope.key,
    })
}

#[cfg(test)]
mod tests;
