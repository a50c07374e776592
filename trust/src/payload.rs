//! Trusted payloads, orchestrator → IdP (`docs/identity.md`, "Trusted payloads"): the client
//! **definition** (AddClient), **proof** (ProveClient) and **removal** (RemoveClient), each a
//! compact JWS of its own `typ`, version `v: 1`, parsed strictly (`deny_unknown_fields`: an
//! unknown selector is refused, not ignored) into types that cannot hold an invalid value
//! (client ids, SPIFFE IDs, absolute paths, lowercase SHA-256 hex are checked while parsing).
//!
//! [`verify_definition`], [`verify_proof`] and [`verify_removal`] are the only way from bytes
//! to a [`Verified`] payload: envelope checks and signature first, then the schema, then
//! freshness (`iat` within `max_payload_age` of now) and, for definitions, the identity rules
//! (trust domain membership, optional allow-list).

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::jws::{sign_jws, verify_jws, JwsError, JwsLimits, VerifiedJws};
use crate::key::{InMemoryKey, KeyError};
use crate::spiffe::{SpiffeId, TrustDomain};
use crate::store::{TrustStore, TrustedKey};
use crate::token::unix_secs;
use crate::Refusal;

/// `typ` of a client definition.
pub const DEFINITION_TYP: &str = "keyward-definition+jws";
/// `typ` of a client proof.
pub const PROOF_TYP: &str = "keyward-proof+jws";
/// `typ` of a client removal.
pub const REMOVAL_TYP: &str = "keyward-removal+jws";
/// Default bound on a payload's age (`trust.max_payload_age_secs`).
pub const DEFAULT_MAX_PAYLOAD_AGE: Duration = Duration::from_secs(60);
/// Longest client id.
pub const MAX_CLIENT_ID_LEN: usize = 64;
/// Longest executable or cgroup path (Linux `PATH_MAX`).
pub const MAX_PATH_LEN: usize = 4096;

/// Why a payload was refused (or could not be signed).
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error(transparent)]
    Envelope(#[from] JwsError),
    #[error("the payload does not match its schema")]
    Schema(#[source] serde_json::Error),
    #[error("{field} must be a real id (not {value})")]
    BadId { field: &'static str, value: u64 },
    #[error("the payload was signed at {iat}, more than {max_age:?} before {now}")]
    Stale {
        iat: u64,
        now: u64,
        max_age: Duration,
    },
    #[error("the payload claims to be signed at {iat}, more than {max_age:?} after {now}")]
    FromFuture {
        iat: u64,
        now: u64,
        max_age: Duration,
    },
    #[error("{id} is not in trust domain {trust_domain}")]
    ForeignTrustDomain {
        id: SpiffeId,
        trust_domain: TrustDomain,
    },
    #[error("{0} is not among the orchestrator's allowed identities")]
    NotAllowed(SpiffeId),
    #[error("{0} names a trust domain, not a workload")]
    NotWorkloadId(SpiffeId),
    #[error("signing the payload failed")]
    Sign(#[source] KeyError),
}

impl PayloadError {
    /// The wire refusal: envelope problems as [`JwsError::refusal`], everything about the
    /// payload itself `InvalidPayload`.
    pub fn refusal(&self) -> Refusal {
        match self {
            PayloadError::Envelope(err) => err.refusal(),
            PayloadError::Sign(_) => Refusal::Internal,
            _ => Refusal::InvalidPayload,
        }
    }
}

/// The schema version: only `1` exists (serialises as `1`; anything else is refused).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct V1;

impl Serialize for V1 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(1)
    }
}

impl<'de> Deserialize<'de> for V1 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u64::deserialize(deserializer)? {
            1 => Ok(V1),
            other => Err(serde::de::Error::custom(format!(
                "unsupported payload version {other}; this build knows version 1"
            ))),
        }
    }
}

/// Defines a string newtype validated on construction and on deserialisation.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `value`.
            pub fn new(value: &str) -> Result<Self, InvalidField> {
                $check(value)?;
                Ok($name(value.to_owned()))
            }

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidField;
            fn try_from(value: String) -> Result<Self, InvalidField> {
                $check(&value)?;
                Ok($name(value))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// Why a field value is invalid (reported inside [`PayloadError::Schema`] when parsing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidField {
    #[error("client id must be 1-{MAX_CLIENT_ID_LEN} of [A-Za-z0-9._-]")]
    ClientId,
    #[error("path must be absolute, at most {MAX_PATH_LEN} bytes, without NUL, empty, '.' or '..' segments")]
    Path,
    #[error("exe_sha256 must be 64 lowercase hex digits")]
    Sha256,
}

fn check_client_id(value: &str) -> Result<(), InvalidField> {
    let valid = !value.is_empty()
        && value.len() <= MAX_CLIENT_ID_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    valid.then_some(()).ok_or(InvalidField::ClientId)
}

/// Absolute and normalised (what the kernel reports for `/proc/<pid>/exe` and cgroups): the
/// IdP compares these as strings, so `/usr/bin/../bin/app` must not pass for another path.
/// `/` alone is allowed (the root cgroup).
fn check_path(value: &str) -> Result<(), InvalidField> {
    let Some(rest) = value.strip_prefix('/') else {
        return Err(InvalidField::Path);
    };
    if value.len() > MAX_PATH_LEN || value.contains('\0') {
        return Err(InvalidField::Path);
    }
    if rest.is_empty() {
        return Ok(());
    }
    let normal = rest
        .split('/')
        .all(|segment| !matches!(segment, "" | "." | ".."));
    normal.then_some(()).ok_or(InvalidField::Path)
}

fn check_sha256(value: &str) -> Result<(), InvalidField> {
    let valid = value.len() == 64
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    valid.then_some(()).ok_or(InvalidField::Sha256)
}

checked_string!(
    /// A client id: 1-64 of `[A-Za-z0-9._-]`.
    ClientId,
    check_client_id
);
checked_string!(
    /// An absolute, normalised path (executable or cgroup).
    AbsolutePath,
    check_path
);
checked_string!(
    /// A SHA-256 digest as 64 lowercase hex digits.
    Sha256Hex,
    check_sha256
);

impl Sha256Hex {
    /// The hex form of a digest.
    pub fn from_digest(digest: &[u8; 32]) -> Self {
        Sha256Hex(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// A definition's selectors, and a proof's measurements: `uid`, `gid`, `exe_path`,
/// `exe_sha256` required, `cgroup` optional, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selectors {
    pub uid: u32,
    pub gid: u32,
    pub exe_path: AbsolutePath,
    pub exe_sha256: Sha256Hex,
    /// Absent when not selected; `null` is refused (one representation of "absent").
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub cgroup: Option<AbsolutePath>,
}

/// An optional field that, when present, must hold a value (serde's `Option` takes `null`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A client definition (AddClient).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub v: V1,
    pub client: ClientId,
    pub spiffe_id: SpiffeId,
    pub selectors: Selectors,
    pub iat: u64,
}

/// A client proof (ProveClient): a running instance and what was measured of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    pub v: V1,
    pub client: ClientId,
    /// The PID as the host sees it.
    pub pid: u32,
    /// Field 22 of `/proc/<pid>/stat` (clock ticks since boot).
    pub start_time: u64,
    pub measured: Selectors,
    pub iat: u64,
}

/// A client removal (RemoveClient).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Removal {
    pub v: V1,
    pub client: ClientId,
    pub iat: u64,
}

/// A payload type: its JWS `typ`, its `iat`, and the value rules serde cannot express.
pub trait SignedPayload: Serialize + DeserializeOwned + sealed::Sealed {
    /// The JWS `typ` it travels under.
    const TYP: &'static str;
    /// Its `iat`.
    fn iat(&self) -> u64;
    /// Rules beyond the schema.
    fn check(&self) -> Result<(), PayloadError>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Definition {}
    impl Sealed for super::Proof {}
    impl Sealed for super::Removal {}
}

/// `u32::MAX` is `(uid_t)-1`, "no change" to the kernel, never a real id.
fn check_ids(selectors: &Selectors) -> Result<(), PayloadError> {
    for (field, value) in [("uid", selectors.uid), ("gid", selectors.gid)] {
        if value == u32::MAX {
            return Err(PayloadError::BadId {
                field,
                value: value.into(),
            });
        }
    }
    Ok(())
}

impl SignedPayload for Definition {
    const TYP: &'static str = DEFINITION_TYP;
    fn iat(&self) -> u64 {
        self.iat
    }
    fn check(&self) -> Result<(), PayloadError> {
        if !self.spiffe_id.is_workload() {
            return Err(PayloadError::NotWorkloadId(self.spiffe_id.clone()));
        }
        check_ids(&self.selectors)
    }
}

impl SignedPayload for Proof {
    const TYP: &'static str = PROOF_TYP;
    fn iat(&self) -> u64 {
        self.iat
    }
    fn check(&self) -> Result<(), PayloadError> {
        // PID 0 is the scheduler; Linux PIDs are positive and at most 2^22.
        if self.pid == 0 || self.pid > i32::MAX as u32 {
            return Err(PayloadError::BadId {
                field: "pid",
                value: self.pid.into(),
            });
        }
        check_ids(&self.measured)
    }
}

impl SignedPayload for Removal {
    const TYP: &'static str = REMOVAL_TYP;
    fn iat(&self) -> u64 {
        self.iat
    }
    fn check(&self) -> Result<(), PayloadError> {
        Ok(())
    }
}

/// Limits of payload verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadPolicy {
    /// Size, nesting and key-expiry leeway of the envelope.
    pub limits: JwsLimits,
    /// How far `iat` may be from now, either way (`trust.max_payload_age_secs`).
    pub max_age: Duration,
}

impl Default for PayloadPolicy {
    fn default() -> Self {
        PayloadPolicy {
            limits: JwsLimits::default(),
            max_age: DEFAULT_MAX_PAYLOAD_AGE,
        }
    }
}

/// Which identities a definition may name: the IdP's trust domain, and optionally the
/// orchestrator's allow-list (`allowed_identities`: SPIFFE IDs; an ID is allowed when it equals
/// one or lies below it by whole segments; empty = the whole trust domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityPolicy {
    pub trust_domain: TrustDomain,
    pub allowed_identities: Vec<SpiffeId>,
}

impl IdentityPolicy {
    /// Checks one identity.
    pub fn check(&self, id: &SpiffeId) -> Result<(), PayloadError> {
        if !id.is_member_of(&self.trust_domain) {
            return Err(PayloadError::ForeignTrustDomain {
                id: id.clone(),
                trust_domain: self.trust_domain.clone(),
            });
        }
        if !self.allowed_identities.is_empty()
            && !self
                .allowed_identities
                .iter()
                .any(|prefix| id.is_under(prefix))
        {
            return Err(PayloadError::NotAllowed(id.clone()));
        }
        Ok(())
    }
}

/// A payload that verified: signed by the current intermediate, valid, fresh.
#[derive(Debug, Clone)]
pub struct Verified<P> {
    payload: P,
    key: TrustedKey,
}

impl<P> Verified<P> {
    /// The payload.
    pub fn payload(&self) -> &P {
        &self.payload
    }

    /// The payload, by value.
    pub fn into_payload(self) -> P {
        self.payload
    }

    /// The key that verified it.
    pub fn key(&self) -> &TrustedKey {
        &self.key
    }
}

/// Signs a payload as a compact JWS of its `typ` (after checking it, so the orchestrator never
/// signs what the IdP would refuse for its content).
pub fn sign_payload<P: SignedPayload>(
    key: &InMemoryKey,
    payload: &P,
) -> Result<String, PayloadError> {
    payload.check()?;
    let json = serde_json::to_vec(payload).map_err(PayloadError::Schema)?;
    sign_jws(key, P::TYP, &json).map_err(PayloadError::Sign)
}

fn check_fresh(iat: u64, now: SystemTime, max_age: Duration) -> Result<(), PayloadError> {
    let now = unix_secs(now);
    let max = max_age.as_secs();
    if iat.saturating_add(max) < now {
        return Err(PayloadError::Stale { iat, now, max_age });
    }
    if iat > now.saturating_add(max) {
        return Err(PayloadError::FromFuture { iat, now, max_age });
    }
    Ok(())
}

fn verify_payload<P: SignedPayload, S: TrustStore + ?Sized>(
    store: &S,
    jws: &[u8],
    policy: &PayloadPolicy,
    now: SystemTime,
) -> Result<Verified<P>, PayloadError> {
    let verified: VerifiedJws = verify_jws(store, jws, P::TYP, &policy.limits, now)?;
    let payload: P = serde_json::from_slice(verified.payload()).map_err(PayloadError::Schema)?;
    payload.check()?;
    check_fresh(payload.iat(), now, policy.max_age)?;
    Ok(Verified {
        payload,
        key: verified.key().clone(),
    })
}

/// Verifies an AddClient payload, including its identity against `identity`.
pub fn verify_definition<S: TrustStore + ?Sized>(
    store: &S,
    jws: &[u8],
    policy: &PayloadPolicy,
    identity: &IdentityPolicy,
    now: SystemTime,
) -> Result<Verified<Definition>, PayloadError> {
    let verified = verify_payload::<Definition, S>(store, jws, policy, now)?;
    identity.check(&verified.payload.spiffe_id)?;
    Ok(verified)
}

/// Verifies a ProveClient payload.
pub fn verify_proof<S: TrustStore + ?Sized>(
    store: &S,
    jws: &[u8],
    policy: &PayloadPolicy,
    now: SystemTime,
) -> Result<Verified<Proof>, PayloadError> {
    verify_payload(store, jws, policy, now)
}

/// Verifies a RemoveClient payload.
pub fn verify_removal<S: TrustStore + ?Sized>(
    store: &S,
    jws: &[u8],
    policy: &PayloadPolicy,
    now: SystemTime,
) -> Result<Verified<Removal>, PayloadError> {
    verify_payload(store, jws, policy, now)
}

#[cfg(test)]
mod tests;
