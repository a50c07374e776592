//! Core-provider operations against the real daemon: discovery (ping, providers, opcodes,
//! authenticators), ListKeys scoping, extension negotiation, admin operations and CanDoCrypto.
// Test code: a panic with its location is the failure report.
#![allow(clippy::unwrap_used)]

use keyward_client::keys::{self, EccCurve};
use keyward_client::protocol::ops::CheckType;
use keyward_client::protocol::psa::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricSignature, EccFamily, Hash, KeyAttributes,
    KeyPolicy, KeyType, SignHash, UsageFlags,
};
use keyward_client::protocol::{Opcode, Operation, ProviderId, ResponseStatus};
use keyward_client::{Authentication, ClientError};
use keyward_e2e_tests::{
    assert_status, extension_frame, operation_frame, raw_exchange, Daemon, DaemonOptions,
};

/// Parsec's own provider UUIDs (reference §1.8): Keyward must not reuse them.
const PARSEC_UUIDS: [&str; 6] = [
    "47049873-2a43-4845-9d72-831eab668784",
    "1c1139dc-ad7c-47dc-ad6b-db6fdb466552",
    "30e39502-eba6-4d60-a4af-c518b7f5e38f",
    "1e4954a4-ff21-46d3-ab0c-661eeb667e1d",
    "71129441-508a-4da6-b6e8-7b98a777e4c0",
    "b8ba81e2-e9f7-4bdd-b096-a29d0019960c",
];

/// The textual UUID form parsec-interface accepts: 8-4-4-4-12 hex digits.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

#[test]
fn ping_answers_wire_protocol_1_0() {
    let daemon = Daemon::start();
    assert_eq!(daemon.client().ping().unwrap(), (1, 0));
    assert_eq!(daemon.stock_client().ping().unwrap(), (1, 0));
    // Byte-exact answer, as a stock client reads it.
    let response = raw_exchange(&daemon.socket, &keyward_e2e_tests::ping_frame())
        .unwrap()
        .expect("a response");
    assert_eq!(response.header.status, 0);
    assert_eq!(response.header.opcode, Opcode::Ping as u32);
    assert_eq!(response.header.provider, 0);
    assert_eq!(response.body, [0x08, 0x01]);
}

#[test]
fn list_providers_software_first_core_last_with_own_uuids() {
    let daemon = Daemon::start();
    for client in [daemon.client(), daemon.stock_client()] {
        let providers = client.list_providers().unwrap();
        assert!(providers.len() >= 2, "{providers:?}");
        assert_eq!(providers[0].id, ProviderId::Software as u8, "{providers:?}");
        assert_eq!(providers.last().unwrap().id, ProviderId::Core as u8);
        let mut uuids = Vec::new();
        for provider in &providers {
            assert!(is_uuid(&provider.uuid), "not a UUID: {provider:?}");
            assert!(
                !PARSEC_UUIDS.contains(&provider.uuid.to_ascii_lowercase().as_str()),
                "Parsec's UUID reused: {provider:?}"
            );
            assert!(!provider.description.is_empty());
            assert!(!provider.vendor.is_empty());
            uuids.push(provider.uuid.clone());
        }
        uuids.sort();
        uuids.dedup();
        assert_eq!(uuids.len(), providers.len(), "UUIDs must be distinct");
    }
}

#[test]
fn list_opcodes_per_provider() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let core = client.list_opcodes(ProviderId::Core).unwrap();
    assert_eq!(
        core,
        vec![
            Opcode::Ping,
            Opcode::ListProviders,
            Opcode::ListOpcodes,
            Opcode::ListAuthenticators,
            Opcode::ListKeys,
            Opcode::ListClients,
            Opcode::DeleteClient,
        ]
    );
    let software = client.list_opcodes(ProviderId::Software).unwrap();
    for op in [
        Opcode::PsaGenerateKey,
        Opcode::PsaDestroyKey,
        Opcode::PsaImportKey,
        Opcode::PsaExportPublicKey,
        Opcode::PsaExportKey,
        Opcode::PsaSignHash,
        Opcode::PsaVerifyHash,
        Opcode::PsaSignMessage,
        Opcode::PsaVerifyMessage,
        Opcode::PsaAsymmetricEncrypt,
        Opcode::PsaAsymmetricDecrypt,
        Opcode::PsaAeadEncrypt,
        Opcode::PsaAeadDecrypt,
        Opcode::PsaHashCompute,
        Opcode::PsaHashCompare,
        Opcode::PsaGenerateRandom,
        Opcode::PsaRawKeyAgreement,
        Opcode::CanDoCrypto,
    ] {
        assert!(
            software.contains(&op),
            "software lacks {op:?}: {software:?}"
        );
    }
    assert!(
        software.iter().all(|op| !op.is_core()),
        "core opcodes listed for a crypto provider: {software:?}"
    );
    // A provider ID that exists in Parsec's table but is not configured here.
    assert_status(
        client.list_opcodes(ProviderId::Tpm),
        ResponseStatus::ProviderNotRegistered,
    );
}

#[test]
fn list_authenticators_peer_credentials_only_by_default() {
    let daemon = Daemon::start();
    let ids: Vec<u8> = daemon
        .client()
        .list_authenticators()
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, vec![3], "only Unix peer credentials by default");
}

#[test]
fn list_authenticators_with_direct_enabled_lists_both() {
    let daemon = Daemon::start_with(DaemonOptions {
        direct: true,
        ..DaemonOptions::default()
    });
    let infos = daemon.stock_client().list_authenticators().unwrap();
    let ids: Vec<u8> = infos.iter().map(|a| a.id).collect();
    // Peer credentials first: clients that take the first entry pick the safer method.
    assert_eq!(ids, vec![3, 1]);
    assert!(infos.iter().all(|a| !a.description.is_empty()));
}

#[test]
fn list_keys_shows_only_the_callers_keys_with_attributes() {
    let daemon = Daemon::start_with(DaemonOptions {
        direct: true,
        ..DaemonOptions::default()
    });
    let alice = daemon.client_with(Authentication::Direct("alice".into()));
    let bob = daemon.client_with(Authentication::Direct("bob".into()));
    let root = daemon.client();
    alice.create_signing_key("alice-sign").unwrap();
    alice.create_aes_key("alice-aes", 256).unwrap();
    bob.create_ecc_signing_key("bob-sign", EccCurve::P384)
        .unwrap();

    let mut listed = alice.list_keys().unwrap();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0].name, "alice-aes");
    assert_eq!(listed[0].provider_id, ProviderId::Software as u8);
    assert_eq!(listed[0].attributes, keys::aes_gcm_key(256));
    assert_eq!(listed[1].name, "alice-sign");
    assert_eq!(listed[1].attributes, keys::ecc_signing_key(EccCurve::P256));

    let bobs = bob.list_keys().unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].name, "bob-sign");
    assert_eq!(bobs[0].attributes, keys::ecc_signing_key(EccCurve::P384));

    assert!(
        root.list_keys().unwrap().is_empty(),
        "peer namespace is separate"
    );

    let anonymous = daemon.client_with(Authentication::None);
    assert_status(anonymous.list_keys(), ResponseStatus::NotAuthenticated);
}

#[test]
fn extension_aware_clients_see_mac_opcodes_stock_clients_do_not() {
    let daemon = Daemon::start();
    let extended = daemon.client();
    let stock = daemon.stock_client();
    let with_ext = extended.list_opcodes(ProviderId::Software).unwrap();
    assert!(with_ext.contains(&Opcode::PsaMacCompute), "{with_ext:?}");
    assert!(with_ext.contains(&Opcode::PsaMacVerify), "{with_ext:?}");
    let without = stock.list_opcodes(ProviderId::Software).unwrap();
    assert!(!without.contains(&Opcode::PsaMacCompute), "{without:?}");
    assert!(!without.contains(&Opcode::PsaMacVerify), "{without:?}");
    assert!(without.iter().all(|op| op.is_parsec_standard()));
    // Apart from the extensions, both see the same list.
    let standard: Vec<Opcode> = with_ext
        .iter()
        .copied()
        .filter(|op| op.is_parsec_standard())
        .collect();
    assert_eq!(standard, without);

    // The raw list a stock client decodes holds no value outside Parsec's enum.
    let list = Operation::ListOpcodes {
        provider_id: ProviderId::Software as u8,
    };
    let raw = raw_exchange(
        &daemon.socket,
        &operation_frame(ProviderId::Core, &list, &Authentication::None),
    )
    .unwrap()
    .expect("response");
    assert_eq!(raw.header.status, 0);
    assert_eq!(
        raw.header.flags, 0,
        "no extension flag echoed to stock clients"
    );
    let decoded =
        keyward_client::protocol::codec::decode_result(Opcode::ListOpcodes, &raw.body).unwrap();
    let keyward_client::protocol::OperationResult::ListOpcodes { opcodes } = decoded else {
        panic!("not a ListOpcodes result")
    };
    assert!(
        !opcodes.contains(&0x16) && !opcodes.contains(&0x17),
        "{opcodes:?}"
    );

    // A stock client naming opcode 0x16 is told it does not exist; with the flag it works
    // up to authentication (no auth: NotAuthenticated).
    let mac = Operation::MacCompute {
        key_name: "k".into(),
        alg: keyward_client::protocol::psa::Mac::FullLength(
            keyward_client::protocol::psa::FullLengthMac::Hmac {
                hash_alg: Hash::Sha256,
            },
        ),
        input: b"x".to_vec(),
    };
    let stock_mac = raw_exchange(
        &daemon.socket,
        &operation_frame(ProviderId::Software, &mac, &Authentication::None),
    )
    .unwrap()
    .expect("response");
    assert_eq!(
        stock_mac.header.status,
        ResponseStatus::OpcodeDoesNotExist as u16
    );
    let ext_mac = raw_exchange(
        &daemon.socket,
        &extension_frame(ProviderId::Software, &mac, &Authentication::None),
    )
    .unwrap()
    .expect("response");
    assert_eq!(
        ext_mac.header.status,
        ResponseStatus::NotAuthenticated as u16
    );
    assert_eq!(ext_mac.header.opcode, Opcode::PsaMacCompute as u32);
    assert_eq!(
        ext_mac.header.flags,
        keyward_client::protocol::header::FLAG_KEYWARD_EXTENSIONS,
        "the extension flag is echoed to extension-aware clients"
    );

    // Through the library: the stock client finds no provider offering MAC.
    assert!(matches!(
        stock.mac_compute(
            "k",
            keyward_client::protocol::psa::Mac::FullLength(
                keyward_client::protocol::psa::FullLengthMac::Hmac {
                    hash_alg: Hash::Sha256
                }
            ),
            b"x"
        ),
        Err(ClientError::NoProvider {
            opcode: Opcode::PsaMacCompute
        })
    ));
}

#[test]
fn admin_operations_are_refused_to_non_admins_and_anonymous_callers() {
    let daemon = Daemon::start_with(DaemonOptions {
        direct: true,
        admins: vec!["direct:admin".into()],
        ..DaemonOptions::default()
    });
    let root = daemon.client();
    root.create_signing_key("root-key").unwrap();
    let alice = daemon.client_with(Authentication::Direct("alice".into()));
    alice.create_signing_key("alice-key").unwrap();
    // Not admins: root by peer credentials (only direct:admin is configured) and alice.
    for client in [&root, &alice] {
        assert_status(client.list_clients(), ResponseStatus::AdminOperation);
        assert_status(
            client.delete_client("alice"),
            ResponseStatus::AdminOperation,
        );
    }
    // "admin" through another authenticator is not the configured admin either: peer UID
    // namespace vs direct namespace. (Direct name "0" is not the peer-credential root.)
    let zero = daemon.client_with(Authentication::Direct("0".into()));
    assert_status(zero.list_clients(), ResponseStatus::AdminOperation);
    let anonymous = daemon.client_with(Authentication::None);
    assert_status(anonymous.list_clients(), ResponseStatus::NotAuthenticated);
    assert_status(
        anonymous.delete_client("alice"),
        ResponseStatus::NotAuthenticated,
    );
    // Nothing was deleted by the refused calls.
    assert_eq!(alice.list_keys().unwrap().len(), 1);
    assert_eq!(root.list_keys().unwrap().len(), 1);
}

#[test]
fn admin_lists_and_deletes_clients_within_its_namespace() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test configures unix-peer-credentials:0 as admin and must run as root (as in CI)"
    );
    let daemon = Daemon::start_with(DaemonOptions {
        direct: true,
        admins: vec!["direct:admin".into(), "unix-peer-credentials:0".into()],
        ..DaemonOptions::default()
    });
    let admin = daemon.client_with(Authentication::Direct("admin".into()));
    let alice = daemon.client_with(Authentication::Direct("alice".into()));
    let bob = daemon.client_with(Authentication::Direct("bob".into()));
    let root = daemon.client();
    alice.create_signing_key("a1").unwrap();
    alice.create_aes_key("a2", 128).unwrap();
    alice.create_ecdh_key("a3", EccCurve::P256).unwrap();
    bob.create_signing_key("a1").unwrap();
    root.create_signing_key("r1").unwrap();

    let mut clients = admin.list_clients().unwrap();
    clients.sort();
    assert_eq!(clients, vec!["alice".to_owned(), "bob".to_owned()]);
    // Root is an admin too, and sees its own (peer-credential) namespace.
    assert_eq!(root.list_clients().unwrap(), vec!["0".to_owned()]);

    admin.delete_client("alice").unwrap();
    assert!(
        alice.list_keys().unwrap().is_empty(),
        "every key of alice removed"
    );
    // Ask the service itself (the convenience API would stop at its own key lookup).
    let ecdsa = AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(Hash::Sha256),
    };
    assert_status(
        alice.sign_hash("a1", ecdsa, &[7; 32]),
        ResponseStatus::PsaErrorDoesNotExist,
    );
    assert!(matches!(
        alice.sign("a1", b"m"),
        Err(ClientError::KeyNotFound(_))
    ));
    assert_eq!(admin.list_clients().unwrap(), vec!["bob".to_owned()]);
    // Other clients keep theirs, same key names included.
    let signature = bob.sign("a1", b"still here").unwrap();
    assert!(bob.verify("a1", b"still here", &signature).unwrap());
    assert_eq!(root.list_keys().unwrap().len(), 1);
    // The names are free again for alice.
    alice.create_signing_key("a1").unwrap();
    assert_eq!(alice.list_keys().unwrap().len(), 1);
    // Deleting a client without keys succeeds (as in Parsec) and changes nothing.
    admin.delete_client("nobody").unwrap();
    assert_eq!(bob.list_keys().unwrap().len(), 1);
}

fn attributes(key_type: KeyType, bits: u32, alg: Algorithm) -> KeyAttributes {
    KeyAttributes {
        key_type,
        bits,
        policy: KeyPolicy {
            usage_flags: UsageFlags {
                sign_hash: true,
                verify_hash: true,
                encrypt: true,
                decrypt: true,
                ..UsageFlags::default()
            },
            permitted_algorithms: alg,
        },
    }
}

#[test]
fn can_do_crypto_answers_yes_and_no() {
    let daemon = Daemon::start();
    let client = daemon.client();
    let ecdsa = Algorithm::AsymmetricSignature(AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(Hash::Sha256),
    });
    let p256 = KeyType::EccKeyPair {
        curve_family: EccFamily::SecpR1,
    };
    let gcm = Algorithm::Aead(Aead::AeadWithDefaultLengthTag(
        AeadWithDefaultLengthTag::Gcm,
    ));
    for (check, attrs) in [
        (CheckType::Use, attributes(p256, 256, ecdsa)),
        (CheckType::Generate, attributes(p256, 384, ecdsa)),
        (CheckType::Generate, keys::rsa_signing_key(2048)),
        (CheckType::Generate, attributes(KeyType::Aes, 256, gcm)),
        (CheckType::Import, attributes(KeyType::Aes, 128, gcm)),
    ] {
        assert!(
            client.can_do_crypto(check, attrs).unwrap(),
            "expected yes for {check:?} {attrs:?}"
        );
    }
    for (check, attrs) in [
        // P-521 is not offered by the software provider.
        (CheckType::Generate, attributes(p256, 521, ecdsa)),
        // DES is not supported at all.
        (
            CheckType::Generate,
            attributes(KeyType::Des, 64, Algorithm::None),
        ),
        // RSA 1024 is too weak to be offered.
        (CheckType::Generate, keys::rsa_signing_key(1024)),
        // AES keys cannot sign.
        (CheckType::Use, attributes(KeyType::Aes, 256, ecdsa)),
        // Key derivation is not implemented.
        (CheckType::Derive, attributes(KeyType::Aes, 256, gcm)),
    ] {
        assert!(
            !client.can_do_crypto(check, attrs).unwrap(),
            "expected no for {check:?} {attrs:?}"
        );
    }
    let anonymous = daemon.client_with(Authentication::None);
    assert_status(
        anonymous.can_do_crypto(CheckType::Use, attributes(p256, 256, ecdsa)),
        ResponseStatus::NotAuthenticated,
    );
}
