//! What the software provider supports, as data: one table of rows (key type, sizes, whether it
//! can be generated, the permitted algorithms it honours, and the library that serves the row),
//! the hashes, the AEAD nonce and tag lengths, and what it refuses with the reason. It is the
//! single source of truth: CanDoCrypto answers from it, key creation refuses what it does not
//! list (so a key that was created can also be used), the opcodes the provider advertises
//! ([`Table::opcodes`], hence ListOpcodes) are derived from it, and `docs/algorithms.md` is
//! generated from it ([`markdown`]; a test fails when the two disagree).
//!
//! One setting changes the table: `min_rsa_bits` (default 2048) hides the RSA rows below it.

use keyward_protocol::ops::CheckType;
use keyward_protocol::psa::{
    Aead, AeadWithDefaultLengthTag as AeadAlg, Algorithm, AsymmetricEncryption as Enc,
    AsymmetricSignature as Sig, Cipher, EccFamily, FullLengthMac, Hash, KeyAgreement,
    KeyAttributes, KeyType, Mac, RawKeyAgreement, SignHash,
};
use keyward_protocol::Opcode;

use keyward_providers::policy::{
    full_mac_length, normalize_aead, normalize_mac, validate_attributes,
};
use keyward_providers::{key_opcodes, ProviderError};

/// Key sizes a table row accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bits {
    OneOf(&'static [u32]),
    /// Any whole number of bytes in `min..=max` bits.
    Bytes {
        min: u32,
        max: u32,
    },
}

impl Bits {
    fn accepts(self, bits: u32) -> bool {
        match self {
            Bits::OneOf(sizes) => sizes.contains(&bits),
            Bits::Bytes { min, max } => bits % 8 == 0 && (min..=max).contains(&bits),
        }
    }

    fn describe(self) -> String {
        match self {
            Bits::OneOf(sizes) => sizes
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            Bits::Bytes { min, max } => format!("{min}–{max} (whole bytes)"),
        }
    }
}

/// The library that serves a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    AwsLc,
    /// A RustCrypto crate (named), used only where aws-lc-rs lacks the algorithm.
    RustCrypto(&'static str),
}

impl Backend {
    fn describe(self) -> String {
        match self {
            Backend::AwsLc => "aws-lc-rs".to_string(),
            Backend::RustCrypto(krate) => format!("RustCrypto `{krate}`"),
        }
    }
}

/// One row: keys of `key_type` and `bits` with these permitted algorithms.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Capability {
    pub key_type: KeyType,
    pub bits: Bits,
    pub generate: bool,
    /// Permitted algorithms (as key policies) the provider can honour. `Algorithm::None` (a key
    /// for storage and export only) is always accepted for creation.
    pub algorithms: &'static [Algorithm],
    pub backend: Backend,
}

const fn sig(s: Sig) -> Algorithm {
    Algorithm::AsymmetricSignature(s)
}
const fn spec(h: Hash) -> SignHash {
    SignHash::Specific(h)
}
const fn ecdsa(h: SignHash) -> Algorithm {
    sig(Sig::Ecdsa { hash_alg: h })
}
const fn det(h: SignHash) -> Algorithm {
    sig(Sig::DeterministicEcdsa { hash_alg: h })
}
const fn pkcs1(h: SignHash) -> Algorithm {
    sig(Sig::RsaPkcs1v15Sign { hash_alg: h })
}
const fn pss(h: SignHash) -> Algorithm {
    sig(Sig::RsaPss { hash_alg: h })
}
const fn oaep(h: Hash) -> Algorithm {
    Algorithm::AsymmetricEncryption(Enc::RsaOaep { hash_alg: h })
}
const fn short_tag(alg: AeadAlg, tag_length: u32) -> Algorithm {
    Algorithm::Aead(Aead::AeadWithShortenedTag {
        aead_alg: alg,
        tag_length,
    })
}
const ECDH: Algorithm = Algorithm::KeyAgreement(KeyAgreement::Raw(RawKeyAgreement::Ecdh));

const ECC_PAIR_ALGS: &[Algorithm] = &[
    ecdsa(SignHash::Any),
    ecdsa(spec(Hash::Sha256)),
    ecdsa(spec(Hash::Sha384)),
    ecdsa(spec(Hash::Sha512)),
    ecdsa(spec(Hash::Ripemd160)),
    sig(Sig::EcdsaAny),
    ECDH,
];

const DET_ECDSA_ALGS: &[Algorithm] = &[
    det(SignHash::Any),
    det(spec(Hash::Sha256)),
    det(spec(Hash::Sha384)),
    det(spec(Hash::Sha512)),
];

// Verification of deterministic ECDSA is plain ECDSA verification.
const ECC_PUBLIC_ALGS: &[Algorithm] = &[
    ecdsa(SignHash::Any),
    ecdsa(spec(Hash::Sha256)),
    ecdsa(spec(Hash::Sha384)),
    ecdsa(spec(Hash::Sha512)),
    ecdsa(spec(Hash::Ripemd160)),
    sig(Sig::EcdsaAny),
    det(SignHash::Any),
    det(spec(Hash::Sha256)),
    det(spec(Hash::Sha384)),
    det(spec(Hash::Sha512)),
];

const BRAINPOOL_PAIR_ALGS: &[Algorithm] = &[
    ecdsa(SignHash::Any),
    ecdsa(spec(Hash::Sha256)),
    ecdsa(spec(Hash::Sha384)),
    ecdsa(spec(Hash::Sha512)),
    ecdsa(spec(Hash::Ripemd160)),
    sig(Sig::EcdsaAny),
    det(SignHash::Any),
    det(spec(Hash::Sha256)),
    det(spec(Hash::Sha384)),
    det(spec(Hash::Sha512)),
    ECDH,
];

const X25519_ALGS: &[Algorithm] = &[ECDH];

const RSA_ALGS: &[Algorithm] = &[
    pkcs1(SignHash::Any),
    pkcs1(spec(Hash::Sha256)),
    pkcs1(spec(Hash::Sha384)),
    pkcs1(spec(Hash::Sha512)),
    pss(SignHash::Any),
    pss(spec(Hash::Sha256)),
    pss(spec(Hash::Sha384)),
    pss(spec(Hash::Sha512)),
    Algorithm::AsymmetricEncryption(Enc::RsaPkcs1v15Crypt),
    oaep(Hash::Sha1),
    oaep(Hash::Sha256),
    oaep(Hash::Sha384),
    oaep(Hash::Sha512),
];

/// What aws-lc-rs cannot do with RSA keys of any size.
const RSA_EXTRA_ALGS: &[Algorithm] = &[
    sig(Sig::RsaPkcs1v15SignRaw),
    pkcs1(spec(Hash::Ripemd160)),
    pss(spec(Hash::Ripemd160)),
];

/// Everything, for keys below 2048 bits (all on the `rsa` crate).
const RSA_SMALL_ALGS: &[Algorithm] = &[
    pkcs1(SignHash::Any),
    pkcs1(spec(Hash::Sha256)),
    pkcs1(spec(Hash::Sha384)),
    pkcs1(spec(Hash::Sha512)),
    pss(SignHash::Any),
    pss(spec(Hash::Sha256)),
    pss(spec(Hash::Sha384)),
    pss(spec(Hash::Sha512)),
    Algorithm::AsymmetricEncryption(Enc::RsaPkcs1v15Crypt),
    oaep(Hash::Sha1),
    oaep(Hash::Sha256),
    oaep(Hash::Sha384),
    oaep(Hash::Sha512),
    sig(Sig::RsaPkcs1v15SignRaw),
    pkcs1(spec(Hash::Ripemd160)),
    pss(spec(Hash::Ripemd160)),
];

const AES_ALGS: &[Algorithm] = &[
    Algorithm::Aead(Aead::AeadWithDefaultLengthTag(AeadAlg::Gcm)),
    Algorithm::Cipher(Cipher::Ctr),
    Algorithm::Cipher(Cipher::Cfb),
    Algorithm::Cipher(Cipher::Ofb),
    Algorithm::Cipher(Cipher::CbcNoPadding),
    Algorithm::Cipher(Cipher::CbcPkcs7),
    Algorithm::Cipher(Cipher::EcbNoPadding),
    Algorithm::Mac(Mac::FullLength(FullLengthMac::Cmac)),
];

const AES_GCM_SHORT_ALGS: &[Algorithm] = &[
    short_tag(AeadAlg::Gcm, 12),
    short_tag(AeadAlg::Gcm, 13),
    short_tag(AeadAlg::Gcm, 14),
    short_tag(AeadAlg::Gcm, 15),
];

const AES_CCM_ALGS: &[Algorithm] = &[
    Algorithm::Aead(Aead::AeadWithDefaultLengthTag(AeadAlg::Ccm)),
    short_tag(AeadAlg::Ccm, 4),
    short_tag(AeadAlg::Ccm, 6),
    short_tag(AeadAlg::Ccm, 8),
    short_tag(AeadAlg::Ccm, 10),
    short_tag(AeadAlg::Ccm, 12),
    short_tag(AeadAlg::Ccm, 14),
];

const CHACHA20_ALGS: &[Algorithm] = &[Algorithm::Aead(Aead::AeadWithDefaultLengthTag(
    AeadAlg::Chacha20Poly1305,
))];

const HMAC_ALGS: &[Algorithm] = &[
    Algorithm::Mac(Mac::FullLength(FullLengthMac::Hmac {
        hash_alg: Hash::Sha256,
    })),
    Algorithm::Mac(Mac::FullLength(FullLengthMac::Hmac {
        hash_alg: Hash::Sha384,
    })),
    Algorithm::Mac(Mac::FullLength(FullLengthMac::Hmac {
        hash_alg: Hash::Sha512,
    })),
];

const SECP_R1_PAIR: KeyType = KeyType::EccKeyPair {
    curve_family: EccFamily::SecpR1,
};
const SECP_R1_PUBLIC: KeyType = KeyType::EccPublicKey {
    curve_family: EccFamily::SecpR1,
};
const BRAINPOOL_PAIR: KeyType = KeyType::EccKeyPair {
    curve_family: EccFamily::BrainpoolPR1,
};
const BRAINPOOL_PUBLIC: KeyType = KeyType::EccPublicKey {
    curve_family: EccFamily::BrainpoolPR1,
};
const X25519_PAIR: KeyType = KeyType::EccKeyPair {
    curve_family: EccFamily::Montgomery,
};
const X25519_PUBLIC: KeyType = KeyType::EccPublicKey {
    curve_family: EccFamily::Montgomery,
};

/// RSA sizes aws-lc-rs serves.
const RSA_BITS: Bits = Bits::OneOf(&[2048, 3072, 4096]);
/// RSA sizes below 2048 bits, on the `rsa` crate, offered only when `min_rsa_bits` allows.
pub(crate) const RSA_SMALL_BITS: &[u32] = &[1024, 1536];
/// The safe default of `min_rsa_bits`.
pub const DEFAULT_MIN_RSA_BITS: u32 = 2048;

/// Everything the software provider supports (before `min_rsa_bits` hides small RSA keys).
pub(crate) const CAPABILITIES: &[Capability] = &[
    Capability {
        key_type: SECP_R1_PAIR,
        bits: Bits::OneOf(&[256, 384]),
        generate: true,
        algorithms: ECC_PAIR_ALGS,
        backend: Backend::AwsLc,
    },
    Capability {
        key_type: SECP_R1_PAIR,
        bits: Bits::OneOf(&[256, 384]),
        generate: true,
        algorithms: DET_ECDSA_ALGS,
        backend: Backend::RustCrypto("p256/p384 + ecdsa (RFC 6979)"),
    },
    Capability {
        key_type: SECP_R1_PUBLIC,
        bits: Bits::OneOf(&[256, 384]),
        generate: false,
        algorithms: ECC_PUBLIC_ALGS,
        backend: Backend::AwsLc,
    },
    Capability {
        key_type: BRAINPOOL_PAIR,
        bits: Bits::OneOf(&[256, 384]),
        generate: true,
        algorithms: BRAINPOOL_PAIR_ALGS,
        backend: Backend::RustCrypto("bp256/bp384 + ecdsa"),
    },
    Capability {
        key_type: BRAINPOOL_PUBLIC,
        bits: Bits::OneOf(&[256, 384]),
        generate: false,
        algorithms: ECC_PUBLIC_ALGS,
        backend: Backend::RustCrypto("bp256/bp384 + ecdsa"),
    },
    Capability {
        key_type: X25519_PAIR,
        bits: Bits::OneOf(&[255]),
        generate: true,
        algorithms: X25519_ALGS,
        backend: Backend::AwsLc,
    },
    Capability {
        key_type: X25519_PUBLIC,
        bits: Bits::OneOf(&[255]),
        generate: false,
        algorithms: X25519_ALGS,
        backend: Backend::AwsLc,
    },
    Capability {
        key_type: KeyType::RsaKeyPair,
        bits: RSA_BITS,
        generate: true,
        algorithms: RSA_ALGS,
        backend: Backend::AwsLc,
    },
    Capability {
        key_type: KeyType::RsaKeyPair,
        bits: RSA_BITS,
        generate: true,
        algorithms: RSA_EXTRA_ALGS,
        backend: Backend::RustCrypto("rsa"),
    },
    Capability {
        key_type: KeyType::RsaKeyPair,
        bits: Bits::OneOf(RSA_SMALL_BITS),
        generate: true,
        algorithms: RSA_SMALL_ALGS,
        backend: Backend::RustCrypto("rsa"),
    },
    Capability {
        key_type: KeyType::RsaPublicKey,
        bits: RSA_BITS,
        generate: false,
        algorithms: RSA_ALGS,
        backend: Backend::AwsLc,
    },
    Capability {
        key_type: KeyType::RsaPublicKey,
        bits: RSA_BITS,
        generate: false,
        algorithms: RSA_EXTRA_ALGS,
        backend: Backend::RustCrypto("rsa"),
    },
    Capability {
        key_type: KeyType::RsaPublicKey,
        bits: Bits::OneOf(RSA_SMALL_BITS),
        generate: false,
        algorithms: RSA_SMALL_ALGS,
        backend: Backend::RustCrypto("rsa"),
    },
    Capability {
        key_type: KeyType::Aes,
        bits: Bits::OneOf(&[128, 192, 256]),
        generate: true,
        algorithms: AES_ALGS,
        backend: Backend::AwsLc,
    },
    Capability {
        key_type: KeyType::Aes,
        bits: Bits::OneOf(&[128, 192, 256]),
        generate: true,
        algorithms: AES_GCM_SHORT_ALGS,
        backend: Backend::RustCrypto("aes-gcm"),
    },
    Capability {
        key_type: KeyType::Aes,
        bits: Bits::OneOf(&[128, 192, 256]),
        generate: true,
        algorithms: AES_CCM_ALGS,
        backend: Backend::RustCrypto("ccm"),
    },
    Capability {
        key_type: KeyType::Chacha20,
        bits: Bits::OneOf(&[256]),
        generate: true,
        algorithms: CHACHA20_ALGS,
        backend: Backend::AwsLc,
    },
    Capability {
        key_type: KeyType::Hmac,
        bits: Bits::Bytes { min: 64, max: 8192 },
        generate: true,
        algorithms: HMAC_ALGS,
        backend: Backend::AwsLc,
    },
    Capability {
        key_type: KeyType::RawData,
        bits: Bits::Bytes { min: 8, max: 8192 },
        generate: true,
        algorithms: &[],
        backend: Backend::AwsLc,
    },
];

/// The hashes the provider computes, with their backend (`hash.rs` serves exactly these).
pub(crate) const HASHES: &[(Hash, Backend)] = &[
    (Hash::Sha224, Backend::AwsLc),
    (Hash::Sha256, Backend::AwsLc),
    (Hash::Sha384, Backend::AwsLc),
    (Hash::Sha512, Backend::AwsLc),
    (Hash::Sha512_256, Backend::AwsLc),
    (Hash::Sha3_256, Backend::AwsLc),
    (Hash::Sha3_384, Backend::AwsLc),
    (Hash::Sha3_512, Backend::AwsLc),
    (Hash::Ripemd160, Backend::RustCrypto("ripemd")),
];

/// Nonce lengths (bytes, inclusive) each AEAD accepts, and which backend serves which nonce and
/// tag combination (`aead.rs` reads this).
pub(crate) const AEAD_NONCES: &[(AeadAlg, u32, u32, &str)] = &[
    (
        AeadAlg::Gcm,
        7,
        16,
        "12-byte nonce with the 16-byte tag on aws-lc-rs; other nonces and tags on RustCrypto `aes-gcm`",
    ),
    (AeadAlg::Ccm, 7, 13, "RustCrypto `ccm` (L = 15 − nonce length)"),
    (AeadAlg::Chacha20Poly1305, 12, 12, "aws-lc-rs"),
];

/// The nonce lengths `alg` accepts.
pub(crate) fn nonce_range(alg: AeadAlg) -> (u32, u32) {
    AEAD_NONCES
        .iter()
        .find(|(a, ..)| *a == alg)
        .map_or((0, 0), |(_, min, max, _)| (*min, *max))
}

/// What the provider refuses although the PSA encoding can name it, and why. `docs/algorithms.md`
/// lists these; each is `PsaErrorNotSupported` on the wire (except where noted).
pub(crate) const REFUSED: &[(&str, &str)] = &[
    (
        "RSA keys below `min_rsa_bits` (default 2048)",
        "factorable by well-funded attackers; offered for Parsec compatibility only when an administrator lowers `min_rsa_bits` (1024 at the lowest), on the RustCrypto `rsa` crate, whose PKCS#1 v1.5 decryption is not constant time (SECURITY.md)",
    ),
    (
        "RSA keys other than 1024, 1536, 2048, 3072 and 4096 bits",
        "no tested need; the sizes Parsec clients use are offered",
    ),
    (
        "brainpoolP512r1",
        "neither aws-lc-rs nor a maintained RustCrypto crate implements it; no hand-written curve arithmetic",
    ),
    (
        "Other curves: secp192r1, secp224r1, secp521r1, secp256k1, Curve448 (X448), SECT curves",
        "not offered by the software provider (no request for them; P-521 and secp256k1 could be added on aws-lc-rs)",
    ),
    (
        "AES-GCM with 4- or 8-byte tags",
        "NIST SP 800-38D Appendix C restricts 32- and 64-bit tags to short messages and few invocations; `aes-gcm` does not offer them. Other lengths outside 4–16 are `PsaErrorInvalidArgument`",
    ),
    (
        "AES-GCM nonces shorter than 7 or longer than 16 bytes",
        "valid in GCM but hashed to a short counter block, raising collision risk; not offered",
    ),
    (
        "AEAD tag lengths a mode does not define (e.g. GCM 17, CCM odd lengths)",
        "`PsaErrorInvalidArgument` at key creation and import, as PSA specifies",
    ),
    (
        "RSA-OAEP with a non-UTF-8 label on keys below 2048 bits",
        "the `rsa` crate takes OAEP labels as strings",
    ),
    (
        "Operations with RSA keys below `min_rsa_bits` created while it was lower",
        "raising `min_rsa_bits` retires them; they can still be exported and destroyed",
    ),
    (
        "ChaCha20-Poly1305 with a shortened tag",
        "PSA defines only the 16-byte tag",
    ),
    (
        "Ed25519/Ed448 (EdDSA)",
        "Parsec's wire encoding has no EdDSA algorithm and no Twisted Edwards curve family",
    ),
    (
        "MD2, MD4, MD5, SHA-1, SHA-512/224 and SHA3-224 as hashes and signature hashes",
        "broken or unneeded; SHA-1 is offered only inside OAEP",
    ),
    (
        "Finite-field Diffie-Hellman, key derivation",
        "not implemented",
    ),
    (
        "DES, 3DES, Camellia, ARC4, stream ciphers, CBC-MAC, XTS",
        "legacy or unneeded",
    ),
];

/// The table as configured: RSA rows below `min_rsa_bits` are hidden.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table {
    pub min_rsa_bits: u32,
}

impl Table {
    fn allows_bits(self, key_type: KeyType, bits: u32) -> bool {
        !matches!(key_type, KeyType::RsaKeyPair | KeyType::RsaPublicKey)
            || bits >= self.min_rsa_bits
    }

    /// The rows visible under this configuration, with their size sets.
    fn rows(self) -> impl Iterator<Item = &'static Capability> {
        CAPABILITIES.iter().filter(move |c| match c.bits {
            Bits::OneOf(sizes) => sizes.iter().any(|b| self.allows_bits(c.key_type, *b)),
            Bits::Bytes { .. } => true,
        })
    }

    /// The opcodes the table makes usable, sorted by wire value: the key operations of every
    /// supported key type and algorithm, key management, hashing, random bytes and CanDoCrypto.
    pub(crate) fn opcodes(self) -> Vec<Opcode> {
        let rows: Vec<Capability> = self.rows().copied().collect();
        let hashes: Vec<Hash> = HASHES.iter().map(|(h, _)| *h).collect();
        opcodes_of(&rows, &hashes)
    }

    /// CanDoCrypto. A key attribute set with no usage flag at all is never usable (Parsec's
    /// rule), so it answers false whatever the check type.
    pub(crate) fn can_do(self, check: CheckType, attributes: &KeyAttributes) -> bool {
        attributes.policy.usage_flags != keyward_protocol::psa::UsageFlags::default()
            && self.check_key(check, attributes).is_ok()
    }

    /// The key type is supported at some size (before the size is known).
    pub(crate) fn check_key_type(self, attributes: &KeyAttributes) -> Result<(), ProviderError> {
        validate_attributes(attributes)?;
        let key_type = attributes.key_type;
        if self.rows().any(|c| c.key_type == key_type) {
            Ok(())
        } else {
            Err(ProviderError::not_supported(format!("{key_type:?} keys")))
        }
    }

    /// Whether a key with `attributes` can be used / generated / imported, with a precise error
    /// when not: `InvalidArgument` for attributes PSA calls invalid, `NotSupported` otherwise.
    pub(crate) fn check_key(
        self,
        check: CheckType,
        attributes: &KeyAttributes,
    ) -> Result<(), ProviderError> {
        self.check_key_type(attributes)?;
        let key_type = attributes.key_type;
        let bits = attributes.bits;
        let sized: Vec<&Capability> = self
            .rows()
            .filter(|c| c.key_type == key_type)
            .filter(|c| match (check, bits) {
                // Import may leave the size to the data.
                (CheckType::Import, 0) => true,
                (_, bits) => c.bits.accepts(bits) && self.allows_bits(key_type, bits),
            })
            .collect();
        if sized.is_empty() {
            return Err(ProviderError::not_supported(format!(
                "{bits} bit {key_type:?} keys"
            )));
        }
        let alg = attributes.policy.permitted_algorithms;
        match check {
            CheckType::Derive => {
                return Err(ProviderError::not_supported("key derivation"));
            }
            CheckType::Generate if !sized.iter().any(|c| c.generate) => {
                return Err(ProviderError::invalid(format!(
                    "{key_type:?} keys cannot be generated"
                )));
            }
            CheckType::Use if alg == Algorithm::None => {
                return Err(ProviderError::not_supported(
                    "a key without a permitted algorithm",
                ));
            }
            _ => {}
        }
        if alg == Algorithm::None || sized.iter().any(|c| supports_algorithm(c, alg, key_type)) {
            Ok(())
        } else {
            Err(ProviderError::not_supported(format!(
                "{alg:?} with {key_type:?} keys"
            )))
        }
    }
}

fn opcodes_of(capabilities: &[Capability], hashes: &[Hash]) -> Vec<Opcode> {
    use Opcode as O;
    let mut opcodes: Vec<Opcode> = capabilities
        .iter()
        .flat_map(|c| {
            c.algorithms
                .iter()
                .flat_map(move |alg| key_opcodes(c.key_type, *alg).iter().copied())
        })
        .collect();
    if !capabilities.is_empty() {
        opcodes.extend([O::PsaImportKey, O::PsaExportKey, O::PsaDestroyKey]);
    }
    if capabilities.iter().any(|c| c.generate) {
        opcodes.push(O::PsaGenerateKey);
    }
    if capabilities
        .iter()
        .any(|c| c.key_type.is_key_pair() || c.key_type.is_public_key())
    {
        opcodes.push(O::PsaExportPublicKey);
    }
    if !hashes.is_empty() {
        opcodes.extend([O::PsaHashCompute, O::PsaHashCompare]);
    }
    // aws-lc's DRBG is always there.
    opcodes.extend([O::PsaGenerateRandom, O::CanDoCrypto]);
    opcodes.sort_unstable();
    opcodes.dedup();
    opcodes
}

/// Shortest truncated MAC the provider produces or accepts, in bytes.
pub(crate) const MIN_TRUNCATED_MAC: u32 = 4;

fn supports_algorithm(capability: &Capability, alg: Algorithm, key_type: KeyType) -> bool {
    let normalized = match alg {
        Algorithm::Mac(mac) => match normalize_mac(mac, key_type) {
            // A truncation of a supported MAC is supported within sane lengths.
            Mac::Truncated {
                mac_alg,
                mac_length,
            } => {
                let full = full_mac_length(mac_alg, key_type).unwrap_or(0);
                if mac_length < MIN_TRUNCATED_MAC || mac_length > full {
                    return false;
                }
                Algorithm::Mac(Mac::FullLength(mac_alg))
            }
            full => Algorithm::Mac(full),
        },
        Algorithm::Aead(aead) => Algorithm::Aead(normalize_aead(aead)),
        other => other,
    };
    capability.algorithms.contains(&normalized)
}

/// A readable name for a permitted algorithm, for the generated documentation.
pub(crate) fn algorithm_name(alg: Algorithm) -> String {
    fn hash(h: Hash) -> String {
        match h {
            Hash::Sha1 => "SHA-1".into(),
            Hash::Sha224 => "SHA-224".into(),
            Hash::Sha256 => "SHA-256".into(),
            Hash::Sha384 => "SHA-384".into(),
            Hash::Sha512 => "SHA-512".into(),
            Hash::Sha512_256 => "SHA-512/256".into(),
            Hash::Sha3_256 => "SHA3-256".into(),
            Hash::Sha3_384 => "SHA3-384".into(),
            Hash::Sha3_512 => "SHA3-512".into(),
            Hash::Ripemd160 => "RIPEMD-160".into(),
            other => format!("{other:?}"),
        }
    }
    fn sign_hash(h: SignHash) -> String {
        match h {
            SignHash::Specific(h) => hash(h),
            SignHash::Any => "any hash".into(),
        }
    }
    fn aead(a: AeadAlg) -> &'static str {
        match a {
            AeadAlg::Gcm => "GCM",
            AeadAlg::Ccm => "CCM",
            AeadAlg::Chacha20Poly1305 => "ChaCha20-Poly1305",
        }
    }
    match alg {
        Algorithm::AsymmetricSignature(s) => match s {
            Sig::Ecdsa { hash_alg } => format!("ECDSA({})", sign_hash(hash_alg)),
            Sig::EcdsaAny => "ECDSA-any (raw hash)".into(),
            Sig::DeterministicEcdsa { hash_alg } => {
                format!("deterministic ECDSA({})", sign_hash(hash_alg))
            }
            Sig::RsaPkcs1v15Sign { hash_alg } => {
                format!("RSA PKCS#1 v1.5 sign({})", sign_hash(hash_alg))
            }
            Sig::RsaPkcs1v15SignRaw => "RSA PKCS#1 v1.5 sign raw".into(),
            Sig::RsaPss { hash_alg } => format!("RSA-PSS({})", sign_hash(hash_alg)),
        },
        Algorithm::AsymmetricEncryption(Enc::RsaPkcs1v15Crypt) => "RSA PKCS#1 v1.5 encrypt".into(),
        Algorithm::AsymmetricEncryption(Enc::RsaOaep { hash_alg }) => {
            format!("RSA-OAEP({})", hash(hash_alg))
        }
        Algorithm::Aead(Aead::AeadWithDefaultLengthTag(a)) => aead(a).into(),
        Algorithm::Aead(Aead::AeadWithShortenedTag {
            aead_alg,
            tag_length,
        }) => format!("{} {tag_length}-byte tag", aead(aead_alg)),
        Algorithm::Cipher(c) => match c {
            Cipher::Ctr => "CTR".into(),
            Cipher::Cfb => "CFB".into(),
            Cipher::Ofb => "OFB".into(),
            Cipher::CbcNoPadding => "CBC (no padding)".into(),
            Cipher::CbcPkcs7 => "CBC-PKCS#7".into(),
            Cipher::EcbNoPadding => "ECB (no padding)".into(),
            other => format!("{other:?}"),
        },
        Algorithm::Mac(Mac::FullLength(FullLengthMac::Cmac)) => "CMAC (and truncations)".into(),
        Algorithm::Mac(Mac::FullLength(FullLengthMac::Hmac { hash_alg })) => {
            format!("HMAC({}) (and truncations)", hash(hash_alg))
        }
        Algorithm::KeyAgreement(KeyAgreement::Raw(RawKeyAgreement::Ecdh)) => "ECDH (raw)".into(),
        other => format!("{other:?}"),
    }
}

fn key_type_name(key_type: KeyType) -> String {
    match key_type {
        KeyType::EccKeyPair { curve_family } => {
            format!("ECC key pair ({})", family_name(curve_family))
        }
        KeyType::EccPublicKey { curve_family } => {
            format!("ECC public key ({})", family_name(curve_family))
        }
        KeyType::RsaKeyPair => "RSA key pair".into(),
        KeyType::RsaPublicKey => "RSA public key".into(),
        KeyType::Aes => "AES".into(),
        KeyType::Chacha20 => "ChaCha20".into(),
        KeyType::Hmac => "HMAC".into(),
        KeyType::RawData => "Raw data".into(),
        other => format!("{other:?}"),
    }
}

fn family_name(family: EccFamily) -> &'static str {
    match family {
        EccFamily::SecpR1 => "SECP-R1: P-256, P-384",
        EccFamily::BrainpoolPR1 => "Brainpool P-R1: brainpoolP256r1, brainpoolP384r1",
        EccFamily::Montgomery => "Montgomery: X25519",
        _ => "other",
    }
}

/// Marker lines around the generated part of `docs/algorithms.md`.
pub const DOC_BEGIN: &str =
    "<!-- BEGIN software provider table: generated from providers/software/src/capabilities.rs -->";
pub const DOC_END: &str = "<!-- END software provider table -->";

/// The software provider's part of `docs/algorithms.md`, generated from the table (the default
/// `min_rsa_bits`; the rows it hides are marked).
pub fn markdown() -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "{DOC_BEGIN}");
    let _ = writeln!(
        out,
        "\n| Key type | Bits | Generate | Permitted algorithms | Opcodes | Backend |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    let default = Table {
        min_rsa_bits: DEFAULT_MIN_RSA_BITS,
    };
    for c in CAPABILITIES {
        let mut algorithms: Vec<String> = c.algorithms.iter().map(|a| algorithm_name(*a)).collect();
        if algorithms.is_empty() {
            algorithms.push("none (storage and export)".into());
        }
        let mut opcodes: Vec<Opcode> = c
            .algorithms
            .iter()
            .flat_map(|a| key_opcodes(c.key_type, *a).iter().copied())
            .collect();
        opcodes.sort_unstable();
        opcodes.dedup();
        let opcodes: Vec<String> = opcodes.iter().map(|o| format!("{o:?}")).collect();
        let hidden = match c.bits {
            Bits::OneOf(sizes) => !sizes.iter().any(|b| default.allows_bits(c.key_type, *b)),
            Bits::Bytes { .. } => false,
        };
        let bits = if hidden {
            format!("{} (only with `min_rsa_bits` lowered)", c.bits.describe())
        } else {
            c.bits.describe()
        };
        let _ = writeln!(
            out,
            "| {} | {bits} | {} | {} | {} | {} |",
            key_type_name(c.key_type),
            if c.generate { "yes" } else { "no (import)" },
            algorithms.join(", "),
            if opcodes.is_empty() {
                "none (import, export)".to_string()
            } else {
                opcodes.join(", ")
            },
            c.backend.describe()
        );
    }
    let _ = writeln!(out, "\nHashes (HashCompute, HashCompare):\n");
    let _ = writeln!(out, "| Hash | Backend |\n|---|---|");
    for (hash, backend) in HASHES {
        let _ = writeln!(
            out,
            "| {} | {} |",
            algorithm_name(Algorithm::AsymmetricSignature(Sig::Ecdsa {
                hash_alg: SignHash::Specific(*hash)
            }))
            .trim_start_matches("ECDSA(")
            .trim_end_matches(')'),
            backend.describe()
        );
    }
    let _ = writeln!(out, "\nAEAD nonce lengths:\n");
    let _ = writeln!(out, "| AEAD | Nonce bytes | Backend |\n|---|---|---|");
    for (alg, min, max, note) in AEAD_NONCES {
        let range = if min == max {
            min.to_string()
        } else {
            format!("{min}–{max}")
        };
        let _ = writeln!(
            out,
            "| {} | {range} | {note} |",
            algorithm_name(Algorithm::Aead(Aead::AeadWithDefaultLengthTag(*alg)))
        );
    }
    let _ = writeln!(out, "\nRefused (`PsaErrorNotSupported` unless noted):\n");
    let _ = writeln!(out, "| Refused | Why |\n|---|---|");
    for (what, why) in REFUSED {
        let _ = writeln!(out, "| {what} | {why} |");
    }
    let _ = writeln!(out, "\n{DOC_END}");
    out
}
#[cfg(test)]
mod tests {
    use super::*;
    use keyward_protocol::psa::{KeyPolicy, UsageFlags};

    fn attrs(key_type: KeyType, bits: u32, alg: Algorithm) -> KeyAttributes {
        KeyAttributes {
            key_type,
            bits,
            policy: KeyPolicy {
                // One flag: CanDoCrypto refuses attributes without any (tested on its own).
                usage_flags: UsageFlags {
                    export: true,
                    ..UsageFlags::default()
                },
                permitted_algorithms: alg,
            },
        }
    }

    fn can_do(check: CheckType, attributes: &KeyAttributes) -> bool {
        DEFAULT.can_do(check, attributes)
    }

    fn check_key(check: CheckType, attributes: &KeyAttributes) -> Result<(), ProviderError> {
        DEFAULT.check_key(check, attributes)
    }

    fn opcodes() -> Vec<Opcode> {
        DEFAULT.opcodes()
    }

    const DEFAULT: Table = Table {
        min_rsa_bits: DEFAULT_MIN_RSA_BITS,
    };

    #[test]
    fn can_do_table() {
        use CheckType::{Derive, Generate, Import, Use};
        let ecdsa256 = sig(Sig::Ecdsa {
            hash_alg: spec(Hash::Sha256),
        });
        let det = sig(Sig::DeterministicEcdsa {
            hash_alg: spec(Hash::Sha256),
        });
        let pss = sig(Sig::RsaPss {
            hash_alg: spec(Hash::Sha384),
        });
        let raw_pkcs1 = sig(Sig::RsaPkcs1v15SignRaw);
        let gcm = Algorithm::Aead(Aead::AeadWithDefaultLengthTag(AeadAlg::Gcm));
        let ccm = Algorithm::Aead(Aead::AeadWithDefaultLengthTag(AeadAlg::Ccm));
        let gcm_short = Algorithm::Aead(Aead::AeadWithShortenedTag {
            aead_alg: AeadAlg::Gcm,
            tag_length: 8,
        });
        let gcm_16 = Algorithm::Aead(Aead::AeadWithShortenedTag {
            aead_alg: AeadAlg::Gcm,
            tag_length: 16,
        });
        let hmac256 = FullLengthMac::Hmac {
            hash_alg: Hash::Sha256,
        };
        let hmac_trunc = |n| {
            Algorithm::Mac(Mac::Truncated {
                mac_alg: hmac256,
                mac_length: n,
            })
        };
        let ecdh = Algorithm::KeyAgreement(KeyAgreement::Raw(RawKeyAgreement::Ecdh));
        let cases: Vec<(CheckType, KeyType, u32, Algorithm, bool)> = vec![
            (Use, SECP_R1_PAIR, 256, ecdsa256, true),
            (Generate, SECP_R1_PAIR, 384, ecdsa256, true),
            (Import, SECP_R1_PAIR, 0, ecdsa256, true),
            (Use, SECP_R1_PAIR, 0, ecdsa256, false),
            (Use, SECP_R1_PAIR, 521, ecdsa256, false),
            (Use, SECP_R1_PAIR, 256, ecdh, true),
            // Closed gap (issue 8): deterministic ECDSA signing.
            (Use, SECP_R1_PAIR, 256, det, true),
            (Use, SECP_R1_PUBLIC, 256, det, true),
            (Generate, SECP_R1_PUBLIC, 256, ecdsa256, false),
            (Import, SECP_R1_PUBLIC, 256, ecdsa256, true),
            (
                Use,
                KeyType::EccKeyPair {
                    curve_family: EccFamily::SecpK1,
                },
                256,
                ecdsa256,
                false,
            ),
            (Derive, SECP_R1_PAIR, 256, ecdsa256, false),
            (Use, KeyType::RsaKeyPair, 2048, pss, true),
            (Generate, KeyType::RsaKeyPair, 4096, pss, true),
            (Generate, KeyType::RsaKeyPair, 1024, pss, false),
            // Closed gap (issue 8): raw PKCS#1 v1.5 signing.
            (Use, KeyType::RsaKeyPair, 2048, raw_pkcs1, true),
            (Use, KeyType::RsaKeyPair, 2048, ecdsa256, false),
            (Use, KeyType::Aes, 128, gcm, true),
            (Use, KeyType::Aes, 256, gcm_16, true),
            // 8-byte GCM tags stay refused (SP 800-38D Appendix C).
            (Use, KeyType::Aes, 256, gcm_short, false),
            // Closed gap (issue 8): AES-CCM.
            (Use, KeyType::Aes, 256, ccm, true),
            (
                Use,
                KeyType::Aes,
                256,
                Algorithm::Cipher(Cipher::CbcPkcs7),
                true,
            ),
            (
                Use,
                KeyType::Aes,
                256,
                Algorithm::Cipher(Cipher::Xts),
                false,
            ),
            (Use, KeyType::Aes, 256, Algorithm::None, false),
            (Generate, KeyType::Aes, 256, Algorithm::None, true),
            (
                Use,
                KeyType::Hmac,
                256,
                Algorithm::Mac(Mac::FullLength(hmac256)),
                true,
            ),
            (Use, KeyType::Hmac, 256, hmac_trunc(16), true),
            (Use, KeyType::Hmac, 256, hmac_trunc(32), true),
            (Use, KeyType::Hmac, 256, hmac_trunc(2), false),
            (Use, KeyType::Hmac, 256, hmac_trunc(33), false),
            (
                Use,
                KeyType::Hmac,
                12,
                Algorithm::Mac(Mac::FullLength(hmac256)),
                false,
            ),
            (Use, KeyType::Chacha20, 256, gcm, false),
            (Generate, KeyType::RawData, 256, Algorithm::None, true),
            (Generate, KeyType::Des, 64, Algorithm::None, false),
        ];
        for (check, key_type, bits, alg, expected) in cases {
            assert_eq!(
                can_do(check, &attrs(key_type, bits, alg)),
                expected,
                "{check:?} {key_type:?} {bits} {alg:?}"
            );
        }
    }

    #[test]
    fn errors_distinguish_invalid_from_unsupported() {
        let ecdsa = sig(Sig::Ecdsa {
            hash_alg: spec(Hash::Sha256),
        });
        assert!(matches!(
            check_key(CheckType::Generate, &attrs(KeyType::Aes, 128, ecdsa)),
            Err(ProviderError::InvalidArgument(_))
        ));
        assert!(matches!(
            check_key(
                CheckType::Generate,
                &attrs(KeyType::Camellia, 128, Algorithm::None)
            ),
            Err(ProviderError::NotSupported(_))
        ));
        assert!(matches!(
            check_key(CheckType::Generate, &attrs(SECP_R1_PUBLIC, 256, ecdsa)),
            Err(ProviderError::InvalidArgument(_))
        ));
    }

    #[test]
    fn hashes_table_matches_the_digests() {
        use Hash::*;
        for hash in [
            Md2, Md4, Md5, Ripemd160, Sha1, Sha224, Sha256, Sha384, Sha512, Sha512_224, Sha512_256,
            Sha3_224, Sha3_256, Sha3_384, Sha3_512,
        ] {
            assert_eq!(
                crate::hash::hash_bytes(hash, b"").is_ok(),
                HASHES.iter().any(|(h, _)| *h == hash),
                "{hash:?}"
            );
        }
    }

    #[test]
    fn opcodes_follow_the_table() {
        use Opcode as O;
        const ECDSA_ANY_HASH: &[Algorithm] = &[sig(Sig::Ecdsa {
            hash_alg: SignHash::Any,
        })];
        let verify_only = [Capability {
            key_type: SECP_R1_PUBLIC,
            bits: Bits::OneOf(&[256]),
            generate: false,
            algorithms: ECDSA_ANY_HASH,
            backend: Backend::AwsLc,
        }];
        let hash_only = [Capability {
            key_type: KeyType::RawData,
            bits: Bits::OneOf(&[128]),
            generate: false,
            algorithms: &[],
            backend: Backend::AwsLc,
        }];
        /// Name, capability table, hashes, expected opcodes.
        type Case<'a> = (&'a str, &'a [Capability], &'a [Hash], Vec<Opcode>);
        let cases: Vec<Case<'_>> = vec![
            (
                "nothing but random",
                &[],
                &[],
                vec![O::PsaGenerateRandom, O::CanDoCrypto],
            ),
            (
                "an imported ECDSA public key verifies but cannot sign or be generated",
                &verify_only,
                &[],
                vec![
                    O::PsaVerifyHash,
                    O::PsaVerifyMessage,
                    O::PsaImportKey,
                    O::PsaExportKey,
                    O::PsaDestroyKey,
                    O::PsaExportPublicKey,
                    O::PsaGenerateRandom,
                    O::CanDoCrypto,
                ],
            ),
            (
                "raw data and a hash",
                &hash_only,
                &[Hash::Sha256],
                vec![
                    O::PsaImportKey,
                    O::PsaExportKey,
                    O::PsaDestroyKey,
                    O::PsaHashCompute,
                    O::PsaHashCompare,
                    O::PsaGenerateRandom,
                    O::CanDoCrypto,
                ],
            ),
        ];
        for (name, capabilities, hashes, mut expected) in cases {
            expected.sort_unstable();
            assert_eq!(opcodes_of(capabilities, hashes), expected, "{name}");
        }
        // The real table serves every opcode of every family (the software provider is
        // complete), sorted and without duplicates.
        let all: Vec<Opcode> = keyward_providers::FAMILY_OPCODES
            .iter()
            .flat_map(|(_, ops)| ops.iter().copied())
            .chain([O::CanDoCrypto])
            .collect();
        let real = opcodes();
        for op in &all {
            assert!(real.contains(op), "{op:?}");
        }
        assert_eq!(real.len(), all.len(), "{real:?}");
    }
}

#[cfg(test)]
mod doc_tests {
    /// `docs/algorithms.md` holds exactly the generated table (between its markers).
    #[test]
    fn algorithms_doc_matches_the_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/algorithms.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let generated = super::markdown();
        let current = match (doc.find(super::DOC_BEGIN), doc.find(super::DOC_END)) {
            (Some(begin), Some(end)) if begin < end => {
                Some(&doc[begin..end + super::DOC_END.len()])
            }
            _ => None,
        };
        if std::env::var_os("KEYWARD_BLESS_DOCS").is_some() {
            let updated = match current {
                Some(old) => doc.replace(old, generated.trim_end()),
                None => format!("{doc}{generated}"),
            };
            std::fs::write(path, updated).unwrap();
            return;
        }
        assert_eq!(
            current.map(str::trim_end),
            Some(generated.trim_end()),
            "docs/algorithms.md disagrees with the capability table; regenerate it with \
             KEYWARD_BLESS_DOCS=1 cargo test -p keyward-provider-software algorithms_doc"
        );
    }
}
