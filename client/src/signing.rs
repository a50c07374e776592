//! Signature schemes, public keys and signatures as the RustCrypto ecosystem expects them, and
//! [`SigningKey`]: an owned handle to a key held by the service that implements
//! `signature::Signer`, `signature::hazmat::PrehashSigner`, `signature::Keypair` and
//! `spki::DynSignatureAlgorithmIdentifier`, so `x509-cert` builders and other crates use it
//! unchanged.
//!
//! Signatures of this module are in their X.509/TLS encoding: ECDSA as DER
//! `Ecdsa-Sig-Value`, RSA as the plain signature. (The name-based convenience API,
//! [`BasicClient::sign`], keeps PSA's raw `r || s`.)

use const_oid::db::rfc5912;
use const_oid::ObjectIdentifier;
use der::asn1::{Any, BitString};
use der::{Decode, Encode, Sequence};
use keyward_protocol::ops::KeyInfo;
use keyward_protocol::psa::{AsymmetricSignature, EccFamily, Hash, KeyAttributes, KeyType};
use keyward_protocol::{Opcode, Operation, OperationResult, ProviderId};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::client::BasicClient;
use crate::error::{ClientError, Result};
use crate::request::unexpected;
use crate::simple::signature_algorithm;
use crate::{keys, request};

/// The signature algorithms a [`SigningKey`] can use: what X.509, CSRs and TLS name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureScheme {
    /// ECDSA with SHA-256 (P-256 keys by default).
    EcdsaSha256,
    /// ECDSA with SHA-384 (P-384 keys by default).
    EcdsaSha384,
    /// ECDSA with SHA-512.
    EcdsaSha512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaPkcs1v15Sha256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RsaPkcs1v15Sha384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RsaPkcs1v15Sha512,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (what TLS 1.3 needs).
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt.
    RsaPssSha384,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512 and a 64-byte salt.
    RsaPssSha512,
}

impl SignatureScheme {
    /// The scheme a key held in the service signs with, from its attributes: the policy's
    /// algorithm, a wildcard hash replaced by the curve's matching hash (RSA: SHA-256).
    /// `Err` says why the key cannot sign.
    pub fn for_key(attributes: &KeyAttributes) -> std::result::Result<Self, &'static str> {
        let alg =
            signature_algorithm(attributes).ok_or("its policy permits no signature algorithm")?;
        let hash = alg
            .hash()
            .ok_or("its policy signs raw data, without a hash")?;
        let family = match (attributes.key_type, alg) {
            (
                KeyType::EccKeyPair {
                    curve_family: EccFamily::SecpR1,
                },
                AsymmetricSignature::Ecdsa { .. } | AsymmetricSignature::DeterministicEcdsa { .. },
            ) => 0,
            (KeyType::RsaKeyPair, AsymmetricSignature::RsaPkcs1v15Sign { .. }) => 1,
            (KeyType::RsaKeyPair, AsymmetricSignature::RsaPss { .. }) => 2,
            _ => {
                return Err("signing needs an ECDSA (NIST curve) or RSA PKCS#1 v1.5 / PSS key pair")
            }
        };
        use SignatureScheme as S;
        Ok(match (family, hash) {
            (0, Hash::Sha256) => S::EcdsaSha256,
            (0, Hash::Sha384) => S::EcdsaSha384,
            (0, Hash::Sha512) => S::EcdsaSha512,
            (1, Hash::Sha256) => S::RsaPkcs1v15Sha256,
            (1, Hash::Sha384) => S::RsaPkcs1v15Sha384,
            (1, Hash::Sha512) => S::RsaPkcs1v15Sha512,
            (2, Hash::Sha256) => S::RsaPssSha256,
            (2, Hash::Sha384) => S::RsaPssSha384,
            (2, Hash::Sha512) => S::RsaPssSha512,
            _ => return Err("its hash is not SHA-256, SHA-384 or SHA-512"),
        })
    }

    /// The digest signed.
    pub fn hash(self) -> Hash {
        use SignatureScheme as S;
        match self {
            S::EcdsaSha256 | S::RsaPkcs1v15Sha256 | S::RsaPssSha256 => Hash::Sha256,
            S::EcdsaSha384 | S::RsaPkcs1v15Sha384 | S::RsaPssSha384 => Hash::Sha384,
            S::EcdsaSha512 | S::RsaPkcs1v15Sha512 | S::RsaPssSha512 => Hash::Sha512,
        }
    }

    /// True for the ECDSA schemes (whose signatures are DER-encoded in X.509 and TLS).
    pub fn is_ecdsa(self) -> bool {
        matches!(
            self,
            SignatureScheme::EcdsaSha256
                | SignatureScheme::EcdsaSha384
                | SignatureScheme::EcdsaSha512
        )
    }

    /// True for the RSA-PSS schemes.
    pub fn is_pss(self) -> bool {
        matches!(
            self,
            SignatureScheme::RsaPssSha256
                | SignatureScheme::RsaPssSha384
                | SignatureScheme::RsaPssSha512
        )
    }

    /// The X.509 AlgorithmIdentifier: ECDSA with absent parameters, PKCS#1 v1.5 with NULL
    /// (RFC 5758, RFC 4055), PSS with explicit RSASSA-PSS-params (RFC 4055 §3.1).
    pub fn algorithm_identifier(self) -> Result<AlgorithmIdentifierOwned> {
        use SignatureScheme as S;
        let (oid, parameters) = match self {
            S::EcdsaSha256 => (rfc5912::ECDSA_WITH_SHA_256, None),
            S::EcdsaSha384 => (rfc5912::ECDSA_WITH_SHA_384, None),
            S::EcdsaSha512 => (rfc5912::ECDSA_WITH_SHA_512, None),
            S::RsaPkcs1v15Sha256 => (rfc5912::SHA_256_WITH_RSA_ENCRYPTION, Some(Any::null())),
            S::RsaPkcs1v15Sha384 => (rfc5912::SHA_384_WITH_RSA_ENCRYPTION, Some(Any::null())),
            S::RsaPkcs1v15Sha512 => (rfc5912::SHA_512_WITH_RSA_ENCRYPTION, Some(Any::null())),
            S::RsaPssSha256 | S::RsaPssSha384 | S::RsaPssSha512 => {
                let (hash_oid, salt_len) = match self.hash() {
                    Hash::Sha384 => (rfc5912::ID_SHA_384, 48),
                    Hash::Sha512 => (rfc5912::ID_SHA_512, 64),
                    _ => (rfc5912::ID_SHA_256, 32),
                };
                let hash = AlgorithmIdentifierOwned {
                    oid: hash_oid,
                    parameters: Some(Any::null()),
                };
                let params = PssParams {
                    mask_gen: AlgorithmIdentifierOwned {
                        oid: rfc5912::ID_MGF_1,
                        parameters: Some(
                            Any::encode_from(&hash)
                                .map_err(ClientError::encoding("RSASSA-PSS parameters"))?,
                        ),
                    },
                    hash,
                    salt_len,
                };
                (
                    rfc5912::ID_RSASSA_PSS,
                    Some(
                        Any::encode_from(&params)
                            .map_err(ClientError::encoding("RSASSA-PSS parameters"))?,
                    ),
                )
            }
        };
        Ok(AlgorithmIdentifierOwned { oid, parameters })
    }
}

/// `RSASSA-PSS-params` (RFC 4055 §3.1) with the trailer field left at its default.
#[derive(Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    hash: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
    mask_gen: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    salt_len: u32,
}

/// A public key as SubjectPublicKeyInfo: the `Keypair::VerifyingKey` of [`SigningKey`].
/// Implements `spki::EncodePublicKey`; decode it with any crate's `DecodePublicKey`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    spki: SubjectPublicKeyInfoOwned,
    der: Vec<u8>,
}

impl PublicKey {
    /// Wraps a SubjectPublicKeyInfo.
    pub fn new(spki: SubjectPublicKeyInfoOwned) -> Result<Self> {
        let der = spki
            .to_der()
            .map_err(ClientError::encoding("a public key"))?;
        Ok(PublicKey { spki, der })
    }

    /// Parses a DER SubjectPublicKeyInfo.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let spki = SubjectPublicKeyInfoOwned::from_der(der)
            .map_err(ClientError::encoding("a public key"))?;
        PublicKey::new(spki)
    }

    /// The SubjectPublicKeyInfo.
    pub fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// The key itself (the subjectPublicKey bits): an uncompressed point for EC keys, a
    /// PKCS#1 RSAPublicKey for RSA, i.e. PSA's export format.
    pub fn raw_bytes(&self) -> &[u8] {
        self.spki.subject_public_key.raw_bytes()
    }

    /// The `-----BEGIN PUBLIC KEY-----` PEM.
    pub fn to_pem(&self) -> Result<String> {
        der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &self.der)
            .map_err(|err| ClientError::encoding("a public key PEM")(der::Error::from(err)))
    }

    /// The named curve of an EC key, if it is one.
    #[cfg_attr(not(feature = "rcgen"), allow(dead_code))] // rcgen labels keys with it
    pub(crate) fn curve(&self) -> Option<ObjectIdentifier> {
        if self.spki.algorithm.oid != rfc5912::ID_EC_PUBLIC_KEY {
            return None;
        }
        self.spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|params| params.decode_as::<ObjectIdentifier>().ok())
    }

    /// True for an RSA key.
    #[cfg_attr(not(feature = "rcgen"), allow(dead_code))] // rcgen labels keys with it
    pub(crate) fn is_rsa(&self) -> bool {
        self.spki.algorithm.oid == rfc5912::RSA_ENCRYPTION
    }
}

impl spki::EncodePublicKey for PublicKey {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        Ok(der::Document::from_der(&self.der)?)
    }
}

/// A signature in its X.509/TLS encoding (ECDSA: DER `Ecdsa-Sig-Value`; RSA: as is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature(Box<[u8]>);

impl Signature {
    /// The encoded signature.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Signature {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl TryFrom<&[u8]> for Signature {
    type Error = signature::Error;

    fn try_from(bytes: &[u8]) -> std::result::Result<Self, Self::Error> {
        if bytes.is_empty() {
            return Err(signature::Error::new());
        }
        Ok(Signature(bytes.into()))
    }
}

impl From<Signature> for Box<[u8]> {
    fn from(signature: Signature) -> Self {
        signature.0
    }
}

impl signature::SignatureEncoding for Signature {
    type Repr = Box<[u8]>;
}

impl spki::SignatureBitStringEncoding for Signature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

/// A key held by the service that can sign: an owned handle (`'static`, `Clone`, `Send +
/// Sync`) holding the client, the key's name, its signature scheme and its public key.
///
/// Made by [`BasicClient::signing_key`], which checks the key locally (type and policy) and
/// fetches the public key once. The handle names the key: if the key is destroyed and
/// made again under the same name, make a new handle.
#[derive(Debug, Clone)]
pub struct SigningKey {
    client: BasicClient,
    info: KeyInfo,
    provider: ProviderId,
    alg: AsymmetricSignature,
    scheme: SignatureScheme,
    public: PublicKey,
}

impl SigningKey {
    pub(crate) fn new(client: BasicClient, key_name: &str) -> Result<Self> {
        let info = client.key_info(key_name)?;
        let scheme = SignatureScheme::for_key(&info.attributes)
            .map_err(|reason| ClientError::unsuitable(key_name, reason))?;
        if !info.attributes.policy.usage_flags.sign_hash {
            return Err(ClientError::unsuitable(
                key_name,
                "its policy does not allow signing hashes",
            ));
        }
        let alg = signature_algorithm(&info.attributes)
            .ok_or_else(|| ClientError::unsuitable(key_name, "no signature algorithm"))?;
        let provider =
            ProviderId::from_u8(info.provider_id).ok_or_else(|| ClientError::UnknownProvider {
                key: key_name.to_owned(),
                provider: info.provider_id,
            })?;
        let public = PublicKey::new(client.public_key_info(key_name)?)?;
        Ok(SigningKey {
            client,
            info,
            provider,
            alg,
            scheme,
            public,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The key's description as the service listed it.
    pub fn info(&self) -> &KeyInfo {
        &self.info
    }

    /// The provider holding the key.
    pub fn provider(&self) -> ProviderId {
        self.provider
    }

    /// The signature scheme.
    pub fn scheme(&self) -> SignatureScheme {
        self.scheme
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The client this handle uses.
    pub fn client(&self) -> &BasicClient {
        &self.client
    }

    /// Signs `digest` (of the scheme's hash) in the service; the signature comes in PSA's
    /// format (ECDSA: raw `r || s`).
    pub fn sign_digest_psa(&self, digest: &[u8]) -> Result<Vec<u8>> {
        let len = keys::hash_len(self.scheme.hash());
        if digest.len() != len {
            return Err(ClientError::InvalidArgument(format!(
                "a {:?} digest has {len} bytes, not {}",
                self.scheme.hash(),
                digest.len()
            )));
        }
        let operation = Operation::SignHash {
            key_name: self.info.name.clone(),
            alg: self.alg,
            hash: digest.to_vec(),
        };
        match self.client.call(self.provider, operation)? {
            OperationResult::SignHash { signature } => Ok(signature),
            _ => Err(unexpected(Opcode::PsaSignHash)),
        }
    }

    /// Signs `digest` in the service; X.509/TLS encoding.
    pub fn sign_digest(&self, digest: &[u8]) -> Result<Signature> {
        let raw = self.sign_digest_psa(digest)?;
        encode_signature(self.scheme, raw)
    }

    /// Hashes `message` locally and signs the digest in the service; X.509/TLS encoding.
    pub fn sign_message(&self, message: &[u8]) -> Result<Signature> {
        self.sign_digest(&keys::digest(self.scheme.hash(), message)?)
    }

    /// Checks a signature (X.509/TLS encoding) in the service: `Ok(false)` if invalid.
    #[must_use = "a false result means the signature is invalid"]
    pub fn verify_message(&self, message: &[u8], signature: &Signature) -> Result<bool> {
        let raw = match self.scheme.is_ecdsa() {
            true => match keys::ecdsa_der_to_raw(signature.as_bytes(), field_len(&self.info)) {
                Ok(raw) => raw,
                // Not even DER: certainly not a valid signature.
                Err(_) => return Ok(false),
            },
            false => signature.as_bytes().to_vec(),
        };
        let operation = Operation::VerifyHash {
            key_name: self.info.name.clone(),
            alg: self.alg,
            hash: keys::digest(self.scheme.hash(), message)?,
            signature: raw,
        };
        request::verified(self.client.call(self.provider, operation).map(|_| ()))
    }
}

/// Field length of the key's curve (ECDSA signature halves).
fn field_len(info: &KeyInfo) -> usize {
    info.attributes.bits.div_ceil(8) as usize
}

/// PSA signature bytes in the X.509/TLS encoding of `scheme`.
pub(crate) fn encode_signature(scheme: SignatureScheme, raw: Vec<u8>) -> Result<Signature> {
    if scheme.is_ecdsa() {
        Ok(Signature(keys::ecdsa_raw_to_der(&raw)?.into()))
    } else {
        Ok(Signature(raw.into()))
    }
}

/// A client error as the signature crate's error, keeping it as the source (so callers can
/// downcast it back, see [`crate::csr::build_csr`]).
pub(crate) fn to_signature_error(err: ClientError) -> signature::Error {
    signature::Error::from_source(err)
}

impl signature::Signer<Signature> for SigningKey {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Signature, signature::Error> {
        self.sign_message(message).map_err(to_signature_error)
    }
}

impl signature::hazmat::PrehashSigner<Signature> for SigningKey {
    fn sign_prehash(&self, prehash: &[u8]) -> std::result::Result<Signature, signature::Error> {
        self.sign_digest(prehash).map_err(to_signature_error)
    }
}

impl signature::Keypair for SigningKey {
    type VerifyingKey = PublicKey;

    fn verifying_key(&self) -> PublicKey {
        self.public.clone()
    }
}

impl spki::DynSignatureAlgorithmIdentifier for SigningKey {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        self.scheme
            .algorithm_identifier()
            .map_err(|_| spki::Error::AlgorithmParametersMissing)
    }
}

impl signature::Verifier<Signature> for SigningKey {
    fn verify(
        &self,
        message: &[u8],
        signature: &Signature,
    ) -> std::result::Result<(), signature::Error> {
        match self.verify_message(message, signature) {
            Ok(true) => Ok(()),
            Ok(false) => Err(signature::Error::new()),
            Err(err) => Err(to_signature_error(err)),
        }
    }
}

impl BasicClient {
    /// An owned handle to a signing key, for the RustCrypto traits, CSRs, rustls and rcgen.
    /// Refused locally ([`ClientError::UnsuitableKey`]) unless the key is an ECDSA (NIST
    /// curve) or RSA PKCS#1 v1.5 / PSS key pair allowed to sign hashes.
    pub fn signing_key(&self, key_name: &str) -> Result<SigningKey> {
        SigningKey::new(self.clone(), key_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_protocol::psa::{Algorithm, SignHash};

    #[test]
    fn schemes_follow_the_key_policy() {
        use keys::EccCurve;
        let p256 = keys::ecc_signing_key(EccCurve::P256);
        assert_eq!(
            SignatureScheme::for_key(&p256),
            Ok(SignatureScheme::EcdsaSha256)
        );
        let mut p384 = keys::ecc_signing_key(EccCurve::P384);
        assert_eq!(
            SignatureScheme::for_key(&p384),
            Ok(SignatureScheme::EcdsaSha384)
        );
        p384.policy.permitted_algorithms =
            Algorithm::AsymmetricSignature(AsymmetricSignature::Ecdsa {
                hash_alg: SignHash::Any,
            });
        assert_eq!(
            SignatureScheme::for_key(&p384),
            Ok(SignatureScheme::EcdsaSha384)
        );
        assert_eq!(
            SignatureScheme::for_key(&keys::rsa_signing_key(2048)),
            Ok(SignatureScheme::RsaPkcs1v15Sha256)
        );
        assert_eq!(
            SignatureScheme::for_key(&keys::rsa_pss_signing_key(2048)),
            Ok(SignatureScheme::RsaPssSha256)
        );
        assert!(SignatureScheme::for_key(&keys::rsa_encryption_key(2048, true)).is_err());
        assert!(SignatureScheme::for_key(&keys::aes_gcm_key(128)).is_err());
        assert!(SignatureScheme::for_key(&keys::ecc_agreement_key(EccCurve::P256)).is_err());
    }

    #[test]
    fn pss_identifier_matches_openssl() {
        // `openssl req -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sha256`
        // writes exactly these bytes as its signature algorithm.
        let expected = [
            0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30,
            0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
            0x02, 0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
            0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
            0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20,
        ];
        let ident = SignatureScheme::RsaPssSha256
            .algorithm_identifier()
            .expect("identifier");
        assert_eq!(ident.to_der().expect("der"), expected);
    }

    #[test]
    fn ecdsa_identifiers_have_no_parameters_and_rsa_null() {
        let ecdsa = SignatureScheme::EcdsaSha384
            .algorithm_identifier()
            .expect("id");
        assert_eq!(ecdsa.oid, rfc5912::ECDSA_WITH_SHA_384);
        assert!(ecdsa.parameters.is_none());
        let rsa = SignatureScheme::RsaPkcs1v15Sha256
            .algorithm_identifier()
            .expect("id");
        assert_eq!(rsa.parameters, Some(Any::null()));
    }

    #[test]
    fn signatures_round_trip_their_bytes() {
        use signature::SignatureEncoding;
        let sig = Signature::try_from(&[1u8, 2, 3][..]).expect("sig");
        assert_eq!(sig.to_vec(), vec![1, 2, 3]);
        assert!(Signature::try_from(&[][..]).is_err());
        let ecdsa = encode_signature(SignatureScheme::EcdsaSha256, vec![1; 64]).expect("der");
        assert_eq!(ecdsa.as_bytes()[0], 0x30);
    }
}
