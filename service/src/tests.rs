//! The order of checks and the statuses they produce, on a real service (SQLite store in a
//! temporary directory, the software provider) through the framework's whole pipeline, without
//! sockets.

use std::sync::Arc;

use keyward_protocol::codec::encode_operation;
use keyward_protocol::header::{WireHeader, FLAG_KEYWARD_EXTENSIONS};
use keyward_protocol::ops::{Operation, OperationResult};
use keyward_protocol::psa::{
    Algorithm, AsymmetricSignature, EccFamily, Hash, KeyAttributes, KeyPolicy, KeyType, SignHash,
    UsageFlags,
};
use keyward_protocol::{AuthType, Opcode, ResponseStatus};
use keyward_server::config::AuthenticatorConfig;
use keyward_server::PeerCredentials;

use crate::config::Config;
use crate::service::Service;

mod order_of_checks {
    use super::*;

    const ROOT: PeerCredentials = PeerCredentials {
        uid: 0,
        gid: 0,
        pid: None,
    };

    fn service(dir: &std::path::Path) -> Arc<Service> {
        let mut config = Config {
            authenticators: vec![
                AuthenticatorConfig::UnixPeerCredentials {},
                AuthenticatorConfig::Direct {},
            ],
            ..Config::default()
        };
        config.access.admins = vec!["direct:admin".into()];
        config.check().expect("a valid configuration");
        Arc::new(crate::setup::build_service(&config, dir).expect("service"))
    }

    struct Response {
        header: WireHeader,
        body: Vec<u8>,
    }

    fn ecdsa() -> AsymmetricSignature {
        AsymmetricSignature::Ecdsa {
            hash_alg: SignHash::Specific(Hash::Sha256),
        }
    }

    fn p256() -> KeyAttributes {
        KeyAttributes {
            key_type: KeyType::EccKeyPair {
                curve_family: EccFamily::SecpR1,
            },
            bits: 256,
            policy: KeyPolicy {
                usage_flags: UsageFlags {
                    sign_hash: true,
                    verify_hash: true,
                    ..UsageFlags::default()
                },
                permitted_algorithms: Algorithm::AsymmetricSignature(ecdsa()),
            },
        }
    }

    struct Req {
        provider: u8,
        auth_type: u8,
        auth: Vec<u8>,
        flags: u16,
        opcode: u32,
        body: Vec<u8>,
    }

    fn req(provider: u8, auth: Option<&str>, op: &Operation) -> Req {
        Req {
            provider,
            auth_type: if auth.is_some() {
                AuthType::Direct as u8
            } else {
                0
            },
            auth: auth.unwrap_or("").as_bytes().to_vec(),
            flags: 0,
            opcode: op.opcode() as u32,
            body: encode_operation(op),
        }
    }

    async fn send(service: &Arc<Service>, r: Req) -> Response {
        let header = WireHeader {
            flags: r.flags,
            provider: r.provider,
            auth_type: r.auth_type,
            body_len: r.body.len() as u32,
            auth_len: r.auth.len() as u16,
            opcode: r.opcode,
            ..WireHeader::default()
        };
        let (header, body) =
            keyward_server::handle_for_tests(service, header, r.body, r.auth, Some(ROOT)).await;
        Response { header, body }
    }

    fn status(response: &Response) -> ResponseStatus {
        ResponseStatus::from_u16(response.header.status).expect("known status")
    }

    #[tokio::test]
    async fn statuses_follow_parsec_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = service(dir.path());
        let gen = Operation::GenerateKey {
            key_name: "k".into(),
            attributes: p256(),
        };
        let sign = |name: &str| Operation::SignHash {
            key_name: name.into(),
            alg: ecdsa(),
            hash: vec![7; 32],
        };
        assert_eq!(
            status(&send(&s, req(1, Some("alice"), &gen)).await),
            ResponseStatus::Success
        );

        let cases: Vec<(&str, Req, ResponseStatus)> = vec![
            (
                "unknown provider id",
                req(9, Some("alice"), &sign("k")),
                ResponseStatus::ProviderDoesNotExist,
            ),
            (
                "unknown auth type",
                Req {
                    auth_type: 7,
                    ..req(1, Some("alice"), &sign("k"))
                },
                ResponseStatus::AuthenticatorDoesNotExist,
            ),
            (
                "unknown opcode",
                Req {
                    opcode: 0x1d,
                    ..req(1, Some("alice"), &sign("k"))
                },
                ResponseStatus::OpcodeDoesNotExist,
            ),
            (
                "MAC without extensions",
                Req {
                    opcode: Opcode::PsaMacCompute as u32,
                    ..req(1, Some("alice"), &sign("k"))
                },
                ResponseStatus::OpcodeDoesNotExist,
            ),
            (
                "bad credentials before provider check",
                Req {
                    auth_type: AuthType::UnixPeerCredentials as u8,
                    auth: 5u32.to_le_bytes().to_vec(),
                    ..req(2, None, &sign("k"))
                },
                ResponseStatus::AuthenticationError,
            ),
            (
                "jwt not enabled",
                Req {
                    auth_type: AuthType::Jwt as u8,
                    ..req(1, Some("alice"), &sign("k"))
                },
                ResponseStatus::AuthenticatorNotRegistered,
            ),
            (
                "provider not configured",
                req(2, Some("alice"), &sign("k")),
                ResponseStatus::ProviderNotRegistered,
            ),
            (
                "core op to crypto provider",
                req(1, Some("alice"), &Operation::ListKeys),
                ResponseStatus::PsaErrorNotSupported,
            ),
            (
                "crypto op to core",
                req(0, Some("alice"), &sign("k")),
                ResponseStatus::PsaErrorNotSupported,
            ),
            (
                "crypto op without auth",
                req(1, None, &sign("k")),
                ResponseStatus::NotAuthenticated,
            ),
            (
                "admin op without auth",
                req(0, None, &Operation::ListClients),
                ResponseStatus::NotAuthenticated,
            ),
            (
                "admin op by non-admin",
                req(0, Some("alice"), &Operation::ListClients),
                ResponseStatus::AdminOperation,
            ),
            (
                "garbage body",
                Req {
                    body: vec![0xff, 0xff, 0xff],
                    ..req(1, Some("alice"), &sign("k"))
                },
                ResponseStatus::DeserializingBodyFailed,
            ),
            (
                "another identity's key",
                req(1, Some("bob"), &sign("k")),
                ResponseStatus::PsaErrorDoesNotExist,
            ),
            (
                "same name, other authenticator",
                Req {
                    auth_type: AuthType::UnixPeerCredentials as u8,
                    auth: 0u32.to_le_bytes().to_vec(),
                    ..req(1, None, &sign("k"))
                },
                ResponseStatus::PsaErrorDoesNotExist,
            ),
            (
                "policy: wrong algorithm",
                req(
                    1,
                    Some("alice"),
                    &Operation::SignHash {
                        key_name: "k".into(),
                        alg: AsymmetricSignature::Ecdsa {
                            hash_alg: SignHash::Specific(Hash::Sha384),
                        },
                        hash: vec![7; 48],
                    },
                ),
                ResponseStatus::PsaErrorNotPermitted,
            ),
            (
                "policy: no export flag",
                req(
                    1,
                    Some("alice"),
                    &Operation::ExportKey {
                        key_name: "k".into(),
                    },
                ),
                ResponseStatus::PsaErrorNotPermitted,
            ),
            (
                "duplicate name",
                req(1, Some("alice"), &gen),
                ResponseStatus::PsaErrorAlreadyExists,
            ),
            (
                "empty key name",
                req(
                    1,
                    Some("alice"),
                    &Operation::GenerateKey {
                        key_name: String::new(),
                        attributes: p256(),
                    },
                ),
                ResponseStatus::PsaErrorInvalidArgument,
            ),
            (
                "random over the response limit",
                req(
                    1,
                    Some("alice"),
                    &Operation::GenerateRandom { size: 1 << 30 },
                ),
                ResponseStatus::ResponseTooLarge,
            ),
            (
                "the owner still can",
                req(1, Some("alice"), &sign("k")),
                ResponseStatus::Success,
            ),
            (
                "ping needs nothing",
                req(0, None, &Operation::Ping),
                ResponseStatus::Success,
            ),
            (
                "admin op by admin",
                req(0, Some("admin"), &Operation::ListClients),
                ResponseStatus::Success,
            ),
        ];
        for (what, request, expected) in cases {
            let response = send(&s, request).await;
            assert_eq!(status(&response), expected, "{what}");
            if expected != ResponseStatus::Success {
                assert!(
                    response.body.is_empty(),
                    "{what}: error responses have no body"
                );
            }
        }
    }

    #[tokio::test]
    async fn header_errors_answer_like_parsec_and_others_echo_the_request() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = service(dir.path());
        // Unreadable header fields: Parsec's "from status" reply (provider 0, opcode Ping).
        let response = send(
            &s,
            Req {
                opcode: 0x77,
                provider: 1,
                ..req(1, Some("alice"), &Operation::ListKeys)
            },
        )
        .await;
        assert_eq!(response.header.opcode, Opcode::Ping as u32);
        assert_eq!(response.header.provider, 0);
        // A later failure echoes provider and opcode.
        let response = send(
            &s,
            req(
                1,
                None,
                &Operation::ExportPublicKey {
                    key_name: "x".into(),
                },
            ),
        )
        .await;
        assert_eq!(response.header.opcode, Opcode::PsaExportPublicKey as u32);
        assert_eq!(response.header.provider, 1);
        assert_eq!(status(&response), ResponseStatus::NotAuthenticated);
    }

    #[tokio::test]
    async fn extensions_are_negotiated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = service(dir.path());
        let list = Operation::ListOpcodes { provider_id: 1 };
        let opcodes = |response: &Response| match keyward_protocol::codec::decode_result(
            Opcode::ListOpcodes,
            &response.body,
        ) {
            Ok(OperationResult::ListOpcodes { opcodes }) => opcodes,
            other => panic!("unexpected {other:?}"),
        };
        let stock = opcodes(&send(&s, req(0, None, &list)).await);
        assert!(!stock.contains(&(Opcode::PsaMacCompute as u32)));
        assert!(stock.contains(&(Opcode::PsaSignHash as u32)));
        let extended = send(
            &s,
            Req {
                flags: FLAG_KEYWARD_EXTENSIONS,
                ..req(0, None, &list)
            },
        )
        .await;
        assert_eq!(extended.header.flags, FLAG_KEYWARD_EXTENSIONS);
        assert!(opcodes(&extended).contains(&(Opcode::PsaMacCompute as u32)));
    }
}
