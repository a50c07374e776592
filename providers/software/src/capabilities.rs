//! What the software provider supports, as data: key types, sizes and the permitted algorithms
//! it can honour, and the hashes. CanDoCrypto answers from this table, key creation refuses what
//! it lists as unsupported (so a key that was created can also be used), and the opcodes the
//! provider advertises ([`opcodes`], hence ListOpcodes) are derived from it.

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
}

/// One supported key type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Capability {
    pub key_type: KeyType,
    pub bits: Bits,
    pub generate: bool,
    /// Permitted algorithms (as key policies) the provider can honour. `Algorithm::None` (a key
    /// for storage and export only) is always accepted for creation.
    pub algorithms: &'static [Algorithm],
}

const fn sig(s: Sig) -> Algorithm {
    Algorithm::AsymmetricSignature(s)
}
const fn spec(h: Hash) -> SignHash {
    SignHash::Specific(h)
}

const ECC_PAIR_ALGS: &[Algorithm] = &[
    sig(Sig::Ecdsa {
        hash_alg: SignHash::Any,
    }),
    sig(Sig::Ecdsa {
        hash_alg: spec(Hash::Sha256),
    }),
    sig(Sig::Ecdsa {
        hash_alg: spec(Hash::Sha384),
    }),
    sig(Sig::Ecdsa {
        hash_alg: spec(Hash::Sha512),
    }),
    sig(Sig::EcdsaAny),
    Algorithm::KeyAgreement(KeyAgreement::Raw(RawKeyAgreement::Ecdh)),
];

// Verification of deterministic ECDSA is plain ECDSA verification, so public keys accept it.
const ECC_PUBLIC_ALGS: &[Algorithm] = &[
    sig(Sig::Ecdsa {
        hash_alg: SignHash::Any,
    }),
    sig(Sig::Ecdsa {
        hash_alg: spec(Hash::Sha256),
    }),
    sig(Sig::Ecdsa {
        hash_alg: spec(Hash::Sha384),
    }),
    sig(Sig::Ecdsa {
        hash_alg: spec(Hash::Sha512),
    }),
    sig(Sig::EcdsaAny),
    sig(Sig::DeterministicEcdsa {
        hash_alg: SignHash::Any,
    }),
    sig(Sig::DeterministicEcdsa {
        hash_alg: spec(Hash::Sha256),
    }),
    sig(Sig::DeterministicEcdsa {
        hash_alg: spec(Hash::Sha384),
    }),
    sig(Sig::DeterministicEcdsa {
        hash_alg: spec(Hash::Sha512),
    }),
];

const RSA_ALGS: &[Algorithm] = &[
    sig(Sig::RsaPkcs1v15Sign {
        hash_alg: SignHash::Any,
    }),
    sig(Sig::RsaPkcs1v15Sign {
        hash_alg: spec(Hash::Sha256),
    }),
    sig(Sig::RsaPkcs1v15Sign {
        hash_alg: spec(Hash::Sha384),
    }),
    sig(Sig::RsaPkcs1v15Sign {
        hash_alg: spec(Hash::Sha512),
    }),
    sig(Sig::RsaPss {
        hash_alg: SignHash::Any,
    }),
    sig(Sig::RsaPss {
        hash_alg: spec(Hash::Sha256),
    }),
    sig(Sig::RsaPss {
        hash_alg: spec(Hash::Sha384),
    }),
    sig(Sig::RsaPss {
        hash_alg: spec(Hash::Sha512),
    }),
    Algorithm::AsymmetricEncryption(Enc::RsaPkcs1v15Crypt),
    Algorithm::AsymmetricEncryption(Enc::RsaOaep {
        hash_alg: Hash::Sha1,
    }),
    Algorithm::AsymmetricEncryption(Enc::RsaOaep {
        hash_alg: Hash::Sha256,
    }),
    Algorithm::AsymmetricEncryption(Enc::RsaOaep {
        hash_alg: Hash::Sha384,
    }),
    Algorithm::AsymmetricEncryption(Enc::RsaOaep {
        hash_alg: Hash::Sha512,
    }),
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

/// Everything the software provider supports.
pub(crate) const CAPABILITIES: &[Capability] = &[
    Capability {
        key_type: SECP_R1_PAIR,
        bits: Bits::OneOf(&[256, 384]),
        generate: true,
        algorithms: ECC_PAIR_ALGS,
    },
    Capability {
        key_type: SECP_R1_PUBLIC,
        bits: Bits::OneOf(&[256, 384]),
        generate: false,
        algorithms: ECC_PUBLIC_ALGS,
    },
    Capability {
        key_type: KeyType::RsaKeyPair,
        bits: Bits::OneOf(&[2048, 3072, 4096]),
        generate: true,
        algorithms: RSA_ALGS,
    },
    Capability {
        key_type: KeyType::RsaPublicKey,
        bits: Bits::OneOf(&[2048, 3072, 4096]),
        generate: false,
        algorithms: RSA_ALGS,
    },
    Capability {
        key_type: KeyType::Aes,
        bits: Bits::OneOf(&[128, 192, 256]),
        generate: true,
        algorithms: AES_ALGS,
    },
    Capability {
        key_type: KeyType::Chacha20,
        bits: Bits::OneOf(&[256]),
        generate: true,
        algorithms: CHACHA20_ALGS,
    },
    Capability {
        key_type: KeyType::Hmac,
        bits: Bits::Bytes { min: 64, max: 8192 },
        generate: true,
        algorithms: HMAC_ALGS,
    },
    Capability {
        key_type: KeyType::RawData,
        bits: Bits::Bytes { min: 8, max: 8192 },
        generate: true,
        algorithms: &[],
    },
];

/// The hashes the provider computes (`digest_algorithm` accepts exactly these).
pub(crate) const HASHES: &[Hash] = &[
    Hash::Sha224,
    Hash::Sha256,
    Hash::Sha384,
    Hash::Sha512,
    Hash::Sha512_256,
    Hash::Sha3_256,
    Hash::Sha3_384,
    Hash::Sha3_512,
];

/// The opcodes the tables above make usable, sorted by wire value: the key operations of every
/// supported key type and algorithm, key management, hashing, random bytes and CanDoCrypto.
pub(crate) fn opcodes() -> Vec<Opcode> {
    opcodes_of(CAPABILITIES, HASHES)
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

/// CanDoCrypto.
pub(crate) fn can_do(check: CheckType, attributes: &KeyAttributes) -> bool {
    check_key(check, attributes).is_ok()
}

/// Whether a key with `attributes` can be used / generated / imported, with a precise error
/// when not: `InvalidArgument` for attributes PSA calls invalid, `NotSupported` otherwise.
pub(crate) fn check_key(check: CheckType, attributes: &KeyAttributes) -> Result<(), ProviderError> {
    validate_attributes(attributes)?;
    let key_type = attributes.key_type;
    let capability = CAPABILITIES
        .iter()
        .find(|c| c.key_type == key_type)
        .ok_or_else(|| ProviderError::not_supported(format!("{key_type:?} keys")))?;
    let bits_ok = match (check, attributes.bits) {
        // Import may leave the size to the data.
        (CheckType::Import, 0) => true,
        (_, bits) => capability.bits.accepts(bits),
    };
    if !bits_ok {
        return Err(ProviderError::not_supported(format!(
            "{} bit {key_type:?} keys",
            attributes.bits
        )));
    }
    let alg = attributes.policy.permitted_algorithms;
    match check {
        CheckType::Derive => {
            return Err(ProviderError::not_supported("key derivation"));
        }
        CheckType::Generate if !capability.generate => {
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
    if alg == Algorithm::None || supports_algorithm(capability, alg, key_type) {
        Ok(())
    } else {
        Err(ProviderError::not_supported(format!(
            "{alg:?} with {key_type:?} keys"
        )))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_protocol::psa::{KeyPolicy, UsageFlags};

    fn attrs(key_type: KeyType, bits: u32, alg: Algorithm) -> KeyAttributes {
        KeyAttributes {
            key_type,
            bits,
            policy: KeyPolicy {
                usage_flags: UsageFlags::default(),
                permitted_algorithms: alg,
            },
        }
    }

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
            (Use, SECP_R1_PAIR, 256, det, false),
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
            (Use, KeyType::RsaKeyPair, 2048, raw_pkcs1, false),
            (Use, KeyType::RsaKeyPair, 2048, ecdsa256, false),
            (Use, KeyType::Aes, 128, gcm, true),
            (Use, KeyType::Aes, 256, gcm_16, true),
            (Use, KeyType::Aes, 256, gcm_short, false),
            (Use, KeyType::Aes, 256, ccm, false),
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
                crate::digest_algorithm(hash).is_ok(),
                HASHES.contains(&hash),
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
        }];
        let hash_only = [Capability {
            key_type: KeyType::RawData,
            bits: Bits::OneOf(&[128]),
            generate: false,
            algorithms: &[],
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
