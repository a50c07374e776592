//! `keyward-bench --algorithms`: the cost of each algorithm the software provider serves with a
//! RustCrypto crate (issue 8: legacy and compatibility choices), against the aws-lc-rs path it
//! is closest to, in the same run and process, through the provider API (in-process, so the
//! figures are the crypto plus the provider's own work, no socket). One line per algorithm and
//! operation: µs per operation for both, and the ratio.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use keyward_protocol::psa::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricEncryption, AsymmetricSignature,
    EccFamily, Hash, KeyAgreement, KeyAttributes, KeyPolicy, KeyType, RawKeyAgreement, SignHash,
    UsageFlags,
};
use keyward_provider_software::{MasterKey, SoftwareConfig, SoftwareProvider};
use keyward_providers::{KeyHandle, KeyRef, Provider};

/// One measured line.
#[derive(Debug, Clone)]
pub struct AlgLine {
    pub name: String,
    pub baseline: String,
    pub us: f64,
    pub baseline_us: f64,
}

struct Key {
    handle: KeyHandle,
    attributes: KeyAttributes,
}

impl Key {
    fn r(&self) -> KeyRef<'_> {
        KeyRef {
            handle: &self.handle.0,
            attributes: &self.attributes,
        }
    }
}

fn flags() -> UsageFlags {
    UsageFlags {
        sign_hash: true,
        verify_hash: true,
        sign_message: true,
        verify_message: true,
        encrypt: true,
        decrypt: true,
        derive: true,
        export: true,
        ..UsageFlags::default()
    }
}

fn attrs(key_type: KeyType, bits: u32, alg: Algorithm) -> KeyAttributes {
    KeyAttributes {
        key_type,
        bits,
        policy: KeyPolicy {
            usage_flags: flags(),
            permitted_algorithms: alg,
        },
    }
}

/// Mean µs per call of `f`, run for `duration` after a short warm-up.
fn time(duration: Duration, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let warm = Instant::now();
    while warm.elapsed() < duration / 10 {
        f()?;
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < duration || n < 3 {
        f()?;
        n += 1;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / n as f64)
}

/// Runs every pair for `duration` each.
pub fn run(duration: Duration) -> anyhow::Result<Vec<AlgLine>> {
    let provider = SoftwareProvider::new(
        &MasterKey::generate()?,
        SoftwareConfig {
            min_rsa_bits: 1024,
            ..SoftwareConfig::default()
        },
    )?;
    let families = provider.families();
    let km = families.key_management.context("key management")?;
    let sign = families.sign.context("signing")?;
    let crypt = families.asymmetric_crypt.context("asymmetric encryption")?;
    let aead = families.aead.context("AEAD")?;
    let agree = families.key_agreement.context("key agreement")?;
    let hash = families.hash.context("hash")?;
    let generate = |a: KeyAttributes| -> anyhow::Result<Key> {
        Ok(Key {
            handle: km.generate_key(&a)?,
            attributes: a,
        })
    };
    let import = |a: KeyAttributes, data: &[u8]| -> anyhow::Result<Key> {
        let imported = km.import_key(&a, data)?;
        Ok(Key {
            handle: imported.handle,
            attributes: imported.attributes,
        })
    };
    let sha = |h| SignHash::Specific(h);
    let digest32 = [0x5au8; 32];
    let digest48 = [0x5au8; 48];
    let mut lines = Vec::new();
    let mut pair = |name: &str,
                    baseline: &str,
                    new: &mut dyn FnMut() -> anyhow::Result<()>,
                    base: &mut dyn FnMut() -> anyhow::Result<()>|
     -> anyhow::Result<()> {
        let baseline_us = time(duration, &mut *base)?;
        let us = time(duration, &mut *new)?;
        lines.push(AlgLine {
            name: name.to_string(),
            baseline: baseline.to_string(),
            us,
            baseline_us,
        });
        Ok(())
    };

    // RSA: 1024 bits (RustCrypto rsa) and raw PKCS#1 v1.5 against RSA-2048 on aws-lc-rs.
    let pkcs1 = AsymmetricSignature::RsaPkcs1v15Sign {
        hash_alg: sha(Hash::Sha256),
    };
    let raw = AsymmetricSignature::RsaPkcs1v15SignRaw;
    let oaep = AsymmetricEncryption::RsaOaep {
        hash_alg: Hash::Sha256,
    };
    let rsa1024 = generate(attrs(
        KeyType::RsaKeyPair,
        1024,
        Algorithm::AsymmetricSignature(pkcs1),
    ))?;
    let rsa2048 = generate(attrs(
        KeyType::RsaKeyPair,
        2048,
        Algorithm::AsymmetricSignature(pkcs1),
    ))?;
    let sig1024 = sign.sign_hash(rsa1024.r(), pkcs1, &digest32)?;
    let sig2048 = sign.sign_hash(rsa2048.r(), pkcs1, &digest32)?;
    pair(
        "RSA-1024 PKCS#1 v1.5 sign (rsa)",
        "RSA-2048 PKCS#1 v1.5 sign (aws-lc-rs)",
        &mut || Ok(sign.sign_hash(rsa1024.r(), pkcs1, &digest32).map(drop)?),
        &mut || Ok(sign.sign_hash(rsa2048.r(), pkcs1, &digest32).map(drop)?),
    )?;
    pair(
        "RSA-1024 PKCS#1 v1.5 verify (rsa)",
        "RSA-2048 PKCS#1 v1.5 verify (aws-lc-rs)",
        &mut || Ok(sign.verify_hash(rsa1024.r(), pkcs1, &digest32, &sig1024)?),
        &mut || Ok(sign.verify_hash(rsa2048.r(), pkcs1, &digest32, &sig2048)?),
    )?;
    let enc1024 = generate(attrs(
        KeyType::RsaKeyPair,
        1024,
        Algorithm::AsymmetricEncryption(oaep),
    ))?;
    let enc2048 = generate(attrs(
        KeyType::RsaKeyPair,
        2048,
        Algorithm::AsymmetricEncryption(oaep),
    ))?;
    let ct1024 = crypt.asymmetric_encrypt(enc1024.r(), oaep, b"secret", None)?;
    let ct2048 = crypt.asymmetric_encrypt(enc2048.r(), oaep, b"secret", None)?;
    pair(
        "RSA-1024 OAEP-SHA-256 encrypt (rsa)",
        "RSA-2048 OAEP-SHA-256 encrypt (aws-lc-rs)",
        &mut || {
            Ok(crypt
                .asymmetric_encrypt(enc1024.r(), oaep, b"secret", None)
                .map(drop)?)
        },
        &mut || {
            Ok(crypt
                .asymmetric_encrypt(enc2048.r(), oaep, b"secret", None)
                .map(drop)?)
        },
    )?;
    pair(
        "RSA-1024 OAEP-SHA-256 decrypt (rsa)",
        "RSA-2048 OAEP-SHA-256 decrypt (aws-lc-rs)",
        &mut || {
            Ok(crypt
                .asymmetric_decrypt(enc1024.r(), oaep, &ct1024, None)
                .map(drop)?)
        },
        &mut || {
            Ok(crypt
                .asymmetric_decrypt(enc2048.r(), oaep, &ct2048, None)
                .map(drop)?)
        },
    )?;
    let raw2048 = generate(attrs(
        KeyType::RsaKeyPair,
        2048,
        Algorithm::AsymmetricSignature(raw),
    ))?;
    let raw_sig = sign.sign_hash(raw2048.r(), raw, &digest32)?;
    pair(
        "RSA-2048 raw PKCS#1 v1.5 sign (rsa)",
        "RSA-2048 PKCS#1 v1.5 sign (aws-lc-rs)",
        &mut || Ok(sign.sign_hash(raw2048.r(), raw, &digest32).map(drop)?),
        &mut || Ok(sign.sign_hash(rsa2048.r(), pkcs1, &digest32).map(drop)?),
    )?;
    pair(
        "RSA-2048 raw PKCS#1 v1.5 verify (rsa)",
        "RSA-2048 PKCS#1 v1.5 verify (aws-lc-rs)",
        &mut || Ok(sign.verify_hash(raw2048.r(), raw, &digest32, &raw_sig)?),
        &mut || Ok(sign.verify_hash(rsa2048.r(), pkcs1, &digest32, &sig2048)?),
    )?;

    // ECDSA: deterministic P-256 and Brainpool against P-256/P-384 on aws-lc-rs.
    let ecdsa256 = AsymmetricSignature::Ecdsa {
        hash_alg: sha(Hash::Sha256),
    };
    let ecdsa384 = AsymmetricSignature::Ecdsa {
        hash_alg: sha(Hash::Sha384),
    };
    let det256 = AsymmetricSignature::DeterministicEcdsa {
        hash_alg: sha(Hash::Sha256),
    };
    let secp = |bits, alg| {
        attrs(
            KeyType::EccKeyPair {
                curve_family: EccFamily::SecpR1,
            },
            bits,
            Algorithm::AsymmetricSignature(alg),
        )
    };
    let bp = |bits, alg| {
        attrs(
            KeyType::EccKeyPair {
                curve_family: EccFamily::BrainpoolPR1,
            },
            bits,
            Algorithm::AsymmetricSignature(alg),
        )
    };
    let p256 = generate(secp(256, ecdsa256))?;
    let p384 = generate(secp(384, ecdsa384))?;
    let p256_det = generate(secp(256, det256))?;
    let bp256 = generate(bp(256, ecdsa256))?;
    let bp384 = generate(bp(384, ecdsa384))?;
    pair(
        "P-256 deterministic ECDSA sign (p256, RFC 6979)",
        "P-256 ECDSA sign (aws-lc-rs)",
        &mut || Ok(sign.sign_hash(p256_det.r(), det256, &digest32).map(drop)?),
        &mut || Ok(sign.sign_hash(p256.r(), ecdsa256, &digest32).map(drop)?),
    )?;
    let p256_sig = sign.sign_hash(p256.r(), ecdsa256, &digest32)?;
    let p384_sig = sign.sign_hash(p384.r(), ecdsa384, &digest48)?;
    let bp256_sig = sign.sign_hash(bp256.r(), ecdsa256, &digest32)?;
    let bp384_sig = sign.sign_hash(bp384.r(), ecdsa384, &digest48)?;
    pair(
        "brainpoolP256r1 ECDSA sign (bp256)",
        "P-256 ECDSA sign (aws-lc-rs)",
        &mut || Ok(sign.sign_hash(bp256.r(), ecdsa256, &digest32).map(drop)?),
        &mut || Ok(sign.sign_hash(p256.r(), ecdsa256, &digest32).map(drop)?),
    )?;
    pair(
        "brainpoolP256r1 ECDSA verify (bp256)",
        "P-256 ECDSA verify (aws-lc-rs)",
        &mut || Ok(sign.verify_hash(bp256.r(), ecdsa256, &digest32, &bp256_sig)?),
        &mut || Ok(sign.verify_hash(p256.r(), ecdsa256, &digest32, &p256_sig)?),
    )?;
    pair(
        "brainpoolP384r1 ECDSA sign (bp384)",
        "P-384 ECDSA sign (aws-lc-rs)",
        &mut || Ok(sign.sign_hash(bp384.r(), ecdsa384, &digest48).map(drop)?),
        &mut || Ok(sign.sign_hash(p384.r(), ecdsa384, &digest48).map(drop)?),
    )?;
    pair(
        "brainpoolP384r1 ECDSA verify (bp384)",
        "P-384 ECDSA verify (aws-lc-rs)",
        &mut || Ok(sign.verify_hash(bp384.r(), ecdsa384, &digest48, &bp384_sig)?),
        &mut || Ok(sign.verify_hash(p384.r(), ecdsa384, &digest48, &p384_sig)?),
    )?;

    // Key agreement: Brainpool (bp256) and X25519 (aws-lc-rs) against P-256 (aws-lc-rs).
    let ecdh = RawKeyAgreement::Ecdh;
    let ka = |family, bits| {
        attrs(
            KeyType::EccKeyPair {
                curve_family: family,
            },
            bits,
            Algorithm::KeyAgreement(KeyAgreement::Raw(ecdh)),
        )
    };
    let p256_ka = generate(ka(EccFamily::SecpR1, 256))?;
    let p256_peer = km.export_public_key(generate(ka(EccFamily::SecpR1, 256))?.r())?;
    let bp_ka = generate(ka(EccFamily::BrainpoolPR1, 256))?;
    let bp_peer = km.export_public_key(generate(ka(EccFamily::BrainpoolPR1, 256))?.r())?;
    let x_ka = generate(ka(EccFamily::Montgomery, 255))?;
    let x_peer = km.export_public_key(generate(ka(EccFamily::Montgomery, 255))?.r())?;
    pair(
        "brainpoolP256r1 ECDH (bp256)",
        "P-256 ECDH (aws-lc-rs)",
        &mut || {
            Ok(agree
                .raw_key_agreement(bp_ka.r(), ecdh, &bp_peer)
                .map(drop)?)
        },
        &mut || {
            Ok(agree
                .raw_key_agreement(p256_ka.r(), ecdh, &p256_peer)
                .map(drop)?)
        },
    )?;
    pair(
        "X25519 (aws-lc-rs)",
        "P-256 ECDH (aws-lc-rs)",
        &mut || Ok(agree.raw_key_agreement(x_ka.r(), ecdh, &x_peer).map(drop)?),
        &mut || {
            Ok(agree
                .raw_key_agreement(p256_ka.r(), ecdh, &p256_peer)
                .map(drop)?)
        },
    )?;

    // AEAD, 1 KiB: CCM, GCM with a 13-byte nonce and a 12-byte tag (RustCrypto) against
    // GCM with a 12-byte nonce and the 16-byte tag (aws-lc-rs).
    let gcm = Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Gcm);
    let ccm = Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Ccm);
    let gcm12 = Aead::AeadWithShortenedTag {
        aead_alg: AeadWithDefaultLengthTag::Gcm,
        tag_length: 12,
    };
    let aes = |alg| import(attrs(KeyType::Aes, 128, Algorithm::Aead(alg)), &[7u8; 16]);
    let (k_gcm, k_ccm, k_gcm12) = (aes(gcm)?, aes(ccm)?, aes(gcm12)?);
    let plaintext = vec![1u8; 1024];
    let (n12, n13) = ([3u8; 12], [3u8; 13]);
    let ct_gcm = aead.aead_encrypt(k_gcm.r(), gcm, &n12, b"", &plaintext)?;
    let ct_ccm = aead.aead_encrypt(k_ccm.r(), ccm, &n13, b"", &plaintext)?;
    for (name, key, alg, nonce, ct) in [
        ("AES-128-CCM, 13-byte nonce", &k_ccm, ccm, &n13[..], &ct_ccm),
        (
            "AES-128-GCM, 13-byte nonce",
            &k_gcm,
            gcm,
            &n13[..],
            &Vec::new(),
        ),
        (
            "AES-128-GCM, 12-byte tag",
            &k_gcm12,
            gcm12,
            &n12[..],
            &Vec::new(),
        ),
    ] {
        pair(
            &format!("{name}, encrypt 1 KiB (RustCrypto)"),
            "AES-128-GCM encrypt 1 KiB (aws-lc-rs)",
            &mut || {
                Ok(aead
                    .aead_encrypt(key.r(), alg, nonce, b"", &plaintext)
                    .map(drop)?)
            },
            &mut || {
                Ok(aead
                    .aead_encrypt(k_gcm.r(), gcm, &n12, b"", &plaintext)
                    .map(drop)?)
            },
        )?;
        if !ct.is_empty() {
            pair(
                &format!("{name}, decrypt 1 KiB (RustCrypto)"),
                "AES-128-GCM decrypt 1 KiB (aws-lc-rs)",
                &mut || Ok(aead.aead_decrypt(key.r(), alg, nonce, b"", ct).map(drop)?),
                &mut || {
                    Ok(aead
                        .aead_decrypt(k_gcm.r(), gcm, &n12, b"", &ct_gcm)
                        .map(drop)?)
                },
            )?;
        }
    }

    // Hash, 1 KiB: RIPEMD-160 (ripemd) against SHA-256 (aws-lc-rs).
    pair(
        "RIPEMD-160, 1 KiB (ripemd)",
        "SHA-256, 1 KiB (aws-lc-rs)",
        &mut || Ok(hash.hash_compute(Hash::Ripemd160, &plaintext).map(drop)?),
        &mut || Ok(hash.hash_compute(Hash::Sha256, &plaintext).map(drop)?),
    )?;
    Ok(lines)
}

/// The lines as a Markdown table (for BENCHMARKS.md).
pub fn table(lines: &[AlgLine]) -> String {
    let mut out = String::from(
        "| algorithm (backend) | µs/op | aws-lc-rs baseline | µs/op | cost ratio |\n|---|---|---|---|---|\n",
    );
    for line in lines {
        out.push_str(&format!(
            "| {} | {:.1} | {} | {:.1} | {:.2}× |\n",
            line.name,
            line.us,
            line.baseline,
            line.baseline_us,
            line.us / line.baseline_us
        ));
    }
    out
}
