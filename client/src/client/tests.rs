//! `BasicClient` against the in-process fake service and against real Parsec frames.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::thread;
use std::time::Duration;

use der::{DecodePem, Encode};
use keyward_protocol::header::FLAG_KEYWARD_EXTENSIONS;
use keyward_protocol::psa::{AsymmetricSignature, Hash, SignHash};
use keyward_protocol::{AuthType, Opcode, ProviderId, ResponseStatus};
use p256::ecdsa::signature::Verifier;
use p256::pkcs8::DecodePublicKey;

use super::*;
use crate::csr::{SubjectAltName, SubjectFields};
use crate::fake_service::FakeService;
use crate::ProtocolError;

const PEER: u8 = AuthType::UnixPeerCredentials as u8;
const DIRECT: u8 = AuthType::Direct as u8;
const JWT: u8 = AuthType::Jwt as u8;

fn client_for(fake: &FakeService) -> ClientBuilder {
    BasicClient::builder()
        .endpoint(&fake.path)
        .timeout(Some(Duration::from_secs(10)))
}

#[test]
fn discovery_uses_no_auth_then_picks_peer_credentials() {
    let fake = FakeService::start(&[DIRECT, PEER]);
    let client = client_for(&fake).app_name("app").build().expect("client");
    assert_eq!(client.auth().auth_type(), AuthType::UnixPeerCredentials);
    let seen = fake.seen();
    let opcodes: Vec<u32> = seen.iter().map(|s| s.header.opcode).collect();
    assert_eq!(
        opcodes,
        vec![
            Opcode::ListProviders as u32,
            Opcode::ListAuthenticators as u32
        ]
    );
    for request in &seen {
        assert_eq!(request.header.auth_type, 0, "discovery is unauthenticated");
        assert_eq!(request.header.provider, 0);
        assert_eq!(request.header.flags, FLAG_KEYWARD_EXTENSIONS);
    }
    // Later requests carry the UID; ping never carries auth.
    client.list_keys().expect("list keys");
    client.ping().expect("ping");
    let seen = fake.seen();
    let list_keys = &seen[seen.len() - 2];
    assert_eq!(list_keys.header.auth_type, PEER);
    assert_eq!(list_keys.auth, nix::unistd::getuid().as_raw().to_le_bytes());
    assert_eq!(seen[seen.len() - 1].header.auth_type, 0);
}

#[test]
fn direct_auth_needs_an_app_name_and_jwt_a_token() {
    let fake = FakeService::start(&[JWT, DIRECT]);
    let err = client_for(&fake).build().expect_err("nothing usable");
    assert!(
        matches!(err, ClientError::NoAuthenticator { ref offered } if offered == &[JWT, DIRECT]),
        "{err:?}"
    );
    let client = client_for(&fake).app_name("app").build().expect("direct");
    assert!(matches!(client.auth(), Authentication::Direct(name) if name == "app"));
    let client = client_for(&fake)
        .app_name("app")
        .token_source(std::sync::Arc::new(crate::StaticToken::new("tok")))
        .build()
        .expect("jwt");
    assert_eq!(client.auth().auth_type(), AuthType::Jwt);
}

#[test]
fn provider_is_chosen_per_operation_and_opcodes_are_cached() {
    let fake = FakeService::start(&[PEER]);
    let client = client_for(&fake).build().expect("client");
    // The TPM is listed first and offers GenerateRandom, but cannot make keys.
    assert_eq!(
        &client.generate_random(4).expect("random")[..],
        &[3, 3, 3, 3]
    );
    assert_eq!(
        client
            .provider_for(Opcode::PsaGenerateKey)
            .expect("provider"),
        ProviderId::Software
    );
    client.create_signing_key("k").expect("generate");
    client.generate_random(1).expect("random again");
    assert_eq!(
        fake.count(Opcode::ListOpcodes),
        2,
        "one ListOpcodes per provider"
    );
    assert!(matches!(
        client.provider_for(Opcode::PsaMacCompute),
        Err(ClientError::NoProvider {
            opcode: Opcode::PsaMacCompute
        })
    ));
    assert_eq!(
        client.provider_for(Opcode::ListKeys).expect("core"),
        ProviderId::Core
    );
}

#[test]
fn explicit_provider_skips_provider_discovery() {
    let fake = FakeService::start(&[PEER]);
    let client = client_for(&fake)
        .provider(ProviderId::Software)
        .build()
        .expect("client");
    assert_eq!(&client.generate_random(2).expect("random")[..], &[1, 1]);
    assert_eq!(fake.count(Opcode::ListProviders), 0);
    assert_eq!(fake.count(Opcode::ListOpcodes), 0);
}

#[test]
fn naked_client_sends_nothing_until_asked() {
    let fake = FakeService::start(&[PEER]);
    let client = client_for(&fake).naked().build().expect("client");
    assert!(fake.seen().is_empty());
    assert_eq!(client.ping().expect("ping"), (1, 0));
    assert_eq!(client.list_providers().expect("providers").len(), 3);
    assert_eq!(
        client.list_opcodes(ProviderId::Tpm).expect("opcodes"),
        vec![Opcode::PsaGenerateRandom]
    );
    // Without auth, the service refuses crypto.
    let err = client.generate_random(1).expect_err("unauthenticated");
    assert_eq!(err.status(), Some(ResponseStatus::NotAuthenticated));
}

#[test]
fn service_errors_are_typed_and_named() {
    let fake = FakeService::start(&[PEER]);
    let client = client_for(&fake).build().expect("client");
    // The service's "does not exist" has the same shape as the client's own look-up.
    let err = client.destroy_key("missing").expect_err("no such key");
    assert!(
        matches!(&err, ClientError::KeyNotFound(name) if name == "missing"),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(ResponseStatus::PsaErrorDoesNotExist));
    // Other refusals stay the service's status, named.
    let err = client
        .call(
            ProviderId::Software,
            Operation::DeleteClient {
                client: "x".to_owned(),
            },
        )
        .expect_err("not supported");
    match &err {
        ClientError::Service { opcode, .. } => assert_eq!(*opcode, Opcode::DeleteClient),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().starts_with("service answered "), "{err}");
    client.create_signing_key("dup").expect("first");
    assert_eq!(
        client
            .create_signing_key("dup")
            .expect_err("second")
            .status(),
        Some(ResponseStatus::PsaErrorAlreadyExists)
    );
    // Convenience calls on unknown keys fail locally, before any crypto request.
    assert!(matches!(
        client.sign("nope", b"m"),
        Err(ClientError::KeyNotFound(_))
    ));
}

#[test]
fn sign_verify_and_public_key_round_trip() {
    let fake = FakeService::start(&[PEER]);
    let client = client_for(&fake).build().expect("client");
    client.create_signing_key("signer").expect("generate");
    let signature = client.sign("signer", b"hello").expect("sign");
    assert_eq!(signature.len(), 64, "PSA raw r || s");
    assert!(client
        .verify("signer", b"hello", &signature)
        .expect("verify"));
    assert!(!client
        .verify("signer", b"hullo", &signature)
        .expect("verify"));

    // The signature is a real ECDSA-SHA256 over the message under the exported key.
    let pem = client.public_key_pem("signer").expect("pem");
    let key = p256::ecdsa::VerifyingKey::from_public_key_pem(&pem).expect("spki");
    let sig = p256::ecdsa::Signature::from_slice(&signature).expect("sig");
    key.verify(b"hello", &sig).expect("verifies locally");

    // The request used SignHash with the key's algorithm and a local SHA-256 digest.
    let seen = fake.seen();
    let sign = seen
        .iter()
        .find(|s| s.header.opcode == Opcode::PsaSignHash as u32)
        .expect("sign request");
    assert_eq!(sign.header.provider, ProviderId::Software as u8);
    let op = keyward_protocol::codec::decode_operation(Opcode::PsaSignHash, &sign.body)
        .expect("decodes");
    match op {
        keyward_protocol::Operation::SignHash { alg, hash, .. } => {
            assert_eq!(
                alg,
                AsymmetricSignature::Ecdsa {
                    hash_alg: SignHash::Specific(Hash::Sha256)
                }
            );
            assert_eq!(
                hash,
                crate::keys::digest(Hash::Sha256, b"hello").expect("digest")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    // ListKeys ran once: later calls used the cached attributes.
    assert_eq!(fake.count(Opcode::ListKeys), 1);
    client.destroy_key("signer").expect("destroy");
    assert!(matches!(
        client.sign("signer", b"x"),
        Err(ClientError::KeyNotFound(_))
    ));
}

#[test]
fn csr_is_signed_by_the_service_key() {
    let fake = FakeService::start(&[PEER]);
    let client = client_for(&fake).build().expect("client");
    client.create_signing_key("device").expect("generate");
    let sans: Vec<SubjectAltName> = vec!["DNS:device.example".parse().expect("san")];
    let pem = client
        .create_csr("device", &SubjectFields::common_name("device"), &sans)
        .expect("csr");
    let csr = x509_cert::request::CertReq::from_pem(pem.as_bytes()).expect("decodes");
    let spki = csr.info.public_key.to_der().expect("spki");
    let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki).expect("key");
    assert_eq!(
        client
            .public_key_info("device")
            .expect("info")
            .to_der()
            .expect("der"),
        spki
    );
    let sig = p256::ecdsa::Signature::from_der(csr.signature.raw_bytes()).expect("der sig");
    key.verify(&csr.info.to_der().expect("info"), &sig)
        .expect("CSR signature verifies");

    client.create_aes_key("aes", 256).expect("aes");
    assert!(matches!(
        client.create_csr("aes", &SubjectFields::common_name("x"), &[]),
        Err(ClientError::UnsuitableKey { .. })
    ));
}

#[test]
fn aead_encrypt_prefixes_a_fresh_nonce() {
    let fake = FakeService::start(&[PEER]);
    let client = client_for(&fake).build().expect("client");
    client.create_aes_key("aes", 128).expect("aes");
    let a = client.encrypt("aes", b"secret").expect("encrypt");
    let b = client.encrypt("aes", b"secret").expect("encrypt");
    assert_eq!(a.len(), 12 + 6 + 16);
    assert_ne!(a[..12], b[..12], "fresh nonce each time");
    assert_eq!(&client.decrypt("aes", &a).expect("decrypt")[..], b"secret");
    assert_eq!(&client.decrypt("aes", &b).expect("decrypt")[..], b"secret");
    assert!(matches!(
        client.decrypt("aes", &a[..5]),
        Err(ClientError::InvalidArgument(_))
    ));
    // A signing key cannot encrypt.
    client.create_signing_key("ecc").expect("ecc");
    assert!(matches!(
        client.encrypt("ecc", b"x"),
        Err(ClientError::UnsuitableKey { .. })
    ));
}

#[test]
fn stock_mode_sends_no_extension_flag() {
    let fake = FakeService::start(&[PEER]);
    let client = client_for(&fake).stock_mode(true).build().expect("client");
    client.ping().expect("ping");
    assert!(fake.seen().iter().all(|s| s.header.flags == 0));
}

#[test]
fn per_request_mode_works_and_shared_client_is_thread_safe() {
    let fake = FakeService::start(&[PEER]);
    for mode in [ConnectionMode::PerRequest, ConnectionMode::Persistent] {
        let client = std::sync::Arc::new(
            client_for(&fake)
                .connection_mode(mode)
                .build()
                .expect("client"),
        );
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let client = client.clone();
                thread::spawn(move || {
                    for _ in 0..10 {
                        assert_eq!(client.ping().expect("ping"), (1, 0));
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("worker");
        }
    }
}

// ---- Real Parsec traffic (shared/reference/parsec-frames.txt, parsec-tool 0.7.0) ----

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// parsec-tool create-ecc-key -k vec-ecc, request without its 4 auth bytes.
const PARSEC_CREATE_ECC: &str = "10a7c05e1e00010000000100000000000000000000032a000000040002000000000000000a077665632d656363121f0a045a0208021080021a140a0830013801400148011208320622040a021007";
/// parsec-tool list-providers, response (Parsec 1.5.0, mbed-crypto provider).
const PARSEC_LIST_PROVIDERS_RESP: &str = "10a7c05e1e000100000000000000000000000000000022010000000008000000000000000a98010a2431633131333964632d616437632d343764632d616436622d64623666646234363635353212675573657220737061636520736f6674776172652070726f76696465722c206261736564206f6e204d6265642043727970746f202d20746865207265666572656e636520696d706c656d656e746174696f6e206f6620746865205053412063727970746f204150491a0341726d280138010a84010a2434373034393837332d326134332d343834352d396437322d3833316561623636383738341258536f6674776172652070726f7669646572207468617420696d706c656d656e7473206f6e6c792061646d696e6973747261746976652028692e652e206e6f2063727970746f6772617068696329206f7065726174696f6e7320012805";

#[test]
fn stock_mode_key_creation_is_byte_identical_to_parsec_tool() {
    let fake = FakeService::start(&[PEER]);
    let client = client_for(&fake)
        .stock_mode(true)
        .provider(ProviderId::Software)
        .auth(Authentication::UnixPeerCredentials)
        .build()
        .expect("client");
    client.create_signing_key("vec-ecc").expect("generate");
    let seen = fake.seen();
    let request = seen.last().expect("request");
    let mut frame = request.header.encode().to_vec();
    frame.extend(&request.body);
    assert_eq!(frame, unhex(PARSEC_CREATE_ECC));
    assert_eq!(request.auth, nix::unistd::getuid().as_raw().to_le_bytes());
}

/// Serves `response` (hex) to every request, one request per connection, as Parsec does.
fn canned(response: &'static str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("parsec.sock");
    let listener = UnixListener::bind(&path).expect("bind");
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut header = [0u8; 36];
            if stream.read_exact(&mut header).is_err() {
                continue;
            }
            let _ = stream.write_all(&unhex(response));
        }
    });
    (dir, path)
}

#[test]
fn decodes_a_real_parsec_list_providers_response() {
    let (_dir, path) = canned(PARSEC_LIST_PROVIDERS_RESP);
    let client = BasicClient::builder()
        .endpoint(&path)
        .stock_mode(true)
        .auth(Authentication::UnixPeerCredentials)
        .build()
        .expect("client");
    let providers = client.list_providers().expect("providers");
    assert_eq!(providers.len(), 2);
    assert_eq!(providers[0].id, 1);
    assert_eq!(providers[0].uuid, "1c1139dc-ad7c-47dc-ad6b-db6fdb466552");
    assert_eq!(providers[0].vendor, "Arm");
    assert_eq!(providers[1].id, 0);
    assert_eq!(
        &client.providers().expect("ids")[..],
        &[ProviderId::Software]
    );
}

#[test]
fn a_response_for_another_operation_is_refused() {
    // A ListProviders answer to a ListKeys request.
    let (_dir, path) = canned(PARSEC_LIST_PROVIDERS_RESP);
    let client = BasicClient::builder()
        .endpoint(&path)
        .naked()
        .build()
        .expect("client");
    let err = client.list_keys().expect_err("mismatch");
    assert!(
        matches!(
            err,
            ClientError::Protocol(ProtocolError::OpcodeMismatch {
                expected: Opcode::ListKeys,
                got: 8
            })
        ),
        "{err:?}"
    );
}

#[test]
fn wrong_key_types_never_reach_the_service() {
    let fake = FakeService::start(&[PEER]);
    let client = client_for(&fake).build().expect("client");
    client.create_aes_key("aes", 128).expect("aes");
    client.create_signing_key("ecc").expect("ecc");
    for result in [
        client.public_key_pem("aes").map(drop),
        client.signing_key("aes").map(drop),
        client.sign("aes", b"m").map(drop),
        client.verify("aes", b"m", &[0; 64]).map(drop),
        client.encrypt("ecc", b"m").map(drop),
        client.decrypt("ecc", &[0; 40]).map(drop),
        client.aead_key("ecc").map(drop),
    ] {
        assert!(
            matches!(result, Err(ClientError::UnsuitableKey { .. })),
            "{result:?}"
        );
    }
    for opcode in [
        Opcode::PsaExportPublicKey,
        Opcode::PsaSignHash,
        Opcode::PsaVerifyHash,
        Opcode::PsaAeadEncrypt,
        Opcode::PsaAeadDecrypt,
    ] {
        assert_eq!(fake.count(opcode), 0, "{opcode:?} was sent");
    }
    // One ListKeys filled the cache; the refusals themselves cost no round trip.
    assert_eq!(fake.count(Opcode::ListKeys), 1);
}

#[test]
fn clones_share_connections_and_caches() {
    let fake = FakeService::start(&[PEER]);
    let client = client_for(&fake).build().expect("client");
    let clone = client.clone();
    client.create_signing_key("k").expect("generate");
    client.key_info("k").expect("listed once");
    clone.key_info("k").expect("from the shared cache");
    assert_eq!(fake.count(Opcode::ListKeys), 1);
    assert_eq!(client.open_connections(), 1);
    assert_eq!(clone.open_connections(), 1);
}
