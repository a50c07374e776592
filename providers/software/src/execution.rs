//! How the software provider runs each operation ([`Execution`]), from the key type alone:
//! operations with an RSA or finite-field DH private key (signing, decryption, parsing, and
//! generating such keys) take hundreds of microseconds to seconds, so they are blocking; ECDSA,
//! AES, HMAC, hashes and random bytes take microseconds and run inline. How large a request's
//! body is, or whether it writes the key store, is the service's concern, not this one.

use keyward_protocol::psa::{EccFamily, KeyAttributes, KeyType};
use keyward_protocol::Opcode;
use keyward_providers::{Execution, Family};

/// The software provider's answer to [`keyward_providers::Provider::execution`].
pub(crate) fn execution(opcode: Opcode, key: Option<&KeyAttributes>) -> Execution {
    match Family::of(opcode) {
        // Key-less work: hashes, random bytes, CanDoCrypto (answered from tables).
        None | Some(Family::Hash | Family::Random) => Execution::Inline,
        // Destroying a software key only forgets its cached objects.
        Some(Family::KeyManagement) if opcode == Opcode::PsaDestroyKey => Execution::Inline,
        Some(_) => match key {
            Some(attributes) if slow_key(attributes.key_type) => Execution::Blocking,
            // Small RSA public keys and raw PKCS#1 v1.5 run on the pure-Rust `rsa` crate: a
            // verification costs 90-260 µs there, too long for an async worker.
            Some(attributes)
                if attributes.key_type == KeyType::RsaPublicKey
                    && attributes.bits < crate::DEFAULT_MIN_RSA_BITS =>
            {
                Execution::Blocking
            }
            Some(_) => Execution::Inline,
            // An operation on a key we were not shown may be on an RSA key: assume the slow case.
            None => Execution::Blocking,
        },
    }
}

/// Keys whose operations (and generation) cost hundreds of microseconds or more: RSA and DH
/// private keys, and every Brainpool key (pure-Rust curve arithmetic, no precomputed tables).
fn slow_key(key_type: KeyType) -> bool {
    matches!(
        key_type,
        KeyType::RsaKeyPair
            | KeyType::DhKeyPair { .. }
            | KeyType::EccKeyPair {
                curve_family: EccFamily::BrainpoolPR1
            }
            | KeyType::EccPublicKey {
                curve_family: EccFamily::BrainpoolPR1
            }
    )
}

/// The blocking-work bound: one operation per CPU, since software work is CPU-bound and more
/// would only queue inside the kernel's scheduler instead of ours.
pub(crate) fn default_max_blocking_in_flight() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_protocol::psa::{Algorithm, DhFamily, KeyPolicy, UsageFlags};
    use Execution::{Blocking, Inline};

    fn key(key_type: KeyType, bits: u32) -> KeyAttributes {
        KeyAttributes {
            key_type,
            bits,
            policy: KeyPolicy {
                usage_flags: UsageFlags::default(),
                permitted_algorithms: Algorithm::None,
            },
        }
    }

    #[test]
    fn execution_table() {
        use Opcode as O;
        let p256 = key(
            KeyType::EccKeyPair {
                curve_family: EccFamily::SecpR1,
            },
            256,
        );
        let rsa = key(KeyType::RsaKeyPair, 2048);
        let rsa_public = key(KeyType::RsaPublicKey, 2048);
        assert_eq!(
            execution(O::PsaVerifyHash, Some(&key(KeyType::RsaPublicKey, 1024))),
            Blocking,
            "small RSA public keys run on the pure-Rust path"
        );
        let dh = key(
            KeyType::DhKeyPair {
                group_family: DhFamily::Rfc7919,
            },
            2048,
        );
        let aes = key(KeyType::Aes, 256);
        let hmac = key(KeyType::Hmac, 256);
        let bp256 = key(
            KeyType::EccKeyPair {
                curve_family: EccFamily::BrainpoolPR1,
            },
            256,
        );
        let cases: Vec<(&str, Opcode, Option<&KeyAttributes>, Execution)> = vec![
            ("ECDSA signing", O::PsaSignHash, Some(&p256), Inline),
            (
                "ECDSA message signing",
                O::PsaSignMessage,
                Some(&p256),
                Inline,
            ),
            ("EC generation", O::PsaGenerateKey, Some(&p256), Inline),
            ("ECDH", O::PsaRawKeyAgreement, Some(&p256), Inline),
            ("AES-GCM", O::PsaAeadEncrypt, Some(&aes), Inline),
            ("AES-CBC", O::PsaCipherDecrypt, Some(&aes), Inline),
            ("HMAC", O::PsaMacCompute, Some(&hmac), Inline),
            ("hash", O::PsaHashCompute, None, Inline),
            ("random", O::PsaGenerateRandom, None, Inline),
            ("can-do", O::CanDoCrypto, Some(&rsa), Inline),
            ("RSA signing", O::PsaSignHash, Some(&rsa), Blocking),
            (
                "RSA decryption",
                O::PsaAsymmetricDecrypt,
                Some(&rsa),
                Blocking,
            ),
            ("RSA generation", O::PsaGenerateKey, Some(&rsa), Blocking),
            ("RSA private import", O::PsaImportKey, Some(&rsa), Blocking),
            (
                "RSA public export",
                O::PsaExportPublicKey,
                Some(&rsa),
                Blocking,
            ),
            (
                "RSA verification",
                O::PsaVerifyHash,
                Some(&rsa_public),
                Inline,
            ),
            (
                "RSA encryption",
                O::PsaAsymmetricEncrypt,
                Some(&rsa_public),
                Inline,
            ),
            ("DH generation", O::PsaGenerateKey, Some(&dh), Blocking),
            ("DH agreement", O::PsaRawKeyAgreement, Some(&dh), Blocking),
            (
                "destroying an RSA key",
                O::PsaDestroyKey,
                Some(&rsa),
                Inline,
            ),
            ("a key we were not shown", O::PsaSignHash, None, Blocking),
            ("Brainpool signing", O::PsaSignHash, Some(&bp256), Blocking),
        ];
        for (name, opcode, attributes, expected) in cases {
            assert_eq!(execution(opcode, attributes), expected, "{name}");
        }
    }
}
