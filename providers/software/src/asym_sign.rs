//! Software signatures: ECDSA (P-256, P-384) and RSA PKCS#1 v1.5 / PSS, on hashes and messages.
//!
//! Signing a precomputed hash uses aws-lc-rs's `sign_digest` with `Digest::import_less_safe`.
//! aws-lc-rs pairs each curve with one hash (P-256/SHA-256, P-384/SHA-384) and checks the
//! digest's declared algorithm, but ECDSA itself only uses the hash through `bits2int`
//! (FIPS 186-5 §6.4.1 / SEC 1 §4.1.3 step 5): the leftmost `n` bits of the hash, `n` being the
//! order's bit length. For P-256 and P-384 `n` is a whole number of bytes, so truncating a
//! longer hash (or left-padding a shorter one with zeros, which leaves the integer unchanged) to
//! the curve's size and handing it over as that curve's native digest gives exactly the ECDSA
//! signature over the original hash. That is how P-256 signs SHA-384/512 hashes, P-384 signs
//! SHA-256 and SHA-512 hashes, and how ECDSA-any works. Verification does the same.
//!
//! What aws-lc-rs lacks goes to RustCrypto: Brainpool curves and deterministic ECDSA signing
//! (`rc_ecc.rs`), and RSA below 2048 bits, raw PKCS#1 v1.5 and RIPEMD-160 RSA signatures
//! (`rc_rsa.rs`). Verifying a deterministic ECDSA signature is ordinary ECDSA verification.

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::signature::{self, EcdsaKeyPair, ParsedPublicKey, RsaEncoding, RsaKeyPair};
use keyward_protocol::psa::{AsymmetricSignature, Hash, KeyAttributes, KeyType, SignHash};

use crate::cache::{Parsed, Purpose, RsaScheme};
use crate::rc_rsa::SigScheme;
use crate::{rc_ecc, rc_rsa, Curve, SoftwareProvider};
use keyward_providers::{AsymmetricSign, KeyRef, ProviderError};

/// A signature request resolved against the key.
enum Scheme {
    /// `deterministic`: RFC 6979 with this hash (signing only).
    Ecdsa {
        curve: Curve,
        deterministic: Option<Hash>,
    },
    Rsa(RsaScheme),
    /// An RSA scheme aws-lc-rs lacks, or any RSA key below 2048 bits.
    RcRsa(SigScheme),
}

impl AsymmetricSign for SoftwareProvider {
    fn sign_hash(
        &self,
        key: KeyRef<'_>,
        alg: AsymmetricSignature,
        hash: &[u8],
    ) -> Result<Vec<u8>, ProviderError> {
        self.check_rsa_size(key.attributes)?;
        let scheme = resolve(key.attributes, alg, true)?;
        check_hash_len(alg, hash)?;
        self.sign_digest(key, scheme, hash)
    }

    fn verify_hash(
        &self,
        key: KeyRef<'_>,
        alg: AsymmetricSignature,
        hash: &[u8],
        signature: &[u8],
    ) -> Result<(), ProviderError> {
        self.check_rsa_size(key.attributes)?;
        let scheme = resolve(key.attributes, alg, false)?;
        check_hash_len(alg, hash)?;
        self.verify_digest(key, scheme, hash, signature)
    }

    fn sign_message(
        &self,
        key: KeyRef<'_>,
        alg: AsymmetricSignature,
        message: &[u8],
    ) -> Result<Vec<u8>, ProviderError> {
        self.check_rsa_size(key.attributes)?;
        let scheme = resolve(key.attributes, alg, true)?;
        let hash = message_hash(alg, message)?;
        self.sign_digest(key, scheme, &hash)
    }

    fn verify_message(
        &self,
        key: KeyRef<'_>,
        alg: AsymmetricSignature,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), ProviderError> {
        self.check_rsa_size(key.attributes)?;
        let scheme = resolve(key.attributes, alg, false)?;
        let hash = message_hash(alg, message)?;
        self.verify_digest(key, scheme, &hash, signature)
    }
}

impl SoftwareProvider {
    fn sign_digest(
        &self,
        key: KeyRef<'_>,
        scheme: Scheme,
        hash: &[u8],
    ) -> Result<Vec<u8>, ProviderError> {
        match scheme {
            Scheme::Ecdsa {
                curve,
                deterministic,
            } if deterministic.is_some() || !curve.on_aws_lc() => {
                let scalar = self.open(key)?;
                rc_ecc::sign(curve, &scalar, hash, deterministic)
            }
            Scheme::RcRsa(rc) => {
                let parsed = self.rc_rsa_private(key)?;
                let Parsed::RcRsaPrivate(private) = &*parsed else {
                    return Err(wrong_entry());
                };
                rc_rsa::sign(private, rc, hash)
            }
            Scheme::Ecdsa { curve, .. } => {
                let parsed = self.parsed(key, Purpose::EcdsaSign, |scalar| {
                    ecdsa_key_pair(curve, scalar).map(Parsed::EcdsaSign)
                })?;
                let Parsed::EcdsaSign(pair) = &*parsed else {
                    return Err(wrong_entry());
                };
                let digest = curve_digest(curve, hash)?;
                let signature = pair
                    .sign_digest(&digest)
                    .map_err(|_| ProviderError::generic("ECDSA signing failed"))?;
                Ok(signature.as_ref().to_vec())
            }
            Scheme::Rsa(rsa) => {
                let parsed = self.parsed(key, Purpose::RsaSign, |der| {
                    RsaKeyPair::from_der(der)
                        .map(Parsed::RsaSign)
                        .map_err(|_| ProviderError::CorruptionDetected)
                })?;
                let Parsed::RsaSign(pair) = &*parsed else {
                    return Err(wrong_entry());
                };
                let (encoding, _) = rsa_algorithms(rsa)?;
                let digest = import_digest(rsa_hash(rsa), hash)?;
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign_digest(encoding, &digest, &mut signature)
                    .map_err(|_| ProviderError::generic("RSA signing failed"))?;
                Ok(signature)
            }
        }
    }

    fn verify_digest(
        &self,
        key: KeyRef<'_>,
        scheme: Scheme,
        hash: &[u8],
        signature: &[u8],
    ) -> Result<(), ProviderError> {
        let (purpose, algorithm, digest): (
            Purpose,
            &'static dyn signature::VerificationAlgorithm,
            Digest,
        ) = match scheme {
            Scheme::Ecdsa { curve, .. } if !curve.on_aws_lc() => {
                let public = self.public_key(key)?;
                let Parsed::Public(point) = &*public else {
                    return Err(wrong_entry());
                };
                return rc_ecc::verify(curve, point, hash, signature);
            }
            Scheme::RcRsa(rc) => {
                let public = self.rc_rsa_public(key)?;
                let Parsed::RcRsaPublic(public) = &*public else {
                    return Err(wrong_entry());
                };
                return rc_rsa::verify(public, rc, hash, signature);
            }
            Scheme::Ecdsa { curve, .. } => {
                if signature.len() != 2 * curve.scalar_len() {
                    return Err(ProviderError::InvalidSignature);
                }
                (
                    Purpose::EcdsaVerify,
                    curve.verification()?,
                    curve_digest(curve, hash)?,
                )
            }
            Scheme::Rsa(rsa) => {
                let (_, verification) = rsa_algorithms(rsa)?;
                (
                    Purpose::RsaVerify(rsa),
                    verification,
                    import_digest(rsa_hash(rsa), hash)?,
                )
            }
        };
        let public = self.public_key(key)?;
        let Parsed::Public(public) = &*public else {
            return Err(wrong_entry());
        };
        let parsed = self.cached(key, purpose, || {
            ParsedPublicKey::new(algorithm, public)
                .map(Parsed::Verify)
                .map_err(|_| ProviderError::CorruptionDetected)
        })?;
        let Parsed::Verify(verifier) = &*parsed else {
            return Err(wrong_entry());
        };
        verifier
            .verify_digest_sig(&digest, signature)
            .map_err(|_| ProviderError::InvalidSignature)
    }
}

impl SoftwareProvider {
    /// The RustCrypto private key of an RSA key pair (cached).
    pub(crate) fn rc_rsa_private(
        &self,
        key: KeyRef<'_>,
    ) -> Result<std::sync::Arc<Parsed>, ProviderError> {
        self.parsed(key, Purpose::RcRsaPrivate, |der| {
            rc_rsa::parse_private(der)
                .map(|(private, _)| Parsed::RcRsaPrivate(Box::new(private)))
                .map_err(|_| ProviderError::CorruptionDetected)
        })
    }

    /// The RustCrypto public key of an RSA key pair or public key (cached).
    pub(crate) fn rc_rsa_public(
        &self,
        key: KeyRef<'_>,
    ) -> Result<std::sync::Arc<Parsed>, ProviderError> {
        let public = self.public_key(key)?;
        let Parsed::Public(der) = &*public else {
            return Err(wrong_entry());
        };
        self.cached(key, Purpose::RcRsaPublic, || {
            rc_rsa::parse_public(der)
                .map(|(public, _)| Parsed::RcRsaPublic(Box::new(public)))
                .map_err(|_| ProviderError::CorruptionDetected)
        })
    }
}

pub(crate) fn wrong_entry() -> ProviderError {
    ProviderError::generic("key cache entry of the wrong kind")
}

/// Checks the algorithm against the key and the direction (signing needs a key pair).
fn resolve(
    attributes: &KeyAttributes,
    alg: AsymmetricSignature,
    signing: bool,
) -> Result<Scheme, ProviderError> {
    use AsymmetricSignature as S;
    let key_type = attributes.key_type;
    if signing && !key_type.is_key_pair() {
        return Err(ProviderError::invalid(
            "signing needs a key pair, not a public key",
        ));
    }
    match alg {
        S::Ecdsa { .. } | S::EcdsaAny | S::DeterministicEcdsa { .. } => {
            if !matches!(
                key_type,
                KeyType::EccKeyPair { .. } | KeyType::EccPublicKey { .. }
            ) {
                return Err(ProviderError::invalid(format!(
                    "{alg:?} needs an elliptic-curve key"
                )));
            }
            if let Some(hash) = alg.hash() {
                supported_sign_hash(hash)?;
            }
            let curve = Curve::of(attributes)?;
            if curve == Curve::X25519 {
                return Err(ProviderError::invalid("X25519 keys cannot sign"));
            }
            let deterministic = match alg {
                S::DeterministicEcdsa { hash_alg } if signing => match hash_alg {
                    SignHash::Specific(h) => Some(h),
                    SignHash::Any => {
                        return Err(ProviderError::invalid(
                            "a signature request must name a specific hash",
                        ))
                    }
                },
                _ => None,
            };
            if deterministic == Some(Hash::Ripemd160) {
                return Err(ProviderError::not_supported(
                    "deterministic ECDSA with RIPEMD-160",
                ));
            }
            Ok(Scheme::Ecdsa {
                curve,
                deterministic,
            })
        }
        S::RsaPkcs1v15Sign { hash_alg } | S::RsaPss { hash_alg } => {
            if !matches!(key_type, KeyType::RsaKeyPair | KeyType::RsaPublicKey) {
                return Err(ProviderError::invalid(format!("{alg:?} needs an RSA key")));
            }
            let SignHash::Specific(hash) = hash_alg else {
                return Err(ProviderError::invalid(
                    "a signature request must name a specific hash",
                ));
            };
            supported_sign_hash(hash)?;
            let pss = matches!(alg, S::RsaPss { .. });
            if attributes.bits < 2048 || hash == Hash::Ripemd160 {
                return Ok(Scheme::RcRsa(if pss {
                    SigScheme::Pss(hash)
                } else {
                    SigScheme::Pkcs1(hash)
                }));
            }
            Ok(Scheme::Rsa(if pss {
                RsaScheme::Pss(hash)
            } else {
                RsaScheme::Pkcs1(hash)
            }))
        }
        S::RsaPkcs1v15SignRaw => {
            if !matches!(key_type, KeyType::RsaKeyPair | KeyType::RsaPublicKey) {
                return Err(ProviderError::invalid(format!("{alg:?} needs an RSA key")));
            }
            Ok(Scheme::RcRsa(SigScheme::Pkcs1Raw))
        }
    }
}

fn supported_sign_hash(hash: Hash) -> Result<(), ProviderError> {
    match hash {
        Hash::Sha256 | Hash::Sha384 | Hash::Sha512 | Hash::Ripemd160 => Ok(()),
        other => Err(ProviderError::not_supported(format!(
            "signatures with {other:?}"
        ))),
    }
}

/// A hash given to sign/verify-hash must have the length of the algorithm's hash. ECDSA-any
/// takes any non-empty hash up to 64 bytes.
fn check_hash_len(alg: AsymmetricSignature, hash: &[u8]) -> Result<(), ProviderError> {
    let ok = match alg.hash() {
        Some(h) => hash.len() == h.output_len(),
        // Raw PKCS#1 v1.5 signs any input up to the modulus size less 11 (checked on signing).
        None if alg == AsymmetricSignature::RsaPkcs1v15SignRaw => !hash.is_empty(),
        None => !hash.is_empty() && hash.len() <= digest::MAX_OUTPUT_LEN,
    };
    if ok {
        Ok(())
    } else {
        Err(ProviderError::invalid(format!(
            "a {} byte hash does not fit {alg:?}",
            hash.len()
        )))
    }
}

fn message_hash(alg: AsymmetricSignature, message: &[u8]) -> Result<Vec<u8>, ProviderError> {
    let hash = alg.hash().ok_or_else(|| {
        ProviderError::invalid("sign/verify-message needs a hash-and-sign algorithm")
    })?;
    crate::hash::hash_bytes(hash, message)
}

/// ECDSA's `bits2int` input for this curve, as the curve's native digest (module docs).
fn curve_digest(curve: Curve, hash: &[u8]) -> Result<Digest, ProviderError> {
    let n = curve.scalar_len();
    let mut buffer = [0u8; digest::MAX_OUTPUT_LEN];
    if hash.len() >= n {
        buffer[..n].copy_from_slice(&hash[..n]);
    } else {
        buffer[n - hash.len()..n].copy_from_slice(hash);
    }
    Digest::import_less_safe(&buffer[..n], curve.native_digest())
        .map_err(|_| ProviderError::generic("digest import failed"))
}

fn import_digest(hash: Hash, bytes: &[u8]) -> Result<Digest, ProviderError> {
    Digest::import_less_safe(bytes, crate::digest_algorithm(hash)?)
        .map_err(|_| ProviderError::invalid("hash length does not match the algorithm"))
}

fn rsa_hash(scheme: RsaScheme) -> Hash {
    match scheme {
        RsaScheme::Pkcs1(h) | RsaScheme::Pss(h) => h,
    }
}

/// aws-lc-rs's signing encoding and verification parameters for an RSA scheme. PSS uses a
/// salt as long as the hash, for signing and (strictly) for verification, as PSA's
/// `PSA_ALG_RSA_PSS` specifies.
fn rsa_algorithms(
    scheme: RsaScheme,
) -> Result<
    (
        &'static dyn RsaEncoding,
        &'static dyn signature::VerificationAlgorithm,
    ),
    ProviderError,
> {
    Ok(match scheme {
        RsaScheme::Pkcs1(Hash::Sha256) => (
            &signature::RSA_PKCS1_SHA256,
            &signature::RSA_PKCS1_2048_8192_SHA256,
        ),
        RsaScheme::Pkcs1(Hash::Sha384) => (
            &signature::RSA_PKCS1_SHA384,
            &signature::RSA_PKCS1_2048_8192_SHA384,
        ),
        RsaScheme::Pkcs1(Hash::Sha512) => (
            &signature::RSA_PKCS1_SHA512,
            &signature::RSA_PKCS1_2048_8192_SHA512,
        ),
        RsaScheme::Pss(Hash::Sha256) => (
            &signature::RSA_PSS_SHA256,
            &signature::RSA_PSS_2048_8192_SHA256,
        ),
        RsaScheme::Pss(Hash::Sha384) => (
            &signature::RSA_PSS_SHA384,
            &signature::RSA_PSS_2048_8192_SHA384,
        ),
        RsaScheme::Pss(Hash::Sha512) => (
            &signature::RSA_PSS_SHA512,
            &signature::RSA_PSS_2048_8192_SHA512,
        ),
        other => {
            return Err(ProviderError::not_supported(format!(
                "RSA signatures {other:?}"
            )))
        }
    })
}

/// An ECDSA key pair from a private scalar (the public point is computed once, here).
fn ecdsa_key_pair(curve: Curve, scalar: &[u8]) -> Result<EcdsaKeyPair, ProviderError> {
    let private = aws_lc_rs::agreement::PrivateKey::from_private_key(curve.ecdh()?, scalar)
        .map_err(|_| ProviderError::CorruptionDetected)?;
    let public = private
        .compute_public_key()
        .map_err(|_| ProviderError::generic("EC public key computation failed"))?;
    EcdsaKeyPair::from_private_key_and_public_key(curve.signing()?, scalar, public.as_ref())
        .map_err(|_| ProviderError::CorruptionDetected)
}
