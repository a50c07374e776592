//! Wire compatibility with the real, unmodified `parsec-client` 0.16 crate (the library
//! parsec-tool uses) over Unix peer credentials: discovery, ECDSA keys, AEAD, and error statuses.
//!
//! parsec-client reads its socket path from PARSEC_SERVICE_ENDPOINT only while a client is
//! built, and has no public API to set it otherwise; clients are therefore built under one
//! process-wide lock, after which each keeps its own path and the tests run in parallel.
// Test code: a panic with its location is the failure report.
#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use keyward_e2e_tests::{Daemon, DaemonOptions};
use parsec_client::auth::Authentication;
use parsec_client::core::interface::operations::can_do_crypto::CheckType;
use parsec_client::core::interface::operations::psa_algorithm::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricSignature, Hash, SignHash,
};
use parsec_client::core::interface::operations::psa_key_attributes::{
    Attributes, EccFamily, Lifetime, Policy, Type, UsageFlags,
};
use parsec_client::core::interface::requests::{AuthType, Opcode, ProviderId, ResponseStatus};
use parsec_client::error::Error;
use parsec_client::BasicClient;
use sha2::Digest;

static ENDPOINT_ENV: Mutex<()> = Mutex::new(());

/// A parsec-client `BasicClient` for `daemon` (naked: no discovery, as for ping).
fn parsec_client(daemon: &Daemon, naked: bool) -> BasicClient {
    let _guard = ENDPOINT_ENV
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    std::env::set_var("PARSEC_SERVICE_ENDPOINT", daemon.endpoint());
    let client = if naked {
        BasicClient::new_naked()
    } else {
        BasicClient::new(Some("parsec-app".into()))
    };
    std::env::remove_var("PARSEC_SERVICE_ENDPOINT");
    client.unwrap_or_else(|err| panic!("parsec-client against keywardd: {err}"))
}

fn ecdsa_sha256() -> AsymmetricSignature {
    AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(Hash::Sha256),
    }
}

fn p256_signing_attributes() -> Attributes {
    let mut usage_flags = UsageFlags::default();
    let _ = usage_flags
        .set_sign_hash()
        .set_verify_hash()
        .set_sign_message()
        .set_verify_message();
    Attributes {
        lifetime: Lifetime::Persistent,
        key_type: Type::EccKeyPair {
            curve_family: EccFamily::SecpR1,
        },
        bits: 256,
        policy: Policy {
            usage_flags,
            permitted_algorithms: Algorithm::AsymmetricSignature(ecdsa_sha256()),
        },
    }
}

#[track_caller]
fn assert_service_error<T: std::fmt::Debug>(result: Result<T, Error>, expected: ResponseStatus) {
    match result {
        Err(Error::Service(status)) if status == expected => {}
        other => panic!("expected Service({expected:?}), got {other:?}"),
    }
}

#[test]
fn discovery_operations() {
    let daemon = Daemon::start();
    let naked = parsec_client(&daemon, true);
    assert_eq!(naked.ping().unwrap(), (1, 0));

    let client = parsec_client(&daemon, false);
    assert_eq!(client.implicit_provider(), ProviderId::MbedCrypto);
    assert!(matches!(
        client.auth_data(),
        Authentication::UnixPeerCredentials
    ));

    let providers = client.list_providers().unwrap();
    assert_eq!(providers[0].id, ProviderId::MbedCrypto);
    assert_eq!(providers.last().unwrap().id, ProviderId::Core);
    assert_ne!(
        providers[0].uuid.to_string(),
        "1c1139dc-ad7c-47dc-ad6b-db6fdb466552",
        "not Parsec's Mbed Crypto UUID"
    );

    // parsec-client rejects any opcode outside its enum: these lists must decode.
    let core = client.list_opcodes(ProviderId::Core).unwrap();
    assert!(core.contains(&Opcode::Ping) && core.contains(&Opcode::ListKeys));
    let crypto = client.list_opcodes(ProviderId::MbedCrypto).unwrap();
    for op in [
        Opcode::PsaGenerateKey,
        Opcode::PsaSignHash,
        Opcode::PsaVerifyHash,
        Opcode::PsaExportPublicKey,
        Opcode::PsaDestroyKey,
        Opcode::PsaAeadEncrypt,
        Opcode::PsaAeadDecrypt,
    ] {
        assert!(crypto.contains(&op), "{op:?} missing from {crypto:?}");
    }

    let authenticators = client.list_authenticators().unwrap();
    let ids: Vec<AuthType> = authenticators.iter().map(|a| a.id).collect();
    assert_eq!(ids, vec![AuthType::UnixPeerCredentials]);
    assert!(client.list_keys().unwrap().is_empty());

    // Admin operations: refused with Parsec's status.
    assert_service_error(client.list_clients(), ResponseStatus::AdminOperation);
}

#[test]
fn discovery_with_direct_authentication_enabled() {
    let daemon = Daemon::start_with(DaemonOptions {
        direct: true,
        ..DaemonOptions::default()
    });
    let mut client = parsec_client(&daemon, false);
    let ids: Vec<AuthType> = client
        .list_authenticators()
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, vec![AuthType::UnixPeerCredentials, AuthType::Direct]);
    // parsec-client takes the first: peer credentials.
    assert!(matches!(
        client.auth_data(),
        Authentication::UnixPeerCredentials
    ));
    client
        .psa_generate_key("by-peer", p256_signing_attributes())
        .unwrap();
    // Direct authentication through parsec-client: another namespace.
    client.set_auth_data(Authentication::Direct("parsec-app".into()));
    assert!(client.list_keys().unwrap().is_empty());
    client
        .psa_generate_key("by-direct", p256_signing_attributes())
        .unwrap();
    let names: Vec<String> = client
        .list_keys()
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(names, vec!["by-direct".to_owned()]);
}

#[test]
fn ecdsa_key_lifecycle() {
    let daemon = Daemon::start();
    let client = parsec_client(&daemon, false);
    let attributes = p256_signing_attributes();
    client.psa_generate_key("parsec-ecc", attributes).unwrap();
    assert_service_error(
        client.psa_generate_key("parsec-ecc", attributes),
        ResponseStatus::PsaErrorAlreadyExists,
    );

    let keys = client.list_keys().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].name, "parsec-ecc");
    assert_eq!(keys[0].provider_id, ProviderId::MbedCrypto);
    assert_eq!(keys[0].attributes.key_type, attributes.key_type);
    assert_eq!(keys[0].attributes.bits, 256);
    assert_eq!(keys[0].attributes.policy, attributes.policy);

    let message = b"parsec-client says hi";
    let hash = sha2::Sha256::digest(message).to_vec();
    let signature = client
        .psa_sign_hash("parsec-ecc", &hash, ecdsa_sha256())
        .unwrap();
    assert_eq!(signature.len(), 64);
    client
        .psa_verify_hash("parsec-ecc", &hash, ecdsa_sha256(), &signature)
        .unwrap();
    let mut tampered = signature.clone();
    tampered[10] ^= 1;
    assert_service_error(
        client.psa_verify_hash("parsec-ecc", &hash, ecdsa_sha256(), &tampered),
        ResponseStatus::PsaErrorInvalidSignature,
    );

    let public = client.psa_export_public_key("parsec-ecc").unwrap();
    assert_eq!(public.len(), 65);
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&public).unwrap();
    let parsed = p256::ecdsa::Signature::from_slice(&signature).unwrap();
    p256::ecdsa::signature::Verifier::verify(&verifying, message, &parsed)
        .expect("the exported key verifies the signature");

    // Our own client sees the same key (same peer-credential identity).
    let ours = daemon.client();
    assert_eq!(ours.export_public_key("parsec-ecc").unwrap(), public);

    client.psa_destroy_key("parsec-ecc").unwrap();
    assert_service_error(
        client.psa_sign_hash("parsec-ecc", &hash, ecdsa_sha256()),
        ResponseStatus::PsaErrorDoesNotExist,
    );
    assert_service_error(
        client.psa_destroy_key("parsec-ecc"),
        ResponseStatus::PsaErrorDoesNotExist,
    );
    assert!(client.list_keys().unwrap().is_empty());
}

#[test]
fn aead_round_trip_and_other_operations() {
    let daemon = Daemon::start();
    let client = parsec_client(&daemon, false);
    let gcm = Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Gcm);
    let mut usage_flags = UsageFlags::default();
    let _ = usage_flags.set_encrypt().set_decrypt();
    let attributes = Attributes {
        lifetime: Lifetime::Persistent,
        key_type: Type::Aes,
        bits: 256,
        policy: Policy {
            usage_flags,
            permitted_algorithms: Algorithm::Aead(gcm),
        },
    };
    client.psa_generate_key("parsec-aes", attributes).unwrap();
    let nonce = [3u8; 12];
    let plaintext = b"wire compatible";
    let ciphertext = client
        .psa_aead_encrypt("parsec-aes", gcm, &nonce, b"aad", plaintext)
        .unwrap();
    assert_eq!(ciphertext.len(), plaintext.len() + 16);
    let decrypted = client
        .psa_aead_decrypt("parsec-aes", gcm, &nonce, b"aad", &ciphertext)
        .unwrap();
    assert_eq!(decrypted, plaintext);
    assert_service_error(
        client.psa_aead_decrypt("parsec-aes", gcm, &nonce, b"AAD", &ciphertext),
        ResponseStatus::PsaErrorInvalidSignature,
    );

    // A few more operations parsec-tool relies on.
    let random = client.psa_generate_random(32).unwrap();
    assert_eq!(random.len(), 32);
    assert_ne!(random, client.psa_generate_random(32).unwrap());
    let digest = client.psa_hash_compute(Hash::Sha256, b"abc").unwrap();
    assert_eq!(digest, sha2::Sha256::digest(b"abc").to_vec());
    client
        .psa_hash_compare(Hash::Sha256, b"abc", &digest)
        .unwrap();
    client
        .can_do_crypto(CheckType::Generate, p256_signing_attributes())
        .unwrap();
    let mut p521 = p256_signing_attributes();
    p521.bits = 521;
    assert_service_error(
        client.can_do_crypto(CheckType::Generate, p521),
        ResponseStatus::PsaErrorNotSupported,
    );
}
