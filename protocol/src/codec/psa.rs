//! Conversions between the typed PSA model ([`crate::psa`]) and the generated
//! `psa_algorithm` / `psa_key_attributes` messages.

use super::generated::psa_algorithm::algorithm as pb_alg;
use super::generated::psa_algorithm::Algorithm as PbAlgorithm;
use super::generated::psa_key_attributes as pb_attr;
use super::wire::{required, wire_enum, wire_struct, WireField, WireMessage};
use super::CodecError;
use crate::psa::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricEncryption, AsymmetricSignature, Cipher,
    DhFamily, EccFamily, FullLengthMac, Hash, KeyAgreement, KeyAttributes, KeyDerivation,
    KeyPolicy, KeyType, Mac, RawKeyAgreement, SignHash, UsageFlags,
};

use pb_alg::aead::AeadWithDefaultLengthTag as PbAeadTag;
use pb_alg::key_agreement::Raw as PbRaw;
use pb_alg::{Cipher as PbCipher, Hash as PbHash};
use pb_attr::key_type::{DhFamily as PbDhFamily, EccFamily as PbEccFamily};

wire_enum!(Hash <=> PbHash {
    Md2 <=> Md2,
    Md4 <=> Md4,
    Md5 <=> Md5,
    Ripemd160 <=> Ripemd160,
    Sha1 <=> Sha1,
    Sha224 <=> Sha224,
    Sha256 <=> Sha256,
    Sha384 <=> Sha384,
    Sha512 <=> Sha512,
    Sha512_224 <=> Sha512224,
    Sha512_256 <=> Sha512256,
    Sha3_224 <=> Sha3224,
    Sha3_256 <=> Sha3256,
    Sha3_384 <=> Sha3384,
    Sha3_512 <=> Sha3512,
});

wire_enum!(Cipher <=> PbCipher {
    StreamCipher <=> StreamCipher,
    Ctr <=> Ctr,
    Cfb <=> Cfb,
    Ofb <=> Ofb,
    Xts <=> Xts,
    EcbNoPadding <=> EcbNoPadding,
    CbcNoPadding <=> CbcNoPadding,
    CbcPkcs7 <=> CbcPkcs7,
});

wire_enum!(AeadWithDefaultLengthTag <=> PbAeadTag {
    Ccm <=> Ccm,
    Gcm <=> Gcm,
    Chacha20Poly1305 <=> Chacha20Poly1305,
});

wire_enum!(RawKeyAgreement <=> PbRaw { Ffdh <=> Ffdh, Ecdh <=> Ecdh });

wire_enum!(EccFamily <=> PbEccFamily {
    SecpK1 <=> SecpK1,
    SecpR1 <=> SecpR1,
    SecpR2 <=> SecpR2,
    SectK1 <=> SectK1,
    SectR1 <=> SectR1,
    SectR2 <=> SectR2,
    BrainpoolPR1 <=> BrainpoolPR1,
    Frp <=> Frp,
    Montgomery <=> Montgomery,
});

wire_enum!(DhFamily <=> PbDhFamily { Rfc7919 <=> Rfc7919 });

wire_struct!(UsageFlags <=> pb_attr::UsageFlags {
    export,
    copy,
    cache,
    encrypt,
    decrypt,
    sign_message,
    verify_message,
    sign_hash,
    verify_hash,
    derive,
});

impl WireMessage for KeyAttributes {
    type Msg = pb_attr::KeyAttributes;

    fn from_msg(msg: Self::Msg) -> Result<Self, CodecError> {
        Ok(KeyAttributes {
            key_type: WireField::from_pb(msg.key_type, "key_attributes.key_type")?,
            bits: msg.key_bits,
            policy: WireField::from_pb(msg.key_policy, "key_attributes.key_policy")?,
        })
    }

    fn to_msg(&self) -> Self::Msg {
        pb_attr::KeyAttributes {
            key_type: self.key_type.to_pb(),
            key_bits: self.bits,
            key_policy: self.policy.to_pb(),
        }
    }
}

impl WireMessage for KeyPolicy {
    type Msg = pb_attr::KeyPolicy;

    fn from_msg(msg: Self::Msg) -> Result<Self, CodecError> {
        Ok(KeyPolicy {
            usage_flags: WireField::from_pb(msg.key_usage_flags, "key_policy.key_usage_flags")?,
            permitted_algorithms: WireField::from_pb(
                msg.key_algorithm,
                "key_policy.key_algorithm",
            )?,
        })
    }

    fn to_msg(&self) -> Self::Msg {
        pb_attr::KeyPolicy {
            key_usage_flags: self.usage_flags.to_pb(),
            key_algorithm: self.permitted_algorithms.to_pb(),
        }
    }
}

impl WireMessage for KeyType {
    type Msg = pb_attr::KeyType;

    fn from_msg(msg: Self::Msg) -> Result<Self, CodecError> {
        use pb_attr::key_type::Variant as V;
        const CURVE: &str = "key_type.curve_family";
        const GROUP: &str = "key_type.group_family";
        Ok(match required(msg.variant, "key_type.variant")? {
            V::RawData(_) => KeyType::RawData,
            V::Hmac(_) => KeyType::Hmac,
            V::Derive(_) => KeyType::Derive,
            V::Aes(_) => KeyType::Aes,
            V::Des(_) => KeyType::Des,
            V::Camellia(_) => KeyType::Camellia,
            V::Arc4(_) => KeyType::Arc4,
            V::Chacha20(_) => KeyType::Chacha20,
            V::RsaPublicKey(_) => KeyType::RsaPublicKey,
            V::RsaKeyPair(_) => KeyType::RsaKeyPair,
            V::EccKeyPair(k) => KeyType::EccKeyPair {
                curve_family: WireField::from_pb(k.curve_family, CURVE)?,
            },
            V::EccPublicKey(k) => KeyType::EccPublicKey {
                curve_family: WireField::from_pb(k.curve_family, CURVE)?,
            },
            V::DhKeyPair(k) => KeyType::DhKeyPair {
                group_family: WireField::from_pb(k.group_family, GROUP)?,
            },
            V::DhPublicKey(k) => KeyType::DhPublicKey {
                group_family: WireField::from_pb(k.group_family, GROUP)?,
            },
        })
    }

    fn to_msg(&self) -> Self::Msg {
        use pb_attr::key_type::{self as kt, Variant as V};
        let variant = match *self {
            KeyType::RawData => V::RawData(kt::RawData {}),
            KeyType::Hmac => V::Hmac(kt::Hmac {}),
            KeyType::Derive => V::Derive(kt::Derive {}),
            KeyType::Aes => V::Aes(kt::Aes {}),
            KeyType::Des => V::Des(kt::Des {}),
            KeyType::Camellia => V::Camellia(kt::Camellia {}),
            KeyType::Arc4 => V::Arc4(kt::Arc4 {}),
            KeyType::Chacha20 => V::Chacha20(kt::Chacha20 {}),
            KeyType::RsaPublicKey => V::RsaPublicKey(kt::RsaPublicKey {}),
            KeyType::RsaKeyPair => V::RsaKeyPair(kt::RsaKeyPair {}),
            KeyType::EccKeyPair { curve_family } => V::EccKeyPair(kt::EccKeyPair {
                curve_family: curve_family.to_pb(),
            }),
            KeyType::EccPublicKey { curve_family } => V::EccPublicKey(kt::EccPublicKey {
                curve_family: curve_family.to_pb(),
            }),
            KeyType::DhKeyPair { group_family } => V::DhKeyPair(kt::DhKeyPair {
                group_family: group_family.to_pb(),
            }),
            KeyType::DhPublicKey { group_family } => V::DhPublicKey(kt::DhPublicKey {
                group_family: group_family.to_pb(),
            }),
        };
        pb_attr::KeyType {
            variant: Some(variant),
        }
    }
}

impl WireMessage for Algorithm {
    type Msg = PbAlgorithm;

    fn from_msg(msg: Self::Msg) -> Result<Self, CodecError> {
        use pb_alg::Variant as V;
        Ok(match required(msg.variant, "algorithm.variant")? {
            V::None(_) => Algorithm::None,
            V::Hash(hash) => Algorithm::Hash(WireField::from_pb(hash, "algorithm.hash")?),
            V::Mac(mac) => Algorithm::Mac(Mac::from_msg(mac)?),
            V::Cipher(cipher) => Algorithm::Cipher(WireField::from_pb(cipher, "algorithm.cipher")?),
            V::Aead(aead) => Algorithm::Aead(Aead::from_msg(aead)?),
            V::AsymmetricSignature(sig) => {
                Algorithm::AsymmetricSignature(AsymmetricSignature::from_msg(sig)?)
            }
            V::AsymmetricEncryption(enc) => {
                Algorithm::AsymmetricEncryption(AsymmetricEncryption::from_msg(enc)?)
            }
            V::KeyAgreement(ka) => Algorithm::KeyAgreement(KeyAgreement::from_msg(ka)?),
            V::KeyDerivation(kdf) => Algorithm::KeyDerivation(KeyDerivation::from_msg(kdf)?),
        })
    }

    fn to_msg(&self) -> Self::Msg {
        use pb_alg::Variant as V;
        let variant = match self {
            Algorithm::None => V::None(pb_alg::None {}),
            Algorithm::Hash(hash) => V::Hash(hash.to_pb()),
            Algorithm::Mac(mac) => V::Mac(mac.to_msg()),
            Algorithm::Cipher(cipher) => V::Cipher(cipher.to_pb()),
            Algorithm::Aead(aead) => V::Aead(aead.to_msg()),
            Algorithm::AsymmetricSignature(sig) => V::AsymmetricSignature(sig.to_msg()),
            Algorithm::AsymmetricEncryption(enc) => V::AsymmetricEncryption(enc.to_msg()),
            Algorithm::KeyAgreement(ka) => V::KeyAgreement(ka.to_msg()),
            Algorithm::KeyDerivation(kdf) => V::KeyDerivation(kdf.to_msg()),
        };
        PbAlgorithm {
            variant: Some(variant),
        }
    }
}

impl WireMessage for SignHash {
    type Msg = pb_alg::asymmetric_signature::SignHash;

    fn from_msg(msg: Self::Msg) -> Result<Self, CodecError> {
        use pb_alg::asymmetric_signature::sign_hash::Variant as V;
        Ok(match required(msg.variant, "sign_hash.variant")? {
            V::Any(_) => SignHash::Any,
            V::Specific(hash) => {
                SignHash::Specific(WireField::from_pb(hash, "sign_hash.specific")?)
            }
        })
    }

    fn to_msg(&self) -> Self::Msg {
        use pb_alg::asymmetric_signature::sign_hash::{Any, Variant as V};
        let variant = match self {
            SignHash::Any => V::Any(Any {}),
            SignHash::Specific(hash) => V::Specific(hash.to_pb()),
        };
        Self::Msg {
            variant: Some(variant),
        }
    }
}

impl WireMessage for AsymmetricSignature {
    type Msg = pb_alg::AsymmetricSignature;

    fn from_msg(msg: Self::Msg) -> Result<Self, CodecError> {
        use pb_alg::asymmetric_signature::Variant as V;
        const HASH: &str = "asymmetric_signature.hash_alg";
        Ok(
            match required(msg.variant, "asymmetric_signature.variant")? {
                V::RsaPkcs1v15Sign(s) => AsymmetricSignature::RsaPkcs1v15Sign {
                    hash_alg: WireField::from_pb(s.hash_alg, HASH)?,
                },
                V::RsaPkcs1v15SignRaw(_) => AsymmetricSignature::RsaPkcs1v15SignRaw,
                V::RsaPss(s) => AsymmetricSignature::RsaPss {
                    hash_alg: WireField::from_pb(s.hash_alg, HASH)?,
                },
                V::Ecdsa(s) => AsymmetricSignature::Ecdsa {
                    hash_alg: WireField::from_pb(s.hash_alg, HASH)?,
                },
                V::EcdsaAny(_) => AsymmetricSignature::EcdsaAny,
                V::DeterministicEcdsa(s) => AsymmetricSignature::DeterministicEcdsa {
                    hash_alg: WireField::from_pb(s.hash_alg, HASH)?,
                },
            },
        )
    }

    fn to_msg(&self) -> Self::Msg {
        use pb_alg::asymmetric_signature::{self as sig, Variant as V};
        let variant = match self {
            AsymmetricSignature::RsaPkcs1v15Sign { hash_alg } => {
                V::RsaPkcs1v15Sign(sig::RsaPkcs1v15Sign {
                    hash_alg: hash_alg.to_pb(),
                })
            }
            AsymmetricSignature::RsaPkcs1v15SignRaw => {
                V::RsaPkcs1v15SignRaw(sig::RsaPkcs1v15SignRaw {})
            }
            AsymmetricSignature::RsaPss { hash_alg } => V::RsaPss(sig::RsaPss {
                hash_alg: hash_alg.to_pb(),
            }),
            AsymmetricSignature::Ecdsa { hash_alg } => V::Ecdsa(sig::Ecdsa {
                hash_alg: hash_alg.to_pb(),
            }),
            AsymmetricSignature::EcdsaAny => V::EcdsaAny(sig::EcdsaAny {}),
            AsymmetricSignature::DeterministicEcdsa { hash_alg } => {
                V::DeterministicEcdsa(sig::DeterministicEcdsa {
                    hash_alg: hash_alg.to_pb(),
                })
            }
        };
        Self::Msg {
            variant: Some(variant),
        }
    }
}

impl WireMessage for AsymmetricEncryption {
    type Msg = pb_alg::AsymmetricEncryption;

    fn from_msg(msg: Self::Msg) -> Result<Self, CodecError> {
        use pb_alg::asymmetric_encryption::Variant as V;
        Ok(
            match required(msg.variant, "asymmetric_encryption.variant")? {
                V::RsaPkcs1v15Crypt(_) => AsymmetricEncryption::RsaPkcs1v15Crypt,
                V::RsaOaep(oaep) => AsymmetricEncryption::RsaOaep {
                    hash_alg: WireField::from_pb(oaep.hash_alg, "rsa_oaep.hash_alg")?,
                },
            },
        )
    }

    fn to_msg(&self) -> Self::Msg {
        use pb_alg::asymmetric_encryption::{self as enc, Variant as V};
        let variant = match self {
            AsymmetricEncryption::RsaPkcs1v15Crypt => V::RsaPkcs1v15Crypt(enc::RsaPkcs1v15Crypt {}),
            AsymmetricEncryption::RsaOaep { hash_alg } => V::RsaOaep(enc::RsaOaep {
                hash_alg: hash_alg.to_pb(),
            }),
        };
        Self::Msg {
            variant: Some(variant),
        }
    }
}

impl WireMessage for FullLengthMac {
    type Msg = pb_alg::mac::FullLength;

    fn from_msg(msg: Self::Msg) -> Result<Self, CodecError> {
        use pb_alg::mac::full_length::Variant as V;
        Ok(match required(msg.variant, "full_length_mac.variant")? {
            V::Hmac(hmac) => FullLengthMac::Hmac {
                hash_alg: WireField::from_pb(hmac.hash_alg, "hmac.hash_alg")?,
            },
            V::CbcMac(_) => FullLengthMac::CbcMac,
            V::Cmac(_) => FullLengthMac::Cmac,
        })
    }

    fn to_msg(&self) -> Self::Msg {
        use pb_alg::mac::full_length::{self as full, Variant as V};
        let variant = match self {
            FullLengthMac::Hmac { hash_alg } => V::Hmac(full::Hmac {
                hash_alg: hash_alg.to_pb(),
            }),
            FullLengthMac::CbcMac => V::CbcMac(full::CbcMac {}),
            FullLengthMac::Cmac => V::Cmac(full::Cmac {}),
        };
        Self::Msg {
            variant: Some(variant),
        }
    }
}

impl WireMessage for Mac {
    type Msg = pb_alg::Mac;

    fn from_msg(msg: Self::Msg) -> Result<Self, CodecError> {
        use pb_alg::mac::Variant as V;
        Ok(match required(msg.variant, "mac.variant")? {
            V::FullLength(full) => Mac::FullLength(FullLengthMac::from_msg(full)?),
            V::Truncated(truncated) => Mac::Truncated {
                mac_alg: WireField::from_pb(truncated.mac_alg, "mac.truncated.mac_alg")?,
                mac_length: truncated.mac_length,
            },
        })
    }

    fn to_msg(&self) -> Self::Msg {
        use pb_alg::mac::{Truncated, Variant as V};
        let variant = match self {
            Mac::FullLength(full) => V::FullLength(full.to_msg()),
            Mac::Truncated {
                mac_alg,
                mac_length,
            } => V::Truncated(Truncated {
                mac_alg: mac_alg.to_pb(),
                mac_length: *mac_length,
            }),
        };
        Self::Msg {
            variant: Some(variant),
        }
    }
}

impl WireMessage for Aead {
    type Msg = pb_alg::Aead;

    fn from_msg(msg: Self::Msg) -> Result<Self, CodecError> {
        use pb_alg::aead::Variant as V;
        Ok(match required(msg.variant, "aead.variant")? {
            V::AeadWithDefaultLengthTag(alg) => Aead::AeadWithDefaultLengthTag(WireField::from_pb(
                alg,
                "aead.aead_with_default_length_tag",
            )?),
            V::AeadWithShortenedTag(shortened) => Aead::AeadWithShortenedTag {
                aead_alg: WireField::from_pb(shortened.aead_alg, "aead.aead_alg")?,
                tag_length: shortened.tag_length,
            },
        })
    }

    fn to_msg(&self) -> Self::Msg {
        use pb_alg::aead::{AeadWithShortenedTag, Variant as V};
        let variant = match self {
            Aead::AeadWithDefaultLengthTag(alg) => V::AeadWithDefaultLengthTag(alg.to_pb()),
            Aead::AeadWithShortenedTag {
                aead_alg,
                tag_length,
            } => V::AeadWithShortenedTag(AeadWithShortenedTag {
                aead_alg: aead_alg.to_pb(),
                tag_length: *tag_length,
            }),
        };
        Self::Msg {
            variant: Some(variant),
        }
    }
}

impl WireMessage for KeyDerivation {
    type Msg = pb_alg::KeyDerivation;

    fn from_msg(msg: Self::Msg) -> Result<Self, CodecError> {
        use pb_alg::key_derivation::Variant as V;
        const HASH: &str = "key_derivation.hash_alg";
        Ok(match required(msg.variant, "key_derivation.variant")? {
            V::Hkdf(kdf) => KeyDerivation::Hkdf {
                hash_alg: WireField::from_pb(kdf.hash_alg, HASH)?,
            },
            V::Tls12Prf(kdf) => KeyDerivation::Tls12Prf {
                hash_alg: WireField::from_pb(kdf.hash_alg, HASH)?,
            },
            V::Tls12PskToMs(kdf) => KeyDerivation::Tls12PskToMs {
                hash_alg: WireField::from_pb(kdf.hash_alg, HASH)?,
            },
        })
    }

    fn to_msg(&self) -> Self::Msg {
        use pb_alg::key_derivation::{self as kdf, Variant as V};
        let variant = match self {
            KeyDerivation::Hkdf { hash_alg } => V::Hkdf(kdf::Hkdf {
                hash_alg: hash_alg.to_pb(),
            }),
            KeyDerivation::Tls12Prf { hash_alg } => V::Tls12Prf(kdf::Tls12Prf {
                hash_alg: hash_alg.to_pb(),
            }),
            KeyDerivation::Tls12PskToMs { hash_alg } => V::Tls12PskToMs(kdf::Tls12PskToMs {
                hash_alg: hash_alg.to_pb(),
            }),
        };
        Self::Msg {
            variant: Some(variant),
        }
    }
}

impl WireMessage for KeyAgreement {
    type Msg = pb_alg::KeyAgreement;

    fn from_msg(msg: Self::Msg) -> Result<Self, CodecError> {
        use pb_alg::key_agreement::Variant as V;
        Ok(match required(msg.variant, "key_agreement.variant")? {
            V::Raw(raw) => KeyAgreement::Raw(WireField::from_pb(raw, "key_agreement.raw")?),
            V::WithKeyDerivation(with) => KeyAgreement::WithKeyDerivation {
                ka_alg: WireField::from_pb(with.ka_alg, "key_agreement.ka_alg")?,
                kdf_alg: WireField::from_pb(with.kdf_alg, "key_agreement.kdf_alg")?,
            },
        })
    }

    fn to_msg(&self) -> Self::Msg {
        use pb_alg::key_agreement::{Variant as V, WithKeyDerivation};
        let variant = match self {
            KeyAgreement::Raw(raw) => V::Raw(raw.to_pb()),
            KeyAgreement::WithKeyDerivation { ka_alg, kdf_alg } => {
                V::WithKeyDerivation(WithKeyDerivation {
                    ka_alg: ka_alg.to_pb(),
                    kdf_alg: kdf_alg.to_pb(),
                })
            }
        };
        Self::Msg {
            variant: Some(variant),
        }
    }
}
