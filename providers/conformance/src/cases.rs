//! The cases: known answers, cross-checks and refusals, each a function of the [`Suite`].

use keyward_protocol::ops::CheckType;
use keyward_protocol::psa::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricEncryption, AsymmetricSignature,
    EccFamily, FullLengthMac, Hash, KeyAgreement, KeyAttributes, KeyPolicy, KeyType, Mac,
    RawKeyAgreement, SignHash, UsageFlags,
};
use keyward_protocol::Opcode;
use keyward_providers::policy::{authorize, KeyUse};
use keyward_providers::ProviderError;

use crate::vectors::{of_kind, Vector};
use crate::{fail, Check, Outcome, Stop, Suite};

pub(crate) fn all(suite: &mut Suite<'_>) {
    for v in of_kind("hash") {
        let name = format!("kat/{}", v.fields.get("case").cloned().unwrap_or_default());
        suite.case(&name, |s| hash_kat(s, &v));
    }
    for v in of_kind("hmac") {
        let name = format!("kat/{}", v.fields.get("case").cloned().unwrap_or_default());
        suite.case(&name, |s| hmac_kat(s, &v));
    }
    for v in of_kind("aead") {
        let name = format!("kat/{}", v.fields.get("case").cloned().unwrap_or_default());
        suite.case(&name, |s| aead_kat(s, &v));
    }
    for v in of_kind("det-ecdsa") {
        let name = format!("kat/{}", v.fields.get("case").cloned().unwrap_or_default());
        suite.case(&name, |s| det_ecdsa_kat(s, &v));
    }
    for v in of_kind("ecdh") {
        let name = format!("kat/{}", v.fields.get("case").cloned().unwrap_or_default());
        suite.case(&name, |s| ecdh_kat(s, &v));
    }
    suite.case("cross/ecdsa-p256-sha256", |s| ecdsa_p256_cross(s));
    suite.case("cross/ecdsa-p384-sha384", |s| ecdsa_p384_cross(s));
    for bits in [1024, 2048] {
        suite.case(&format!("cross/rsa{bits}-pkcs1v15-sha256"), |s| {
            rsa_sign_cross(s, bits, Scheme::Pkcs1)
        });
        suite.case(&format!("cross/rsa{bits}-pss-sha256"), |s| {
            rsa_sign_cross(s, bits, Scheme::Pss)
        });
        suite.case(&format!("cross/rsa{bits}-pkcs1v15-raw"), |s| {
            rsa_sign_cross(s, bits, Scheme::Raw)
        });
        suite.case(&format!("cross/rsa{bits}-oaep-sha256"), |s| {
            rsa_decrypt_cross(s, bits, true)
        });
        suite.case(&format!("cross/rsa{bits}-pkcs1v15-encrypt"), |s| {
            rsa_decrypt_cross(s, bits, false)
        });
    }
    suite.case("cross/aes256-gcm-random-key", |s| aes_gcm_cross(s));
    suite.case("cross/hmac-sha256-random-key", |s| hmac_cross(s));
    for (name, key_type, bits) in [
        ("brainpoolp256r1", brainpool_pair(), 256),
        ("brainpoolp384r1", brainpool_pair(), 384),
        ("p256", secp_pair(), 256),
    ] {
        suite.case(&format!("roundtrip/ecdsa-{name}"), |s| {
            ecdsa_round_trip(s, key_type, bits, false)
        });
        suite.case(&format!("roundtrip/deterministic-ecdsa-{name}"), |s| {
            ecdsa_round_trip(s, key_type, bits, true)
        });
    }
    suite.case("roundtrip/ecdh-brainpoolp384r1-both-ways", |s| {
        ecdh_both_ways(s, brainpool_pair(), 384)
    });
    suite.case("roundtrip/x25519-both-ways", |s| {
        ecdh_both_ways(s, montgomery_pair(), 255)
    });
    suite.case("refuse/usage-flag-missing", refuse_missing_flag);
    suite.case("refuse/algorithm-not-permitted", refuse_wrong_algorithm);
    suite.case(
        "refuse/can-do-without-usage-flags",
        refuse_can_do_without_flags,
    );
    suite.case("refuse/aead-tag-length-17", refuse_tag_length_17);
    suite.case("refuse/import-declared-bits-mismatch", refuse_bits_mismatch);
    suite.case("refuse/public-key-cannot-sign", refuse_public_key_signing);
}

// ------------------------------------------------------------------------------- helpers

fn attrs(key_type: KeyType, bits: u32, alg: Algorithm, flags: UsageFlags) -> KeyAttributes {
    KeyAttributes {
        key_type,
        bits,
        policy: KeyPolicy {
            usage_flags: flags,
            permitted_algorithms: alg,
        },
    }
}

fn sign_flags() -> UsageFlags {
    UsageFlags {
        sign_hash: true,
        verify_hash: true,
        sign_message: true,
        verify_message: true,
        ..UsageFlags::default()
    }
}

fn crypt_flags() -> UsageFlags {
    UsageFlags {
        encrypt: true,
        decrypt: true,
        ..UsageFlags::default()
    }
}

fn derive_flags() -> UsageFlags {
    UsageFlags {
        derive: true,
        ..UsageFlags::default()
    }
}

fn secp_pair() -> KeyType {
    KeyType::EccKeyPair {
        curve_family: EccFamily::SecpR1,
    }
}

fn brainpool_pair() -> KeyType {
    KeyType::EccKeyPair {
        curve_family: EccFamily::BrainpoolPR1,
    }
}

fn montgomery_pair() -> KeyType {
    KeyType::EccKeyPair {
        curve_family: EccFamily::Montgomery,
    }
}

fn family(name: &str) -> Result<EccFamily, Stop> {
    match name {
        "secp-r1" => Ok(EccFamily::SecpR1),
        "brainpool-p-r1" => Ok(EccFamily::BrainpoolPR1),
        "montgomery" => Ok(EccFamily::Montgomery),
        other => Err(fail(format!("unknown curve family {other}"))),
    }
}

fn hash_named(name: &str) -> Result<Hash, Stop> {
    match name {
        "sha256" => Ok(Hash::Sha256),
        "sha384" => Ok(Hash::Sha384),
        "sha512" => Ok(Hash::Sha512),
        "ripemd160" => Ok(Hash::Ripemd160),
        other => Err(fail(format!("unknown hash {other}"))),
    }
}

fn sha256(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}

fn v<T>(r: Result<T, String>) -> Result<T, Stop> {
    r.map_err(|e| fail(format!("bad vector: {e}")))
}

fn expect_eq(what: &str, got: &[u8], want: &[u8]) -> Outcome {
    if got == want {
        Ok(())
    } else {
        Err(fail(format!(
            "{what}: got {}, want {}",
            hex(got),
            hex(want)
        )))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The policy check the service does before any provider call, then the call.
fn authorized<T>(
    key: &crate::Key<'_>,
    use_: KeyUse,
    call: impl FnOnce() -> Result<T, ProviderError>,
) -> Result<T, ProviderError> {
    authorize(use_, &key.attributes)?;
    call()
}

fn expect_err(what: &str, got: Result<impl std::fmt::Debug, ProviderError>, want: &str) -> Outcome {
    let matches = match (&got, want) {
        (Err(ProviderError::NotPermitted(_)), "NotPermitted")
        | (Err(ProviderError::InvalidArgument(_)), "InvalidArgument")
        | (Err(ProviderError::InvalidSignature), "InvalidSignature") => true,
        (Err(ProviderError::NotSupported(why)), _) => {
            return Err(Stop::Skip(format!("{what}: not supported ({why})")))
        }
        _ => false,
    };
    if matches {
        Ok(())
    } else {
        Err(fail(format!("{what}: expected {want}, got {got:?}")))
    }
}

// ----------------------------------------------------------------------- known answers

fn hash_kat(s: &Suite<'_>, vector: &Vector) -> Outcome {
    s.needs(&[Opcode::PsaHashCompute, Opcode::PsaHashCompare])?;
    let ops = s
        .provider
        .families()
        .hash
        .ok_or_else(|| Stop::Skip("no hash family".into()))?;
    let alg = hash_named(v(vector.text("alg"))?)?;
    let msg = v(vector.hex("msg"))?;
    let want = v(vector.hex("out"))?;
    let got = ops.hash_compute(alg, &msg).check("hash_compute")?;
    expect_eq("digest", &got, &want)?;
    ops.hash_compare(alg, &msg, &want).check("hash_compare")?;
    let mut wrong = want.clone();
    wrong[0] ^= 1;
    expect_err(
        "compare with a wrong digest",
        ops.hash_compare(alg, &msg, &wrong),
        "InvalidSignature",
    )
}

fn hmac_kat(s: &Suite<'_>, vector: &Vector) -> Outcome {
    s.needs(&[Opcode::PsaMacCompute, Opcode::PsaMacVerify])?;
    let ops = s
        .provider
        .families()
        .mac
        .ok_or_else(|| Stop::Skip("no MAC family".into()))?;
    let hash = hash_named(v(vector.text("alg"))?)?;
    let key_bytes = v(vector.hex("key"))?;
    let msg = v(vector.hex("msg"))?;
    let want = v(vector.hex("out"))?;
    let alg = Mac::FullLength(FullLengthMac::Hmac { hash_alg: hash });
    let flags = UsageFlags {
        sign_message: true,
        verify_message: true,
        ..UsageFlags::default()
    };
    let key = s.import(
        attrs(KeyType::Hmac, 0, Algorithm::Mac(alg), flags),
        &key_bytes,
    )?;
    let got = authorized(&key, KeyUse::MacCompute(alg), || {
        ops.mac_compute(key.r(), alg, &msg)
    })
    .check("mac_compute")?;
    expect_eq("HMAC", &got, &want)?;
    authorized(&key, KeyUse::MacVerify(alg), || {
        ops.mac_verify(key.r(), alg, &msg, &want)
    })
    .check("mac_verify")
}

fn aead_kat(s: &Suite<'_>, vector: &Vector) -> Outcome {
    s.needs(&[Opcode::PsaAeadEncrypt, Opcode::PsaAeadDecrypt])?;
    let ops = s
        .provider
        .families()
        .aead
        .ok_or_else(|| Stop::Skip("no AEAD family".into()))?;
    let base = match v(vector.text("alg"))? {
        "gcm" => AeadWithDefaultLengthTag::Gcm,
        "ccm" => AeadWithDefaultLengthTag::Ccm,
        other => return Err(fail(format!("unknown AEAD {other}"))),
    };
    let tag_length = v(vector.number("tag_len"))?;
    let alg = if tag_length == 16 {
        Aead::AeadWithDefaultLengthTag(base)
    } else {
        Aead::AeadWithShortenedTag {
            aead_alg: base,
            tag_length,
        }
    };
    let key_bytes = v(vector.hex("key"))?;
    let nonce = v(vector.hex("nonce"))?;
    let aad = v(vector.hex("aad"))?;
    let pt = v(vector.hex("pt"))?;
    let ct = v(vector.hex("ct"))?;
    let key = s.import(
        attrs(KeyType::Aes, 0, Algorithm::Aead(alg), crypt_flags()),
        &key_bytes,
    )?;
    let got = authorized(&key, KeyUse::AeadEncrypt(alg), || {
        ops.aead_encrypt(key.r(), alg, &nonce, &aad, &pt)
    })
    .check("aead_encrypt")?;
    expect_eq("ciphertext || tag", &got, &ct)?;
    let opened = authorized(&key, KeyUse::AeadDecrypt(alg), || {
        ops.aead_decrypt(key.r(), alg, &nonce, &aad, &ct)
    })
    .check("aead_decrypt")?;
    expect_eq("plaintext", &opened, &pt)?;
    let mut tampered = ct.clone();
    if let Some(last) = tampered.last_mut() {
        *last ^= 0x80;
    }
    expect_err(
        "decrypting a tampered tag",
        ops.aead_decrypt(key.r(), alg, &nonce, &aad, &tampered),
        "InvalidSignature",
    )
}

fn det_ecdsa_kat(s: &Suite<'_>, vector: &Vector) -> Outcome {
    s.needs(&[Opcode::PsaSignHash, Opcode::PsaVerifyHash])?;
    let ops = s
        .provider
        .families()
        .sign
        .ok_or_else(|| Stop::Skip("no signature family".into()))?;
    let curve_family = family(v(vector.text("curve"))?)?;
    let bits = v(vector.number("bits"))?;
    let hash = hash_named(v(vector.text("hash"))?)?;
    let alg = AsymmetricSignature::DeterministicEcdsa {
        hash_alg: SignHash::Specific(hash),
    };
    let key = s.import(
        attrs(
            KeyType::EccKeyPair { curve_family },
            bits,
            Algorithm::AsymmetricSignature(alg),
            sign_flags(),
        ),
        &v(vector.hex("key"))?,
    )?;
    let msg = v(vector.text("msg_text"))?.as_bytes().to_vec();
    let want = v(vector.hex("sig"))?;
    let hashes = s
        .provider
        .families()
        .hash
        .ok_or_else(|| Stop::Skip("no hash family".into()))?;
    let digest = hashes.hash_compute(hash, &msg).check("hash_compute")?;
    let got = authorized(&key, KeyUse::SignHash(alg), || {
        ops.sign_hash(key.r(), alg, &digest)
    })
    .check("sign_hash")?;
    expect_eq("signature", &got, &want)?;
    authorized(&key, KeyUse::VerifyHash(alg), || {
        ops.verify_hash(key.r(), alg, &digest, &want)
    })
    .check("verify_hash")
}

fn ecdh_kat(s: &Suite<'_>, vector: &Vector) -> Outcome {
    s.needs(&[Opcode::PsaRawKeyAgreement])?;
    let ops = s
        .provider
        .families()
        .key_agreement
        .ok_or_else(|| Stop::Skip("no key-agreement family".into()))?;
    let curve_family = family(v(vector.text("curve"))?)?;
    let bits = v(vector.number("bits"))?;
    let alg = RawKeyAgreement::Ecdh;
    let key = s.import(
        attrs(
            KeyType::EccKeyPair { curve_family },
            bits,
            Algorithm::KeyAgreement(KeyAgreement::Raw(alg)),
            derive_flags(),
        ),
        &v(vector.hex("key"))?,
    )?;
    let peer = v(vector.hex("peer"))?;
    let got = authorized(&key, KeyUse::RawKeyAgreement(alg), || {
        ops.raw_key_agreement(key.r(), alg, &peer)
    })
    .check("raw_key_agreement")?;
    expect_eq("shared secret", &got, &v(vector.hex("out"))?)
}

// ------------------------------------------------------------------------- cross-checks

fn ecdsa_sha256() -> AsymmetricSignature {
    AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(Hash::Sha256),
    }
}

fn export_public(s: &Suite<'_>, key: &crate::Key<'_>) -> Result<Vec<u8>, Stop> {
    s.needs(&[Opcode::PsaExportPublicKey])?;
    let km = s
        .provider
        .families()
        .key_management
        .ok_or_else(|| Stop::Skip("no key management".into()))?;
    km.export_public_key(key.r()).check("export_public_key")
}

fn ecdsa_p256_cross(s: &Suite<'_>) -> Outcome {
    use p256::ecdsa::signature::{Signer, Verifier};
    s.needs(&[Opcode::PsaSignMessage, Opcode::PsaVerifyMessage])?;
    let ops = s
        .provider
        .families()
        .sign
        .ok_or_else(|| Stop::Skip("no signature family".into()))?;
    let alg = ecdsa_sha256();
    let key = s.generate(attrs(
        secp_pair(),
        256,
        Algorithm::AsymmetricSignature(alg),
        sign_flags(),
    ))?;
    let msg = b"conformance: ECDSA P-256 cross-check";
    let signature = authorized(&key, KeyUse::SignMessage(alg), || {
        ops.sign_message(key.r(), alg, msg)
    })
    .check("sign_message")?;
    let public = export_public(s, &key)?;
    let verifier = p256::ecdsa::VerifyingKey::from_sec1_bytes(&public)
        .map_err(|e| fail(format!("p256 rejects the exported key: {e}")))?;
    let parsed = p256::ecdsa::Signature::from_slice(&signature)
        .map_err(|e| fail(format!("p256 rejects the signature format: {e}")))?;
    verifier
        .verify(msg, &parsed)
        .map_err(|_| fail("p256 does not verify the provider's signature"))?;
    // And the other way: a p256 signature over a public key imported into the provider.
    let signer = p256::ecdsa::SigningKey::random(&mut rand_core::OsRng);
    let theirs: p256::ecdsa::Signature = signer.sign(msg);
    let point = signer.verifying_key().to_encoded_point(false);
    let imported = s.import(
        attrs(
            KeyType::EccPublicKey {
                curve_family: EccFamily::SecpR1,
            },
            256,
            Algorithm::AsymmetricSignature(alg),
            sign_flags(),
        ),
        point.as_bytes(),
    )?;
    authorized(&imported, KeyUse::VerifyMessage(alg), || {
        ops.verify_message(imported.r(), alg, msg, &theirs.to_bytes())
    })
    .check("verify_message of a p256 signature")
}

fn ecdsa_p384_cross(s: &Suite<'_>) -> Outcome {
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    s.needs(&[Opcode::PsaSignHash])?;
    let ops = s
        .provider
        .families()
        .sign
        .ok_or_else(|| Stop::Skip("no signature family".into()))?;
    let alg = AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(Hash::Sha384),
    };
    let key = s.generate(attrs(
        secp_pair(),
        384,
        Algorithm::AsymmetricSignature(alg),
        sign_flags(),
    ))?;
    let digest = {
        use sha2::Digest;
        sha2::Sha384::digest(b"conformance: P-384").to_vec()
    };
    let signature = authorized(&key, KeyUse::SignHash(alg), || {
        ops.sign_hash(key.r(), alg, &digest)
    })
    .check("sign_hash")?;
    let public = export_public(s, &key)?;
    let verifier = p384::ecdsa::VerifyingKey::from_sec1_bytes(&public)
        .map_err(|e| fail(format!("p384 rejects the exported key: {e}")))?;
    let parsed = p384::ecdsa::Signature::from_slice(&signature)
        .map_err(|e| fail(format!("p384 rejects the signature format: {e}")))?;
    verifier
        .verify_prehash(&digest, &parsed)
        .map_err(|_| fail("p384 does not verify the provider's signature"))
}

#[derive(Debug, Clone, Copy)]
enum Scheme {
    Pkcs1,
    Pss,
    Raw,
}

fn rsa_public(der: &[u8]) -> Result<rsa::RsaPublicKey, Stop> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    rsa::RsaPublicKey::from_pkcs1_der(der)
        .map_err(|e| fail(format!("rsa rejects the exported PKCS#1 public key: {e}")))
}

fn rsa_sign_cross(s: &Suite<'_>, bits: u32, scheme: Scheme) -> Outcome {
    s.needs(&[Opcode::PsaSignHash])?;
    let ops = s
        .provider
        .families()
        .sign
        .ok_or_else(|| Stop::Skip("no signature family".into()))?;
    let sha = SignHash::Specific(Hash::Sha256);
    let alg = match scheme {
        Scheme::Pkcs1 => AsymmetricSignature::RsaPkcs1v15Sign { hash_alg: sha },
        Scheme::Pss => AsymmetricSignature::RsaPss { hash_alg: sha },
        Scheme::Raw => AsymmetricSignature::RsaPkcs1v15SignRaw,
    };
    let key = s.generate(attrs(
        KeyType::RsaKeyPair,
        bits,
        Algorithm::AsymmetricSignature(alg),
        sign_flags(),
    ))?;
    let digest = sha256(b"conformance: RSA");
    let signature = authorized(&key, KeyUse::SignHash(alg), || {
        ops.sign_hash(key.r(), alg, &digest)
    })
    .check("sign_hash")?;
    let public = rsa_public(&export_public(s, &key)?)?;
    let verified = match scheme {
        Scheme::Pkcs1 => public.verify(
            rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            &digest,
            &signature,
        ),
        Scheme::Pss => public.verify(rsa::Pss::new::<sha2::Sha256>(), &digest, &signature),
        Scheme::Raw => public.verify(rsa::Pkcs1v15Sign::new_unprefixed(), &digest, &signature),
    };
    verified.map_err(|e| fail(format!("rsa does not verify the provider's signature: {e}")))?;
    let mut wrong = signature.clone();
    wrong[10] ^= 1;
    expect_err(
        "verifying a corrupted signature",
        ops.verify_hash(key.r(), alg, &digest, &wrong),
        "InvalidSignature",
    )
}

fn rsa_decrypt_cross(s: &Suite<'_>, bits: u32, oaep: bool) -> Outcome {
    s.needs(&[Opcode::PsaAsymmetricDecrypt])?;
    let ops = s
        .provider
        .families()
        .asymmetric_crypt
        .ok_or_else(|| Stop::Skip("no asymmetric encryption family".into()))?;
    let alg = if oaep {
        AsymmetricEncryption::RsaOaep {
            hash_alg: Hash::Sha256,
        }
    } else {
        AsymmetricEncryption::RsaPkcs1v15Crypt
    };
    let key = s.generate(attrs(
        KeyType::RsaKeyPair,
        bits,
        Algorithm::AsymmetricEncryption(alg),
        crypt_flags(),
    ))?;
    let public = rsa_public(&export_public(s, &key)?)?;
    let secret = b"conformance: a secret to wrap";
    let mut rng = rand_core::OsRng;
    let ciphertext = if oaep {
        public.encrypt(&mut rng, rsa::Oaep::new::<sha2::Sha256>(), secret)
    } else {
        public.encrypt(&mut rng, rsa::Pkcs1v15Encrypt, secret)
    }
    .map_err(|e| fail(format!("rsa encryption: {e}")))?;
    let plain = authorized(&key, KeyUse::AsymmetricDecrypt(alg), || {
        ops.asymmetric_decrypt(key.r(), alg, &ciphertext, None)
    })
    .check("asymmetric_decrypt")?;
    expect_eq("decrypted", &plain, secret)
}

fn random_bytes(s: &Suite<'_>, len: usize) -> Result<Vec<u8>, Stop> {
    s.needs(&[Opcode::PsaGenerateRandom])?;
    let random = s
        .provider
        .families()
        .random
        .ok_or_else(|| Stop::Skip("no random family".into()))?;
    let bytes = random.generate_random(len).check("generate_random")?;
    Ok(bytes.to_vec())
}

#[allow(
    deprecated,
    reason = "aes-gcm 0.10 takes generic-array 0.14 nonces, whose from_slice is deprecated upstream"
)]
fn aes_gcm_cross(s: &Suite<'_>) -> Outcome {
    use aes_gcm::aead::{Aead as _, KeyInit, Payload};
    s.needs(&[Opcode::PsaAeadEncrypt])?;
    let ops = s
        .provider
        .families()
        .aead
        .ok_or_else(|| Stop::Skip("no AEAD family".into()))?;
    let alg = Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Gcm);
    let key_bytes = random_bytes(s, 32)?;
    let key = s.import(
        attrs(KeyType::Aes, 256, Algorithm::Aead(alg), crypt_flags()),
        &key_bytes,
    )?;
    let nonce = random_bytes(s, 12)?;
    let msg = random_bytes(s, 100)?;
    let ct = authorized(&key, KeyUse::AeadEncrypt(alg), || {
        ops.aead_encrypt(key.r(), alg, &nonce, b"aad", &msg)
    })
    .check("aead_encrypt")?;
    let theirs = aes_gcm::Aes256Gcm::new_from_slice(&key_bytes)
        .map_err(|_| fail("aes-gcm key"))?
        .decrypt(
            aes_gcm::Nonce::from_slice(&nonce),
            Payload {
                msg: &ct,
                aad: b"aad",
            },
        )
        .map_err(|_| fail("aes-gcm does not open the provider's ciphertext"))?;
    expect_eq("plaintext", &theirs, &msg)
}

fn hmac_cross(s: &Suite<'_>) -> Outcome {
    use hmac::Mac as _;
    s.needs(&[Opcode::PsaMacCompute])?;
    let ops = s
        .provider
        .families()
        .mac
        .ok_or_else(|| Stop::Skip("no MAC family".into()))?;
    let alg = Mac::FullLength(FullLengthMac::Hmac {
        hash_alg: Hash::Sha256,
    });
    let key_bytes = random_bytes(s, 32)?;
    let key = s.import(
        attrs(
            KeyType::Hmac,
            256,
            Algorithm::Mac(alg),
            UsageFlags {
                sign_message: true,
                ..UsageFlags::default()
            },
        ),
        &key_bytes,
    )?;
    let got = authorized(&key, KeyUse::MacCompute(alg), || {
        ops.mac_compute(key.r(), alg, b"conformance")
    })
    .check("mac_compute")?;
    let mut theirs =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(&key_bytes).map_err(|_| fail("hmac key"))?;
    theirs.update(b"conformance");
    expect_eq("HMAC", &got, &theirs.finalize().into_bytes())
}

/// Sign and verify with the provider alone (curves no independent crate here implements);
/// deterministic signatures must repeat, randomized ones must not.
fn ecdsa_round_trip(s: &Suite<'_>, key_type: KeyType, bits: u32, deterministic: bool) -> Outcome {
    s.needs(&[Opcode::PsaSignHash, Opcode::PsaVerifyHash])?;
    let ops = s
        .provider
        .families()
        .sign
        .ok_or_else(|| Stop::Skip("no signature family".into()))?;
    let sha = SignHash::Specific(Hash::Sha256);
    let alg = if deterministic {
        AsymmetricSignature::DeterministicEcdsa { hash_alg: sha }
    } else {
        AsymmetricSignature::Ecdsa { hash_alg: sha }
    };
    let key = s.generate(attrs(
        key_type,
        bits,
        Algorithm::AsymmetricSignature(alg),
        sign_flags(),
    ))?;
    let digest = sha256(b"conformance: round trip");
    let sign = || {
        authorized(&key, KeyUse::SignHash(alg), || {
            ops.sign_hash(key.r(), alg, &digest)
        })
    };
    let first = sign().check("sign_hash")?;
    let second = sign().check("sign_hash")?;
    if deterministic != (first == second) {
        return Err(fail(format!(
            "two signatures of one hash are {}equal",
            if deterministic { "not " } else { "" }
        )));
    }
    ops.verify_hash(key.r(), alg, &digest, &first)
        .check("verify_hash")?;
    let mut wrong = digest.clone();
    wrong[0] ^= 1;
    expect_err(
        "verifying against another hash",
        ops.verify_hash(key.r(), alg, &wrong, &first),
        "InvalidSignature",
    )
}

/// Two generated keys agree on one secret.
fn ecdh_both_ways(s: &Suite<'_>, key_type: KeyType, bits: u32) -> Outcome {
    s.needs(&[Opcode::PsaRawKeyAgreement, Opcode::PsaExportPublicKey])?;
    let ops = s
        .provider
        .families()
        .key_agreement
        .ok_or_else(|| Stop::Skip("no key-agreement family".into()))?;
    let alg = RawKeyAgreement::Ecdh;
    let a = attrs(
        key_type,
        bits,
        Algorithm::KeyAgreement(KeyAgreement::Raw(alg)),
        derive_flags(),
    );
    let alice = s.generate(a)?;
    let bob = s.generate(a)?;
    let alice_public = export_public(s, &alice)?;
    let bob_public = export_public(s, &bob)?;
    let one = authorized(&alice, KeyUse::RawKeyAgreement(alg), || {
        ops.raw_key_agreement(alice.r(), alg, &bob_public)
    })
    .check("raw_key_agreement")?;
    let two = authorized(&bob, KeyUse::RawKeyAgreement(alg), || {
        ops.raw_key_agreement(bob.r(), alg, &alice_public)
    })
    .check("raw_key_agreement")?;
    expect_eq("shared secrets", &one, &two)
}

// ----------------------------------------------------------------------------- refusals

fn refuse_missing_flag(s: &Suite<'_>) -> Outcome {
    let ops = s
        .provider
        .families()
        .sign
        .ok_or_else(|| Stop::Skip("no signature family".into()))?;
    let alg = ecdsa_sha256();
    let verify_only = UsageFlags {
        verify_hash: true,
        ..UsageFlags::default()
    };
    let key = s.generate(attrs(
        secp_pair(),
        256,
        Algorithm::AsymmetricSignature(alg),
        verify_only,
    ))?;
    let digest = sha256(b"refused");
    expect_err(
        "signing with a verify-only key",
        authorized(&key, KeyUse::SignHash(alg), || {
            ops.sign_hash(key.r(), alg, &digest)
        }),
        "NotPermitted",
    )
}

fn refuse_wrong_algorithm(s: &Suite<'_>) -> Outcome {
    let ops = s
        .provider
        .families()
        .sign
        .ok_or_else(|| Stop::Skip("no signature family".into()))?;
    let key = s.generate(attrs(
        secp_pair(),
        256,
        Algorithm::AsymmetricSignature(ecdsa_sha256()),
        sign_flags(),
    ))?;
    let other = AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(Hash::Sha384),
    };
    let digest = [0u8; 48];
    expect_err(
        "signing with an algorithm the policy does not permit",
        authorized(&key, KeyUse::SignHash(other), || {
            ops.sign_hash(key.r(), other, &digest)
        }),
        "NotPermitted",
    )
}

fn refuse_can_do_without_flags(s: &Suite<'_>) -> Outcome {
    let alg = Algorithm::AsymmetricSignature(ecdsa_sha256());
    let with = attrs(secp_pair(), 256, alg, sign_flags());
    s.can_do(CheckType::Use, &with)?;
    let without = attrs(secp_pair(), 256, alg, UsageFlags::default());
    for check in [CheckType::Use, CheckType::Generate, CheckType::Import] {
        if s.provider.can_do(check, &without) {
            return Err(fail(format!(
                "CanDoCrypto({check:?}) says yes for attributes without any usage flag"
            )));
        }
    }
    Ok(())
}

fn refuse_tag_length_17(s: &Suite<'_>) -> Outcome {
    s.needs(&[Opcode::PsaImportKey, Opcode::PsaAeadEncrypt])?;
    let km = s
        .provider
        .families()
        .key_management
        .ok_or_else(|| Stop::Skip("no key management".into()))?;
    let alg = Algorithm::Aead(Aead::AeadWithShortenedTag {
        aead_alg: AeadWithDefaultLengthTag::Gcm,
        tag_length: 17,
    });
    let result = km.import_key(&attrs(KeyType::Aes, 128, alg, crypt_flags()), &[0x42; 16]);
    if let Ok(imported) = &result {
        let _ = km.destroy_key(keyward_providers::KeyRef {
            handle: &imported.handle.0,
            attributes: &imported.attributes,
        });
    }
    expect_err(
        "importing an AES key for GCM with a 17-byte tag",
        result.map(|_| ()),
        "InvalidArgument",
    )
}

fn refuse_bits_mismatch(s: &Suite<'_>) -> Outcome {
    s.needs(&[Opcode::PsaImportKey])?;
    let km = s
        .provider
        .families()
        .key_management
        .ok_or_else(|| Stop::Skip("no key management".into()))?;
    let alg = Algorithm::AsymmetricSignature(ecdsa_sha256());
    // A valid P-256 scalar (RFC 6979 A.2.5) declared as 384 bits, a size whose support does not
    // matter: the mismatch is found first.
    let scalar = crate::vectors::decode_hex(
        "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
    )
    .map_err(fail)?;
    let result = km.import_key(&attrs(secp_pair(), 384, alg, sign_flags()), &scalar);
    if let Ok(imported) = &result {
        let _ = km.destroy_key(keyward_providers::KeyRef {
            handle: &imported.handle.0,
            attributes: &imported.attributes,
        });
    }
    expect_err(
        "importing 256-bit key data declared as 384 bits",
        result.map(|_| ()),
        "InvalidArgument",
    )
}

fn refuse_public_key_signing(s: &Suite<'_>) -> Outcome {
    let ops = s
        .provider
        .families()
        .sign
        .ok_or_else(|| Stop::Skip("no signature family".into()))?;
    let alg = ecdsa_sha256();
    let pair = s.generate(attrs(
        secp_pair(),
        256,
        Algorithm::AsymmetricSignature(alg),
        sign_flags(),
    ))?;
    let public = export_public(s, &pair)?;
    let key = s.import(
        attrs(
            KeyType::EccPublicKey {
                curve_family: EccFamily::SecpR1,
            },
            256,
            Algorithm::AsymmetricSignature(alg),
            sign_flags(),
        ),
        &public,
    )?;
    let digest = sha256(b"refused");
    expect_err(
        "signing with a public key",
        authorized(&key, KeyUse::SignHash(alg), || {
            ops.sign_hash(key.r(), alg, &digest)
        }),
        "InvalidArgument",
    )
}
