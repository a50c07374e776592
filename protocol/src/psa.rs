//! Typed PSA Crypto key attributes and algorithms, as carried by Parsec's protobuf contracts
//! (`psa_key_attributes.proto`, `psa_algorithm.proto`). No other crate sees the protobuf form.

/// A PSA hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hash {
    Md2,
    Md4,
    Md5,
    Ripemd160,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha512_224,
    Sha512_256,
    Sha3_224,
    Sha3_256,
    Sha3_384,
    Sha3_512,
}

impl Hash {
    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Hash::Md2 | Hash::Md4 | Hash::Md5 => 16,
            Hash::Ripemd160 | Hash::Sha1 => 20,
            Hash::Sha224 | Hash::Sha512_224 | Hash::Sha3_224 => 28,
            Hash::Sha256 | Hash::Sha512_256 | Hash::Sha3_256 => 32,
            Hash::Sha384 | Hash::Sha3_384 => 48,
            Hash::Sha512 | Hash::Sha3_512 => 64,
        }
    }
}

/// The hash part of a signature algorithm: a specific hash, or any (wildcard policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignHash {
    Specific(Hash),
    Any,
}

/// Asymmetric signature algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsymmetricSignature {
    RsaPkcs1v15Sign { hash_alg: SignHash },
    RsaPkcs1v15SignRaw,
    RsaPss { hash_alg: SignHash },
    Ecdsa { hash_alg: SignHash },
    EcdsaAny,
    DeterministicEcdsa { hash_alg: SignHash },
}

/// Asymmetric encryption algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsymmetricEncryption {
    RsaPkcs1v15Crypt,
    RsaOaep { hash_alg: Hash },
}

/// MAC algorithms with their full output length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FullLengthMac {
    Hmac { hash_alg: Hash },
    CbcMac,
    Cmac,
}

/// MAC algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mac {
    FullLength(FullLengthMac),
    Truncated {
        mac_alg: FullLengthMac,
        mac_length: u32,
    },
}

/// Unauthenticated cipher modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cipher {
    StreamCipher,
    Ctr,
    Cfb,
    Ofb,
    Xts,
    EcbNoPadding,
    CbcNoPadding,
    CbcPkcs7,
}

/// AEAD algorithms with their default tag length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AeadWithDefaultLengthTag {
    Ccm,
    Gcm,
    Chacha20Poly1305,
}

/// AEAD algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aead {
    AeadWithDefaultLengthTag(AeadWithDefaultLengthTag),
    AeadWithShortenedTag {
        aead_alg: AeadWithDefaultLengthTag,
        tag_length: u32,
    },
}

/// Raw key agreement algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RawKeyAgreement {
    Ffdh,
    Ecdh,
}

/// Key derivation algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyDerivation {
    Hkdf { hash_alg: Hash },
    Tls12Prf { hash_alg: Hash },
    Tls12PskToMs { hash_alg: Hash },
}

/// Key agreement algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAgreement {
    Raw(RawKeyAgreement),
    WithKeyDerivation {
        ka_alg: RawKeyAgreement,
        kdf_alg: KeyDerivation,
    },
}

/// Any PSA algorithm, as used in a key policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    None,
    Hash(Hash),
    Mac(Mac),
    Cipher(Cipher),
    Aead(Aead),
    AsymmetricSignature(AsymmetricSignature),
    AsymmetricEncryption(AsymmetricEncryption),
    KeyAgreement(KeyAgreement),
    KeyDerivation(KeyDerivation),
}

/// Elliptic-curve families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EccFamily {
    SecpK1,
    SecpR1,
    SecpR2,
    SectK1,
    SectR1,
    SectR2,
    BrainpoolPR1,
    Frp,
    Montgomery,
}

/// Finite-field Diffie-Hellman group families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DhFamily {
    Rfc7919,
}

/// PSA key types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    RawData,
    Hmac,
    Derive,
    Aes,
    Des,
    Camellia,
    Arc4,
    Chacha20,
    RsaPublicKey,
    RsaKeyPair,
    EccKeyPair { curve_family: EccFamily },
    EccPublicKey { curve_family: EccFamily },
    DhKeyPair { group_family: DhFamily },
    DhPublicKey { group_family: DhFamily },
}

impl KeyType {
    /// True for key types whose material includes a private or secret part.
    pub fn is_public_key(self) -> bool {
        matches!(
            self,
            KeyType::RsaPublicKey | KeyType::EccPublicKey { .. } | KeyType::DhPublicKey { .. }
        )
    }

    /// True for key pairs (private + public).
    pub fn is_key_pair(self) -> bool {
        matches!(
            self,
            KeyType::RsaKeyPair | KeyType::EccKeyPair { .. } | KeyType::DhKeyPair { .. }
        )
    }
}

/// The ten PSA usage flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct UsageFlags {
    pub export: bool,
    pub copy: bool,
    pub cache: bool,
    pub encrypt: bool,
    pub decrypt: bool,
    pub sign_message: bool,
    pub verify_message: bool,
    pub sign_hash: bool,
    pub verify_hash: bool,
    pub derive: bool,
}

/// What a key may be used for and with which algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyPolicy {
    pub usage_flags: UsageFlags,
    pub permitted_algorithms: Algorithm,
}

/// The attributes of a key: type, size and policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyAttributes {
    pub key_type: KeyType,
    pub bits: u32,
    pub policy: KeyPolicy,
}

impl SignHash {
    /// True when a request for `requested` fits this policy hash.
    pub fn permits(self, requested: SignHash) -> bool {
        match (self, requested) {
            (SignHash::Any, SignHash::Specific(_)) => true,
            (a, b) => a == b,
        }
    }
}

impl AsymmetricSignature {
    /// True when a key whose policy names `self` may be used with `requested`.
    /// A wildcard-hash policy permits the same scheme with any specific hash (PSA rule).
    pub fn permits(self, requested: AsymmetricSignature) -> bool {
        use AsymmetricSignature::*;
        match (self, requested) {
            (RsaPkcs1v15Sign { hash_alg: p }, RsaPkcs1v15Sign { hash_alg: r })
            | (RsaPss { hash_alg: p }, RsaPss { hash_alg: r })
            | (Ecdsa { hash_alg: p }, Ecdsa { hash_alg: r })
            | (DeterministicEcdsa { hash_alg: p }, DeterministicEcdsa { hash_alg: r }) => {
                p.permits(r)
            }
            (a, b) => a == b,
        }
    }

    /// The hash this algorithm signs with, if it names a specific one.
    pub fn hash(self) -> Option<Hash> {
        use AsymmetricSignature::*;
        match self {
            RsaPkcs1v15Sign {
                hash_alg: SignHash::Specific(h),
            }
            | RsaPss {
                hash_alg: SignHash::Specific(h),
            }
            | Ecdsa {
                hash_alg: SignHash::Specific(h),
            }
            | DeterministicEcdsa {
                hash_alg: SignHash::Specific(h),
            } => Some(h),
            _ => None,
        }
    }
}
