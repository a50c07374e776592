//! Root and intermediate certificates, built and verified exactly as `docs/identity.md`
//! specifies.
//!
//! **Root** (self-signed through the component's key in keywardd): subject
//! `CN=<component> root, O=Keyward`, `basicConstraints CA:true, pathLen:0` critical,
//! `keyUsage keyCertSign` critical, subject key id = SHA-1 of the public key (RFC 5280 §4.2.1.2
//! method 1), valid from `now − 60 s` for 10 years, random serial.
//!
//! **Intermediate** (a fresh [`InMemoryKey`], signed by the root): subject
//! `CN=<component> intermediate <kid>`, issuer = the root's subject, `basicConstraints CA:true,
//! pathLen:0` critical, `keyUsage digitalSignature` critical, authority key id = the root's
//! subject key id (plus its own subject key id, which RFC 5280 requires of CA certificates),
//! valid `now − 60 s` … `now + 2 × rotation period` (never past the root's notAfter), random
//! 16-byte serial.
//!
//! Certificates are assembled from `x509-cert`'s types and encoded by `der`; signatures come
//! from a [`CertSigner`] (or, in two steps, from whatever signs [`UnsignedCertificate::sha256_digest`])
//! as raw `r || s`, converted here to the DER `ECDSA-Sig-Value` X.509 carries. (The
//! `x509-cert` builder wants a local `signature::Signer`, which a key inside keywardd is not.)
//!
//! **Verification** of an intermediate against a pinned root ([`verify_intermediate`]) checks
//! size, strict DER, signature (aws-lc-rs, ECDSA P-256 SHA-256 over the exact TBS bytes), issuer
//! = root subject, authority key id, validity window (± leeway), CA flag, pathLen 0, keyUsage
//! digitalSignature, the extensions' criticality and that the key is P-256. Each refusal is its
//! own [`CertError`] variant.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ParsedPublicKey, ECDSA_P256_SHA256_ASN1};
use const_oid::{AssociatedOid, ObjectIdentifier};
use der::asn1::{
    Any, BitString, GeneralizedTime, OctetString, SetOfVec, UintRef, UtcTime, Utf8StringRef,
};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

use crate::key::{CertSigner, InMemoryKey, KeyError, Kid};

/// Certificates larger than this are refused before parsing.
pub const MAX_CERTIFICATE_LEN: usize = 8 * 1024;
/// Default clock leeway for validity checks.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(5);
/// How long a root certificate is valid (10 years).
pub const ROOT_VALIDITY: Duration = Duration::from_secs(3652 * 24 * 3600);
/// How far notBefore is set back, so a verifier whose clock is a little behind accepts it.
pub const BACKDATE: Duration = Duration::from_secs(60);
/// The longest rotation period an intermediate may be issued for (its validity is twice this).
pub const MAX_ROTATION: Duration = Duration::from_secs(24 * 3600);
/// Length of the longest component name.
pub const MAX_COMPONENT_LEN: usize = 32;

const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const ORGANIZATION_NAME: &str = "Keyward";

/// Limits of certificate verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertPolicy {
    /// Clock leeway on both ends of a validity window (`trust.leeway_secs`).
    pub leeway: Duration,
    /// Longest certificate accepted, in bytes.
    pub max_len: usize,
}

impl Default for CertPolicy {
    fn default() -> Self {
        CertPolicy {
            leeway: DEFAULT_LEEWAY,
            max_len: MAX_CERTIFICATE_LEN,
        }
    }
}

/// Why a certificate was refused. Every refusal has its own variant; [`CertError::is_stale`]
/// tells the one that maps to `StaleIntermediate` (an expired intermediate) from the rest
/// (`TrustVerificationFailed`).
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("the certificate is {len} bytes; at most {max} are accepted")]
    TooLarge { len: usize, max: usize },
    #[error("the certificate does not parse as DER X.509")]
    Malformed(#[source] der::Error),
    #[error("the certificate is not in canonical DER")]
    NotCanonical,
    #[error("the certificate is not X.509 v3")]
    NotV3,
    #[error(
        "the signature algorithm is not ecdsa-with-SHA256 (or differs inside and outside the TBS)"
    )]
    SignatureAlgorithm,
    #[error("the public key is not an ECDSA P-256 key")]
    UnsupportedKey,
    #[error("the issuer is not the pinned root's subject")]
    IssuerMismatch,
    #[error("the authority key id is not the pinned root's subject key id")]
    AuthorityKeyIdMismatch,
    #[error("the signature does not verify with the pinned root's key")]
    BadSignature,
    #[error("the certificate is not valid before {not_before:?}")]
    NotYetValid { not_before: SystemTime },
    #[error("the certificate expired at {not_after:?}")]
    Expired { not_after: SystemTime },
    #[error("extension {0} appears twice")]
    DuplicateExtension(ObjectIdentifier),
    #[error("extension {0} is critical and not understood")]
    UnknownCriticalExtension(ObjectIdentifier),
    #[error("extension {oid} does not parse")]
    MalformedExtension {
        oid: ObjectIdentifier,
        #[source]
        source: der::Error,
    },
    #[error("basicConstraints is missing or not CA:true")]
    NotCa,
    #[error("basicConstraints is not critical")]
    BasicConstraintsNotCritical,
    #[error("pathLenConstraint is {0:?}; an intermediate must have pathLen 0")]
    PathLen(Option<u8>),
    #[error("keyUsage is missing or lacks digitalSignature")]
    KeyUsage,
    #[error("keyUsage is not critical")]
    KeyUsageNotCritical,
    #[error("a root's keyUsage must include keyCertSign")]
    RootKeyUsage,
}

impl CertError {
    /// True for the refusal that means "expired" (status `StaleIntermediate`); every other one
    /// is `TrustVerificationFailed`.
    pub fn is_stale(&self) -> bool {
        matches!(self, CertError::Expired { .. })
    }
}

/// Why a certificate could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("component name {0:?} must be 1-32 of [a-z0-9-], starting with a letter")]
    ComponentName(String),
    #[error("the signer's public key is not usable")]
    SignerKey(#[source] CertError),
    #[error("the signer's key is not the root certificate's key")]
    SignerIsNotRoot,
    #[error("rotation period {0:?} must be between 1 s and {MAX_ROTATION:?}")]
    Rotation(Duration),
    #[error("the time is outside what a certificate can express")]
    Time(#[source] der::Error),
    #[error("encoding the certificate failed")]
    Encode(#[source] der::Error),
    #[error("generating the intermediate key failed")]
    Key(#[source] KeyError),
    #[error("the signer failed")]
    Signer(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the signature is {0} bytes; raw ECDSA P-256 r||s is 64")]
    SignatureLength(usize),
    #[error("the signature does not verify with the issuer's key")]
    SignatureDoesNotVerify,
    #[error("the root expires before the intermediate would start")]
    RootExpired,
}

/// The name of the component whose certificates these are (`keyward-idp`,
/// `keyward-orchestrator`): 1-32 of `[a-z0-9-]`, starting with a letter, so it needs no
/// escaping anywhere a name is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentName(String);

impl ComponentName {
    /// Validates a component name.
    pub fn new(name: &str) -> Result<Self, BuildError> {
        let valid = !name.is_empty()
            && name.len() <= MAX_COMPONENT_LEN
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(ComponentName(name.to_owned()))
        } else {
            Err(BuildError::ComponentName(name.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A certificate whose TBS part is complete, waiting for its signature: sign
/// [`UnsignedCertificate::sha256_digest`] (ECDSA P-256, raw `r || s`), then
/// [`UnsignedCertificate::assemble`]. This is the form for signers that are not a
/// [`CertSigner`] (an async client of keywardd).
pub struct UnsignedCertificate {
    tbs: TbsCertificate,
    tbs_der: Vec<u8>,
    issuer_key: ParsedPublicKey,
}

impl fmt::Debug for UnsignedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnsignedCertificate")
            .field("tbs_len", &self.tbs_der.len())
            .finish_non_exhaustive()
    }
}

impl UnsignedCertificate {
    fn new(tbs: TbsCertificate, issuer_spki_der: &[u8]) -> Result<Self, BuildError> {
        let tbs_der = tbs.to_der().map_err(BuildError::Encode)?;
        let issuer_key = parse_p256_key(issuer_spki_der).map_err(BuildError::SignerKey)?;
        Ok(UnsignedCertificate {
            tbs,
            tbs_der,
            issuer_key,
        })
    }

    /// The DER `TBSCertificate` the signature covers.
    pub fn tbs_der(&self) -> &[u8] {
        &self.tbs_der
    }

    /// SHA-256 of [`UnsignedCertificate::tbs_der`]: what SignHash signs.
    pub fn sha256_digest(&self) -> [u8; 32] {
        sha256(&self.tbs_der)
    }

    /// Completes the certificate with a raw `r || s` signature over the digest. The signature
    /// is checked against the issuer's key first, so a signer that used the wrong key (or
    /// returned garbage) is caught here rather than by every verifier.
    pub fn assemble(self, raw_signature: &[u8]) -> Result<Vec<u8>, BuildError> {
        let der_signature = ecdsa_raw_to_der(raw_signature)?;
        self.issuer_key
            .verify_sig(&self.tbs_der, &der_signature)
            .map_err(|_| BuildError::SignatureDoesNotVerify)?;
        let certificate = Certificate {
            signature_algorithm: self.tbs.signature.clone(),
            tbs_certificate: self.tbs,
            signature: BitString::from_bytes(&der_signature).map_err(BuildError::Encode)?,
        };
        certificate.to_der().map_err(BuildError::Encode)
    }
}

/// The root certificate's TBS part for a root key (`root_spki_der`, P-256), valid from
/// `now − 60 s` for [`ROOT_VALIDITY`].
pub fn root_template(
    component: &ComponentName,
    root_spki_der: &[u8],
    now: SystemTime,
) -> Result<UnsignedCertificate, BuildError> {
    let spki = p256_spki(root_spki_der).map_err(BuildError::SignerKey)?;
    let subject = keyward_name(&format!("{} root", component.as_str()))?;
    let not_before = now.checked_sub(BACKDATE).unwrap_or(UNIX_EPOCH);
    let validity = validity(not_before, now + ROOT_VALIDITY)?;
    let extensions = vec![
        extension(&SubjectKeyIdentifier(key_id(&spki)?), false)?,
        extension(
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(0),
            },
            true,
        )?,
        extension(&KeyUsage(KeyUsages::KeyCertSign.into()), true)?,
    ];
    let tbs = tbs_certificate(subject.clone(), subject, validity, spki, extensions)?;
    UnsignedCertificate::new(tbs, root_spki_der)
}

/// Builds and signs the root certificate with `signer` (the root key): DER.
pub fn build_root<S: CertSigner + ?Sized>(
    component: &ComponentName,
    signer: &S,
    now: SystemTime,
) -> Result<Vec<u8>, BuildError> {
    let unsigned = root_template(component, &signer.public_key_spki(), now)?;
    let signature = signer
        .sign_sha256_digest(&unsigned.sha256_digest())
        .map_err(|e| BuildError::Signer(Box::new(e)))?;
    unsigned.assemble(&signature)
}

/// A root certificate accepted as a trust anchor (or built to issue from): what the store pins
/// and what intermediates are issued and verified against.
///
/// A root need not be self-signed (an organisation's CA may issue it), and its own validity is
/// not checked: an anchor is its public key and name (RFC 5280 §6.1.1). It must be a parseable
/// v3 certificate with a P-256 key, `basicConstraints CA:true`, `keyCertSign` if it has a
/// keyUsage, and no critical extension we do not understand.
#[derive(Clone)]
pub struct RootCertificate {
    der: Vec<u8>,
    subject: Name,
    spki_der: Vec<u8>,
    key: ParsedPublicKey,
    key_id: Vec<u8>,
    not_after: SystemTime,
}

impl fmt::Debug for RootCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RootCertificate")
            .field("subject", &self.subject.to_string())
            .field("kid", &Kid::of_spki(&self.spki_der))
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl RootCertificate {
    /// Parses and checks a root certificate.
    pub fn from_der(der: &[u8], policy: &CertPolicy) -> Result<Self, CertError> {
        let certificate = parse(der, policy)?;
        let tbs = &certificate.tbs_certificate;
        let key = parse_p256_spki(&tbs.subject_public_key_info)?;
        let extensions = Extensions::parse(tbs)?;
        match &extensions.basic_constraints {
            Some((_, bc)) if bc.ca => {}
            _ => return Err(CertError::NotCa),
        }
        if let Some((_, usage)) = &extensions.key_usage {
            if !usage.key_cert_sign() {
                return Err(CertError::RootKeyUsage);
            }
        }
        let key_id = match extensions.subject_key_id {
            Some(id) => id,
            None => key_id(&tbs.subject_public_key_info)
                .map_err(|_| CertError::UnsupportedKey)?
                .as_bytes()
                .to_vec(),
        };
        Ok(RootCertificate {
            der: der.to_vec(),
            subject: tbs.subject.clone(),
            spki_der: canonical_spki(&key)?,
            key,
            key_id,
            not_after: tbs.validity.not_after.to_system_time(),
        })
    }

    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The root's public key, canonical DER `SubjectPublicKeyInfo`: what "same root" compares.
    pub fn public_key_spki(&self) -> &[u8] {
        &self.spki_der
    }

    /// True when both certificates carry the same public key.
    pub fn same_key(&self, other: &RootCertificate) -> bool {
        self.spki_der == other.spki_der
    }

    /// The subject, as RFC 4514 text (for logs).
    pub fn subject(&self) -> String {
        self.subject.to_string()
    }

    /// The root's notAfter.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }
}

/// An intermediate being issued: its fresh key and its unsigned certificate. Sign
/// [`PendingIntermediate::sha256_digest`] with the root key, then
/// [`PendingIntermediate::finish`]; or let [`issue_intermediate`] do both with a
/// [`CertSigner`].
#[derive(Debug)]
pub struct PendingIntermediate {
    key: InMemoryKey,
    unsigned: UnsignedCertificate,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl PendingIntermediate {
    /// Generates a key and the certificate's TBS part for `root`, valid from `now − 60 s` to
    /// `now + 2 × rotation` (or the root's notAfter, if earlier).
    pub fn new(
        component: &ComponentName,
        root: &RootCertificate,
        rotation: Duration,
        now: SystemTime,
    ) -> Result<Self, BuildError> {
        if rotation < Duration::from_secs(1) || rotation > MAX_ROTATION {
            return Err(BuildError::Rotation(rotation));
        }
        let key = InMemoryKey::generate().map_err(BuildError::Key)?;
        let spki = p256_spki(key.public_key_spki()).map_err(BuildError::SignerKey)?;
        let subject = keyward_name(&format!(
            "{} intermediate {}",
            component.as_str(),
            key.kid()
        ))?;
        let not_before = now.checked_sub(BACKDATE).unwrap_or(UNIX_EPOCH);
        let not_after = (now + 2 * rotation).min(root.not_after);
        if not_after <= now {
            return Err(BuildError::RootExpired);
        }
        let extensions = vec![
            extension(&SubjectKeyIdentifier(key_id(&spki)?), false)?,
            extension(
                &AuthorityKeyIdentifier {
                    key_identifier: Some(
                        OctetString::new(root.key_id.clone()).map_err(BuildError::Encode)?,
                    ),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
                false,
            )?,
            extension(
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                },
                true,
            )?,
            extension(&KeyUsage(KeyUsages::DigitalSignature.into()), true)?,
        ];
        let tbs = tbs_certificate(
            subject,
            root.subject.clone(),
            validity(not_before, not_after)?,
            spki,
            extensions,
        )?;
        // Times in a certificate are whole seconds; report what the certificate says.
        let not_before = tbs.validity.not_before.to_system_time();
        let not_after = tbs.validity.not_after.to_system_time();
        let unsigned = UnsignedCertificate::new(tbs, &root.spki_der)?;
        Ok(PendingIntermediate {
            key,
            unsigned,
            not_before,
            not_after,
        })
    }

    /// The kid the intermediate will have.
    pub fn kid(&self) -> &Kid {
        self.key.kid()
    }

    /// The DER `TBSCertificate` the root signs.
    pub fn tbs_der(&self) -> &[u8] {
        self.unsigned.tbs_der()
    }

    /// SHA-256 of the TBS part: what the root key signs (SignHash, ECDSA-SHA256).
    pub fn sha256_digest(&self) -> [u8; 32] {
        self.unsigned.sha256_digest()
    }

    /// Completes the intermediate with the root's raw `r || s` signature.
    pub fn finish(self, raw_signature: &[u8]) -> Result<SigningIntermediate, BuildError> {
        let certificate_der = self.unsigned.assemble(raw_signature)?;
        Ok(SigningIntermediate {
            key: self.key,
            certificate_der,
            not_before: self.not_before,
            not_after: self.not_after,
        })
    }
}

/// Issues an intermediate for `root`, signed by `signer` (which must hold the root's key).
pub fn issue_intermediate<S: CertSigner + ?Sized>(
    component: &ComponentName,
    root: &RootCertificate,
    signer: &S,
    rotation: Duration,
    now: SystemTime,
) -> Result<SigningIntermediate, BuildError> {
    let signer_key = parse_p256_key(&signer.public_key_spki()).map_err(BuildError::SignerKey)?;
    if canonical_spki(&signer_key).map_err(BuildError::SignerKey)? != root.spki_der {
        return Err(BuildError::SignerIsNotRoot);
    }
    let pending = PendingIntermediate::new(component, root, rotation, now)?;
    let signature = signer
        .sign_sha256_digest(&pending.sha256_digest())
        .map_err(|e| BuildError::Signer(Box::new(e)))?;
    pending.finish(&signature)
}

/// The trusted side's current intermediate: its private key (in memory only) and its
/// certificate. It signs payloads and tokens; its certificate is what ShareTrustBundle sends.
#[derive(Debug)]
pub struct SigningIntermediate {
    key: InMemoryKey,
    certificate_der: Vec<u8>,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl SigningIntermediate {
    /// The signing key.
    pub fn key(&self) -> &InMemoryKey {
        &self.key
    }

    /// The kid (of the key and the certificate).
    pub fn kid(&self) -> &Kid {
        self.key.kid()
    }

    /// The certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The certificate's notBefore.
    pub fn not_before(&self) -> SystemTime {
        self.not_before
    }

    /// The certificate's notAfter: no token it signs may expire later.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }
}

/// An intermediate certificate that passed [`verify_intermediate`]; only verification makes
/// one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIntermediate {
    der: Vec<u8>,
    spki_der: Vec<u8>,
    kid: Kid,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl VerifiedIntermediate {
    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Its public key, canonical DER `SubjectPublicKeyInfo`.
    pub fn public_key_spki(&self) -> &[u8] {
        &self.spki_der
    }

    /// Its kid.
    pub fn kid(&self) -> &Kid {
        &self.kid
    }

    /// notBefore.
    pub fn not_before(&self) -> SystemTime {
        self.not_before
    }

    /// notAfter.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// Checks the validity window again at `now` (a persisted or re-shared intermediate).
    pub fn check_validity(&self, now: SystemTime, leeway: Duration) -> Result<(), CertError> {
        check_window(self.not_before, self.not_after, now, leeway)
    }
}

/// Verifies an intermediate certificate against the pinned `root` at `now`.
pub fn verify_intermediate(
    der: &[u8],
    root: &RootCertificate,
    now: SystemTime,
    policy: &CertPolicy,
) -> Result<VerifiedIntermediate, CertError> {
    let certificate = parse(der, policy)?;
    let tbs = &certificate.tbs_certificate;
    if tbs.issuer != root.subject {
        return Err(CertError::IssuerMismatch);
    }
    // The signature covers the TBS bytes as received; parse() made sure re-encoding gives
    // exactly those bytes.
    let tbs_der = tbs.to_der().map_err(CertError::Malformed)?;
    let signature = certificate
        .signature
        .as_bytes()
        .ok_or(CertError::BadSignature)?;
    root.key
        .verify_sig(&tbs_der, signature)
        .map_err(|_| CertError::BadSignature)?;

    let not_before = tbs.validity.not_before.to_system_time();
    let not_after = tbs.validity.not_after.to_system_time();
    check_window(not_before, not_after, now, policy.leeway)?;

    let extensions = Extensions::parse(tbs)?;
    match &extensions.basic_constraints {
        Some((critical, bc)) if bc.ca => {
            if !critical {
                return Err(CertError::BasicConstraintsNotCritical);
            }
            if bc.path_len_constraint != Some(0) {
                return Err(CertError::PathLen(bc.path_len_constraint));
            }
        }
        _ => return Err(CertError::NotCa),
    }
    match &extensions.key_usage {
        Some((critical, usage)) if usage.digital_signature() => {
            if !critical {
                return Err(CertError::KeyUsageNotCritical);
            }
        }
        _ => return Err(CertError::KeyUsage),
    }
    if let Some(aki) = &extensions.authority_key_id {
        if aki.as_slice() != root.key_id.as_slice() {
            return Err(CertError::AuthorityKeyIdMismatch);
        }
    }
    let key = parse_p256_spki(&tbs.subject_public_key_info)?;
    let spki_der = canonical_spki(&key)?;
    Ok(VerifiedIntermediate {
        der: der.to_vec(),
        kid: Kid::of_spki(&spki_der),
        spki_der,
        not_before,
        not_after,
    })
}

/// DER `SubjectPublicKeyInfo` for an uncompressed P-256 point (`04 || X || Y`, what PSA's
/// ExportPublicKey returns for an ECC key pair).
pub fn p256_spki_from_point(point: &[u8]) -> Result<Vec<u8>, CertError> {
    canonical_spki(&parse_p256_key(point)?)
}

/// Converts a raw ECDSA P-256 signature (`r || s`, 32 bytes each) to DER `ECDSA-Sig-Value`.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, BuildError> {
    #[derive(Sequence)]
    struct EcdsaSigValue<'a> {
        r: UintRef<'a>,
        s: UintRef<'a>,
    }
    if raw.len() != 64 {
        return Err(BuildError::SignatureLength(raw.len()));
    }
    let (r, s) = raw.split_at(32);
    // Zero is never a valid r or s; refusing it here keeps an all-zero buffer from a broken
    // signer from becoming a certificate.
    if r.iter().all(|&b| b == 0) || s.iter().all(|&b| b == 0) {
        return Err(BuildError::SignatureDoesNotVerify);
    }
    EcdsaSigValue {
        r: UintRef::new(r).map_err(BuildError::Encode)?,
        s: UintRef::new(s).map_err(BuildError::Encode)?,
    }
    .to_der()
    .map_err(BuildError::Encode)
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Size limit, strict DER with nothing trailing, canonical (re-encoding gives the same bytes,
/// so the signed TBS is what we re-encode), v3, ecdsa-with-SHA256 without parameters inside
/// and outside the TBS.
fn parse(der: &[u8], policy: &CertPolicy) -> Result<Certificate, CertError> {
    if der.len() > policy.max_len {
        return Err(CertError::TooLarge {
            len: der.len(),
            max: policy.max_len,
        });
    }
    let certificate = Certificate::from_der(der).map_err(CertError::Malformed)?;
    if certificate.to_der().map_err(CertError::Malformed)? != der {
        return Err(CertError::NotCanonical);
    }
    let tbs = &certificate.tbs_certificate;
    if tbs.version != Version::V3 {
        return Err(CertError::NotV3);
    }
    let expected = ecdsa_with_sha256();
    if tbs.signature != expected || certificate.signature_algorithm != expected {
        return Err(CertError::SignatureAlgorithm);
    }
    Ok(certificate)
}

fn check_window(
    not_before: SystemTime,
    not_after: SystemTime,
    now: SystemTime,
    leeway: Duration,
) -> Result<(), CertError> {
    if now + leeway < not_before {
        return Err(CertError::NotYetValid { not_before });
    }
    if now > not_after + leeway {
        return Err(CertError::Expired { not_after });
    }
    Ok(())
}

/// The extensions verification looks at, each at most once.
struct Extensions {
    basic_constraints: Option<(bool, BasicConstraints)>,
    key_usage: Option<(bool, KeyUsage)>,
    subject_key_id: Option<Vec<u8>>,
    authority_key_id: Option<Vec<u8>>,
}

impl Extensions {
    fn parse(tbs: &TbsCertificate) -> Result<Self, CertError> {
        let mut found = Extensions {
            basic_constraints: None,
            key_usage: None,
            subject_key_id: None,
            authority_key_id: None,
        };
        let all = tbs.extensions.as_deref().unwrap_or_default();
        for (index, ext) in all.iter().enumerate() {
            if all[..index].iter().any(|e| e.extn_id == ext.extn_id) {
                return Err(CertError::DuplicateExtension(ext.extn_id));
            }
            let value = ext.extn_value.as_bytes();
            let malformed = |source| CertError::MalformedExtension {
                oid: ext.extn_id,
                source,
            };
            match ext.extn_id {
                BasicConstraints::OID => {
                    let bc = BasicConstraints::from_der(value).map_err(malformed)?;
                    found.basic_constraints = Some((ext.critical, bc));
                }
                KeyUsage::OID => {
                    let usage = KeyUsage::from_der(value).map_err(malformed)?;
                    found.key_usage = Some((ext.critical, usage));
                }
                SubjectKeyIdentifier::OID => {
                    let ski = SubjectKeyIdentifier::from_der(value).map_err(malformed)?;
                    found.subject_key_id = Some(ski.0.as_bytes().to_vec());
                }
                AuthorityKeyIdentifier::OID => {
                    let aki = AuthorityKeyIdentifier::from_der(value).map_err(malformed)?;
                    found.authority_key_id = aki.key_identifier.map(|id| id.as_bytes().to_vec());
                }
                oid if ext.critical => return Err(CertError::UnknownCriticalExtension(oid)),
                _ => {}
            }
        }
        Ok(found)
    }
}

fn ecdsa_with_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA256,
        parameters: None,
    }
}

/// Checks that a certificate's key is id-ecPublicKey on the named curve P-256 and that aws-lc
/// accepts the point.
fn parse_p256_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<ParsedPublicKey, CertError> {
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY || curve != Some(SECP256R1) {
        return Err(CertError::UnsupportedKey);
    }
    let der = spki.to_der().map_err(|_| CertError::UnsupportedKey)?;
    parse_p256_key(&der)
}

/// A P-256 public key from DER SPKI or an uncompressed point, validated by aws-lc.
fn parse_p256_key(bytes: &[u8]) -> Result<ParsedPublicKey, CertError> {
    ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, bytes).map_err(|_| CertError::UnsupportedKey)
}

fn canonical_spki(key: &ParsedPublicKey) -> Result<Vec<u8>, CertError> {
    Ok(key
        .as_der()
        .map_err(|_| CertError::UnsupportedKey)?
        .as_ref()
        .to_vec())
}

/// The SPKI for a certificate, from a P-256 key in canonical form.
fn p256_spki(spki_der: &[u8]) -> Result<SubjectPublicKeyInfoOwned, CertError> {
    let canonical = canonical_spki(&parse_p256_key(spki_der)?)?;
    let spki = SubjectPublicKeyInfoOwned::from_der(&canonical).map_err(CertError::Malformed)?;
    parse_p256_spki(&spki)?;
    Ok(spki)
}

/// RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's value. (SHA-1 is the
/// method's, used as an identifier, not for security.)
fn key_id(spki: &SubjectPublicKeyInfoOwned) -> Result<OctetString, BuildError> {
    let hash = digest::digest(
        &digest::SHA1_FOR_LEGACY_USE_ONLY,
        spki.subject_public_key.raw_bytes(),
    );
    OctetString::new(hash.as_ref()).map_err(BuildError::Encode)
}

/// `O=Keyward, CN=<common_name>` (RFC 4514 shows it as `CN=<common_name>,O=Keyward`).
fn keyward_name(common_name: &str) -> Result<Name, BuildError> {
    let rdn = |oid, text: &str| -> Result<RelativeDistinguishedName, der::Error> {
        let value = Any::encode_from(&Utf8StringRef::new(text)?)?;
        Ok(RelativeDistinguishedName(SetOfVec::try_from(vec![
            AttributeTypeAndValue { oid, value },
        ])?))
    };
    Ok(RdnSequence(vec![
        rdn(ORGANIZATION, ORGANIZATION_NAME).map_err(BuildError::Encode)?,
        rdn(COMMON_NAME, common_name).map_err(BuildError::Encode)?,
    ]))
}

fn extension<T: Encode + AssociatedOid>(
    value: &T,
    critical: bool,
) -> Result<Extension, BuildError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(BuildError::Encode)?)
            .map_err(BuildError::Encode)?,
    })
}

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime after; whole seconds.
fn x509_time(time: SystemTime) -> Result<Time, BuildError> {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| BuildError::Time(der::ErrorKind::DateTime.into()))?
        .as_secs();
    let time = UNIX_EPOCH + Duration::from_secs(secs);
    match UtcTime::from_system_time(time) {
        Ok(utc) => Ok(Time::UtcTime(utc)),
        Err(_) => GeneralizedTime::from_system_time(time)
            .map(Time::GeneralTime)
            .map_err(BuildError::Time),
    }
}

fn validity(not_before: SystemTime, not_after: SystemTime) -> Result<Validity, BuildError> {
    Ok(Validity {
        not_before: x509_time(not_before)?,
        not_after: x509_time(not_after)?,
    })
}

fn tbs_certificate(
    subject: Name,
    issuer: Name,
    validity: Validity,
    spki: SubjectPublicKeyInfoOwned,
    extensions: Vec<Extension>,
) -> Result<TbsCertificate, BuildError> {
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|e| BuildError::Key(KeyError::Generate(e)))?;
    // Positive (top bit clear) and a full 16 bytes (next bit set), as RFC 5280 asks of serials.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    Ok(TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial).map_err(BuildError::Encode)?,
        signature: ecdsa_with_sha256(),
        issuer,
        validity,
        subject,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    })
}

#[cfg(test)]
mod tests;
