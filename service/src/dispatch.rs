//! The path of one request after it was read: validate header → authenticate → pick provider →
//! check access → decode body → run the handler from the route table → encode the result.
//! Parsec's order of checks (reference §1.5) is kept so error statuses match its behaviour.

use std::sync::Arc;

use keyward_protocol::codec::{decode_operation, encode_result};
use keyward_protocol::header::WireHeader;
use keyward_protocol::ops::{Operation, OperationResult};
use keyward_protocol::{Opcode, ProviderId, RawRequest, RequestHeader, ResponseStatus};
use keyward_providers::Provider;

use crate::authenticators::{config_name, Authenticators, PeerCredentials, VerifiedIdentity};
use crate::config::Limits;
use crate::error::ServiceError;
use crate::key_store::KeyStore;
use crate::{core_ops, crypto_ops};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Informational: works without authentication.
    Public,
    /// Needs an authenticated caller.
    Authenticated,
    /// Needs a configured admin.
    Admin,
}

/// What a handler receives besides the operation.
pub struct Context<'a> {
    pub header: &'a RequestHeader,
    /// Present for every non-public operation (checked before the handler runs).
    pub identity: Option<&'a VerifiedIdentity>,
    /// The provider the request addressed; `None` for core operations.
    pub provider: Option<&'a dyn Provider>,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("header", self.header)
            .field("identity", &self.identity)
            .field("provider", &self.provider.map(|p| p.id()))
            .finish()
    }
}

impl Context<'_> {
    /// The caller; handlers of non-public routes can rely on it.
    pub fn caller(&self) -> Result<&VerifiedIdentity, ServiceError> {
        self.identity.ok_or(ServiceError::NotAuthenticated)
    }

    /// The addressed crypto provider.
    pub fn provider(&self) -> Result<&dyn Provider, ServiceError> {
        self.provider.ok_or(ServiceError::WrongProvider(
            "crypto operation sent to the core provider",
        ))
    }
}

/// What the checks before decoding produce: the route, the caller (if authenticated) and the
/// addressed provider (`None` for core).
type Prepared<'s> = (
    &'static Route,
    Option<VerifiedIdentity>,
    Option<&'s dyn Provider>,
);

pub type Handler = fn(&Service, &Context<'_>, Operation) -> Result<OperationResult, ServiceError>;

/// One row of the dispatch table.
#[derive(Debug)]
pub struct Route {
    pub opcode: Opcode,
    pub access: Access,
    pub handler: Handler,
}

/// The service: configuration, authenticators, key store and providers.
pub struct Service {
    pub limits: Limits,
    pub authenticators: Authenticators,
    pub store: KeyStore,
    /// In priority order: the first is the clients' default.
    pub providers: Vec<Arc<dyn Provider>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<ProviderId> = self.providers.iter().map(|p| p.id()).collect();
        f.debug_struct("Service")
            .field("authenticators", &self.authenticators)
            .field("providers", &ids)
            .finish()
    }
}

/// Largest body (and random output) processed on an async worker: about 30 µs of hashing or
/// AES at this machine class's speeds.
pub const INLINE_BODY_LIMIT: usize = 32 * 1024;

/// The whole dispatch table: adding an operation means adding a row here and its handler.
pub fn route(opcode: Opcode) -> Option<&'static Route> {
    ROUTES.iter().find(|route| route.opcode == opcode)
}

macro_rules! routes {
    ($($opcode:ident => $access:ident, $handler:path;)*) => {
        static ROUTES: &[Route] = &[$(Route { opcode: Opcode::$opcode, access: Access::$access, handler: $handler },)*];
    };
}

routes! {
    Ping => Public, core_ops::ping;
    ListProviders => Public, core_ops::list_providers;
    ListOpcodes => Public, core_ops::list_opcodes;
    ListAuthenticators => Public, core_ops::list_authenticators;
    ListKeys => Authenticated, core_ops::list_keys;
    ListClients => Admin, core_ops::list_clients;
    DeleteClient => Admin, core_ops::delete_client;
    PsaGenerateKey => Authenticated, crypto_ops::generate_key;
    PsaImportKey => Authenticated, crypto_ops::import_key;
    PsaDestroyKey => Authenticated, crypto_ops::destroy_key;
    PsaExportPublicKey => Authenticated, crypto_ops::export_public_key;
    PsaExportKey => Authenticated, crypto_ops::export_key;
    PsaSignHash => Authenticated, crypto_ops::sign_hash;
    PsaVerifyHash => Authenticated, crypto_ops::verify_hash;
    PsaSignMessage => Authenticated, crypto_ops::sign_message;
    PsaVerifyMessage => Authenticated, crypto_ops::verify_message;
    PsaAsymmetricEncrypt => Authenticated, crypto_ops::asymmetric_encrypt;
    PsaAsymmetricDecrypt => Authenticated, crypto_ops::asymmetric_decrypt;
    PsaAeadEncrypt => Authenticated, crypto_ops::aead_encrypt;
    PsaAeadDecrypt => Authenticated, crypto_ops::aead_decrypt;
    PsaCipherEncrypt => Authenticated, crypto_ops::cipher_encrypt;
    PsaCipherDecrypt => Authenticated, crypto_ops::cipher_decrypt;
    PsaMacCompute => Authenticated, crypto_ops::mac_compute;
    PsaMacVerify => Authenticated, crypto_ops::mac_verify;
    PsaHashCompute => Authenticated, crypto_ops::hash_compute;
    PsaHashCompare => Authenticated, crypto_ops::hash_compare;
    PsaGenerateRandom => Authenticated, crypto_ops::generate_random;
    PsaRawKeyAgreement => Authenticated, crypto_ops::raw_key_agreement;
    CanDoCrypto => Authenticated, crypto_ops::can_do_crypto;
}

/// A response ready to be written.
#[derive(Debug)]
pub struct Response {
    pub header: WireHeader,
    pub body: Vec<u8>,
}

impl Response {
    fn from_status(status: ResponseStatus) -> Self {
        Response {
            header: WireHeader::response_from_status(status),
            body: Vec::new(),
        }
    }

    fn to_request(header: &RequestHeader, status: ResponseStatus, body: Vec<u8>) -> Self {
        let body_len = u32::try_from(body.len()).unwrap_or(u32::MAX);
        Response {
            header: WireHeader::response_to(header, status, body_len),
            body,
        }
    }
}

impl Service {
    /// The provider configured under `id`.
    pub fn provider(&self, id: ProviderId) -> Option<&dyn Provider> {
        self.providers
            .iter()
            .find(|p| p.id() == id)
            .map(|p| p.as_ref())
    }

    /// True when the whole request is worth moving off the async workers: it writes the key
    /// store (a synchronous commit), may read much of it, creates a key (RSA generation takes
    /// up to seconds), or carries a large body (hashing and ciphers cost per byte). Other
    /// operations on an existing key decide once they know its type (`crypto_ops::with_key`):
    /// ECDSA, AES, HMAC or random bytes take microseconds, less than handing the worker over to
    /// another thread costs, so they run inline.
    pub fn is_heavy(raw: &RawRequest) -> bool {
        raw.body.len() > INLINE_BODY_LIMIT
            || Opcode::from_u32(raw.header.opcode).is_some_and(|op| {
                matches!(
                    op,
                    Opcode::PsaGenerateKey
                        | Opcode::PsaImportKey
                        | Opcode::PsaDestroyKey
                        | Opcode::ListKeys
                        | Opcode::ListClients
                        | Opcode::DeleteClient
                )
            })
    }

    /// Handles one request completely; never fails: every error becomes a status.
    pub fn handle(&self, raw: RawRequest, peer: Option<PeerCredentials>) -> Response {
        let header = match raw.header.validate_request() {
            Ok(header) => header,
            Err(status) => return Response::from_status(status),
        };
        let result = self
            .prepare(&header, &raw, peer)
            .and_then(|(route, identity, provider)| {
                let ctx = Context {
                    header: &header,
                    identity: identity.as_ref(),
                    provider,
                };
                let operation = decode_operation(header.opcode, &raw.body)?;
                let key_name = operation.key_name().map(str::to_owned);
                let outcome = (route.handler)(self, &ctx, operation);
                if !header.opcode.is_core() {
                    audit(&ctx, key_name.as_deref(), &outcome);
                }
                outcome
            });
        match result {
            Ok(result) => {
                let body = encode_result(&result);
                if body.len() > self.limits.max_response_len as usize {
                    let err = ServiceError::ResponseTooLarge(self.limits.max_response_len);
                    return Response::to_request(&header, err.status(), Vec::new());
                }
                Response::to_request(&header, ResponseStatus::Success, body)
            }
            Err(err) => {
                tracing::debug!(opcode = ?header.opcode, error = %err, "request failed");
                Response::to_request(&header, err.status(), Vec::new())
            }
        }
    }

    /// Authentication, provider and access checks, in Parsec's order.
    fn prepare(
        &self,
        header: &RequestHeader,
        raw: &RawRequest,
        peer: Option<PeerCredentials>,
    ) -> Result<Prepared<'_>, ServiceError> {
        let identity = self
            .authenticators
            .authenticate(header.auth_type, &raw.auth, peer)?;
        let provider = match header.provider {
            ProviderId::Core => None,
            id => Some(
                self.provider(id)
                    .ok_or(ServiceError::ProviderNotRegistered(id as u8))?,
            ),
        };
        let route = route(header.opcode).ok_or(ServiceError::WrongProvider(
            "operation not served by this service",
        ))?;
        match (header.opcode.is_core(), provider) {
            (true, Some(_)) => {
                return Err(ServiceError::WrongProvider(
                    "core operation sent to a crypto provider",
                ))
            }
            (false, None) => {
                return Err(ServiceError::WrongProvider(
                    "crypto operation sent to the core provider",
                ))
            }
            (false, Some(provider)) if !provider.families().opcodes().contains(&header.opcode) => {
                return Err(ServiceError::WrongProvider(
                    "operation not supported by this provider",
                ))
            }
            _ => {}
        }
        match route.access {
            Access::Public => {}
            Access::Authenticated => {
                identity.as_ref().ok_or(ServiceError::NotAuthenticated)?;
            }
            Access::Admin => {
                let caller = identity.as_ref().ok_or(ServiceError::NotAuthenticated)?;
                if !self.authenticators.is_admin(caller) {
                    return Err(ServiceError::NotAdmin);
                }
            }
        }
        Ok((route, identity, provider))
    }
}

/// One audit event per key operation: who, what, which key, where, and the outcome. Never
/// any key material or request data.
fn audit(
    ctx: &Context<'_>,
    key_name: Option<&str>,
    outcome: &Result<OperationResult, ServiceError>,
) {
    let (authenticator, identity) = ctx
        .identity
        .map(|id| (config_name(id.authenticator()), id.name()))
        .unwrap_or(("none", ""));
    let status = match outcome {
        Ok(_) => ResponseStatus::Success,
        Err(err) => err.status(),
    };
    tracing::info!(
        target: "keyward::audit",
        authenticator,
        identity,
        opcode = ?ctx.header.opcode,
        key = key_name.unwrap_or(""),
        provider = ?ctx.header.provider,
        outcome = ?status,
        "key operation"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_routed_opcode_is_routed_once() {
        for route in ROUTES {
            assert_eq!(
                ROUTES.iter().filter(|r| r.opcode == route.opcode).count(),
                1,
                "{:?}",
                route.opcode
            );
            assert_eq!(route.access == Access::Admin, route.opcode.is_admin());
        }
    }
}

/// The order of checks and the statuses they produce, on a real service (SQLite store in a
/// temporary directory, the software provider) without sockets.
#[cfg(test)]
mod order_of_checks {
    use super::*;
    use crate::config::Config;
    use keyward_protocol::codec::encode_operation;
    use keyward_protocol::header::FLAG_KEYWARD_EXTENSIONS;
    use keyward_protocol::psa::{
        Algorithm, AsymmetricSignature, EccFamily, Hash, KeyAttributes, KeyPolicy, KeyType,
        SignHash, UsageFlags,
    };
    use keyward_protocol::AuthType;
    use zeroize::Zeroizing;

    const ROOT: PeerCredentials = PeerCredentials {
        uid: 0,
        gid: 0,
        pid: None,
    };

    fn service(dir: &std::path::Path) -> Service {
        let text = crate::config::DEFAULT_CONFIG
            .replace("direct = false", "direct = true")
            .replace("admins = []", "admins = [\"direct:admin\"]");
        let config = Config::parse(&text, "test").expect("config");
        crate::setup::build_service(&config, dir).expect("service")
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

    fn send(service: &Service, r: Req) -> Response {
        let header = WireHeader {
            flags: r.flags,
            provider: r.provider,
            auth_type: r.auth_type,
            body_len: r.body.len() as u32,
            auth_len: r.auth.len() as u16,
            opcode: r.opcode,
            ..WireHeader::default()
        };
        let raw = RawRequest {
            header,
            body: r.body,
            auth: Zeroizing::new(r.auth),
        };
        service.handle(raw, Some(ROOT))
    }

    fn status(response: &Response) -> ResponseStatus {
        ResponseStatus::from_u16(response.header.status).expect("known status")
    }

    #[test]
    fn statuses_follow_parsec_order() {
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
            status(&send(&s, req(1, Some("alice"), &gen))),
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
            let response = send(&s, request);
            assert_eq!(status(&response), expected, "{what}");
            if expected != ResponseStatus::Success {
                assert!(
                    response.body.is_empty(),
                    "{what}: error responses have no body"
                );
            }
        }
    }

    #[test]
    fn header_errors_answer_like_parsec_and_others_echo_the_request() {
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
        );
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
        );
        assert_eq!(response.header.opcode, Opcode::PsaExportPublicKey as u32);
        assert_eq!(response.header.provider, 1);
        assert_eq!(status(&response), ResponseStatus::NotAuthenticated);
    }

    #[test]
    fn extensions_are_negotiated() {
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
        let stock = opcodes(&send(&s, req(0, None, &list)));
        assert!(!stock.contains(&(Opcode::PsaMacCompute as u32)));
        assert!(stock.contains(&(Opcode::PsaSignHash as u32)));
        let extended = send(
            &s,
            Req {
                flags: FLAG_KEYWARD_EXTENSIONS,
                ..req(0, None, &list)
            },
        );
        assert_eq!(extended.header.flags, FLAG_KEYWARD_EXTENSIONS);
        assert!(opcodes(&extended).contains(&(Opcode::PsaMacCompute as u32)));
    }
}
