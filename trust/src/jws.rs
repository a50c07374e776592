//! Compact JWS with ES256, the envelope of trusted payloads and tokens.
//!
//! The header is exactly `{"alg":"ES256","kid":<kid>,"typ":<typ>}`: any other member (`crit`,
//! `jwk`, `x5c`, `b64`…), a duplicate, or another `alg` (`none`, `HS256` signed with the public
//! key, `RS256`…) is refused before any key is looked up, so algorithm confusion has nothing to
//! work with. The kid selects the trust store's current key; an unknown or superseded kid is
//! refused without trying anything else. Sizes and JSON nesting are bounded before parsing.
//!
//! Signing uses aws-lc-rs directly (`jsonwebtoken` signs only with keys it can read as PKCS#8,
//! and an [`InMemoryKey`] is never exported); verification goes through `jsonwebtoken`'s
//! aws-lc-rs backend. Neither does signature math of its own.

use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::{Deserialize, Serialize};

use crate::json::nesting_depth;
use crate::key::{InMemoryKey, KeyError, Kid};
use crate::store::{TrustStore, TrustedKey};
use crate::Refusal;

/// The only signature algorithm accepted.
pub const ES256: &str = "ES256";
/// Default bound on a signed payload (compact form, bytes).
pub const MAX_PAYLOAD_JWS_LEN: usize = 16 * 1024;
/// Default bound on JSON nesting (`{"a":{}}` is 2).
pub const MAX_JSON_DEPTH: usize = 8;

/// The whole protected header; nothing else is allowed in it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JoseHeader {
    pub(crate) alg: String,
    pub(crate) kid: String,
    pub(crate) typ: String,
}

/// Limits of JWS verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwsLimits {
    /// Longest compact JWS accepted, in bytes.
    pub max_len: usize,
    /// Deepest JSON nesting accepted in the payload.
    pub max_depth: usize,
    /// Clock leeway on the signing key's notAfter.
    pub leeway: Duration,
}

impl Default for JwsLimits {
    fn default() -> Self {
        JwsLimits {
            max_len: MAX_PAYLOAD_JWS_LEN,
            max_depth: MAX_JSON_DEPTH,
            leeway: crate::cert::DEFAULT_LEEWAY,
        }
    }
}

/// Why a JWS was refused.
#[derive(Debug, thiserror::Error)]
pub enum JwsError {
    #[error("the JWS is {len} bytes; at most {max} are accepted")]
    TooLarge { len: usize, max: usize },
    #[error("not a compact JWS: {0}")]
    Malformed(&'static str),
    #[error("the JWS header is not exactly {{alg, kid, typ}}")]
    Header(#[source] serde_json::Error),
    #[error("algorithm {0:?} is refused; only ES256 is accepted")]
    Algorithm(String),
    #[error("typ {found:?} where {expected:?} is expected")]
    Type {
        expected: &'static str,
        found: String,
    },
    #[error("kid {0:?} is not the current intermediate (unknown or superseded)")]
    UnknownKey(String),
    #[error("the signing intermediate {0} has expired")]
    KeyExpired(Kid),
    #[error("the payload nests deeper than {max}")]
    TooDeep { max: usize },
    #[error("the signature does not verify")]
    BadSignature,
}

impl JwsError {
    /// The wire refusal for a JWS carrying a trusted payload (`docs/identity.md`: oversized or
    /// too deep → `InvalidPayload`; unknown or superseded kid → `StaleIntermediate`; everything
    /// else about the envelope → `TrustVerificationFailed`).
    pub fn refusal(&self) -> Refusal {
        match self {
            JwsError::TooLarge { .. } | JwsError::TooDeep { .. } => Refusal::InvalidPayload,
            JwsError::UnknownKey(_) | JwsError::KeyExpired(_) => Refusal::StaleIntermediate,
            JwsError::Malformed(_)
            | JwsError::Header(_)
            | JwsError::Algorithm(_)
            | JwsError::Type { .. }
            | JwsError::BadSignature => Refusal::TrustVerificationFailed,
        }
    }
}

/// A JWS whose signature verified with the trust store's current key.
#[derive(Debug)]
pub struct VerifiedJws {
    payload: Vec<u8>,
    key: TrustedKey,
}

impl VerifiedJws {
    /// The payload bytes (JSON, not yet parsed).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The key that verified it (kid, notAfter, the store epoch it was read at).
    pub fn key(&self) -> &TrustedKey {
        &self.key
    }
}

/// Signs `payload` as a compact JWS with header `{"alg":"ES256","kid":<key's kid>,"typ":typ}`.
pub fn sign_jws(key: &InMemoryKey, typ: &str, payload: &[u8]) -> Result<String, KeyError> {
    let header = JoseHeader {
        alg: ES256.to_owned(),
        kid: key.kid().as_str().to_owned(),
        typ: typ.to_owned(),
    };
    // Serialising three strings cannot fail.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let mut compact = URL_SAFE_NO_PAD.encode(header);
    compact.push('.');
    compact.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let signature = key.sign(compact.as_bytes())?;
    compact.push('.');
    compact.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(compact)
}

/// The parts of a compact JWS that passed the structural checks (no signature check yet).
pub(crate) struct Envelope<'a> {
    pub(crate) compact: &'a str,
    pub(crate) signing_input: &'a str,
    pub(crate) signature: &'a str,
    pub(crate) payload: Vec<u8>,
    pub(crate) key: TrustedKey,
}

/// Size, shape, strict header (alg ES256, expected typ), current kid, key not expired,
/// payload nesting. Everything before the signature, in order of cost.
pub(crate) fn open_envelope<'a, S: TrustStore + ?Sized>(
    store: &S,
    compact: &'a [u8],
    typ: &'static str,
    limits: &JwsLimits,
    now: SystemTime,
) -> Result<Envelope<'a>, JwsError> {
    if compact.len() > limits.max_len {
        return Err(JwsError::TooLarge {
            len: compact.len(),
            max: limits.max_len,
        });
    }
    let compact = std::str::from_utf8(compact).map_err(|_| JwsError::Malformed("not ASCII"))?;
    let mut parts = compact.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed("not three dot-separated parts"));
    };
    let signing_input = &compact[..header.len() + 1 + payload.len()];
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| JwsError::Malformed("the header is not base64url"))?;
    if nesting_depth(&header, 1) > 1 {
        return Err(JwsError::Malformed("the header nests"));
    }
    let header: JoseHeader = serde_json::from_slice(&header).map_err(JwsError::Header)?;
    if header.alg != ES256 {
        return Err(JwsError::Algorithm(header.alg));
    }
    if header.typ != typ {
        return Err(JwsError::Type {
            expected: typ,
            found: header.typ,
        });
    }
    let key = store
        .verifying_key(&header.kid)
        .ok_or(JwsError::UnknownKey(header.kid))?;
    if now > key.not_after + limits.leeway {
        return Err(JwsError::KeyExpired(key.kid));
    }
    // ES256 signatures are raw r || s: exactly 64 bytes in canonical base64url.
    match URL_SAFE_NO_PAD.decode(signature) {
        Ok(raw) if raw.len() == 64 => {}
        _ => {
            return Err(JwsError::Malformed(
                "the signature is not 64 bytes of base64url",
            ))
        }
    }
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| JwsError::Malformed("the payload is not base64url"))?;
    if nesting_depth(&payload, limits.max_depth) > limits.max_depth {
        return Err(JwsError::TooDeep {
            max: limits.max_depth,
        });
    }
    Ok(Envelope {
        compact,
        signing_input,
        signature,
        payload,
        key,
    })
}

/// Selects jsonwebtoken's aws-lc-rs backend explicitly. jsonwebtoken picks its process-wide
/// backend from its cargo features and panics on use when it cannot (both backends enabled by
/// feature unification); installing ours first makes that impossible. If someone installed a
/// provider before us, theirs stays: both built-in providers verify ES256 correctly.
pub(crate) fn install_crypto_provider() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = CryptoProvider::install_default(&jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER);
    });
}

/// Verifies a compact JWS of type `typ` against the trust store's current key at `now`.
pub fn verify_jws<S: TrustStore + ?Sized>(
    store: &S,
    compact: &[u8],
    typ: &'static str,
    limits: &JwsLimits,
    now: SystemTime,
) -> Result<VerifiedJws, JwsError> {
    let envelope = open_envelope(store, compact, typ, limits, now)?;
    install_crypto_provider();
    let key = DecodingKey::from_ec_der(&envelope.key.spki_der);
    let valid = jsonwebtoken::crypto::verify(
        envelope.signature,
        envelope.signing_input.as_bytes(),
        &key,
        Algorithm::ES256,
    )
    .map_err(|_| JwsError::BadSignature)?;
    if !valid {
        return Err(JwsError::BadSignature);
    }
    Ok(VerifiedJws {
        payload: envelope.payload,
        key: envelope.key,
    })
}

#[cfg(test)]
mod tests;
