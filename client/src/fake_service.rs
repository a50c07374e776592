//! Test-only: a tiny in-process service on a real Unix socket, speaking the real wire format
//! through `keyward_protocol`, so `BasicClient` is tested end to end without keywardd.
//!
//! Providers: core (0), TPM (3: only GenerateRandom) and software (1: keys, ECDSA P-256 via
//! p256, a toy AEAD). Every request is logged for assertions. Not a model of keywardd's
//! policy: just enough behaviour to check what the client sends and how it reads answers.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;

use keyward_protocol::codec::{decode_operation, encode_result};
use keyward_protocol::frame::{encode_frame, read_request, FrameLimits};
use keyward_protocol::ops::{AuthenticatorInfo, KeyInfo, ProviderInfo};
use keyward_protocol::psa::{Algorithm, KeyAttributes, KeyType};
use keyward_protocol::{
    AuthType, Opcode, Operation, OperationResult, ProviderId, RawRequest, ResponseStatus,
    WireHeader,
};
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use zeroize::Zeroizing;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub header: WireHeader,
    pub auth: Vec<u8>,
    pub body: Vec<u8>,
}

struct Key {
    attributes: KeyAttributes,
    provider: u8,
    ecdsa: Option<p256::ecdsa::SigningKey>,
}

#[derive(Default)]
struct State {
    keys: HashMap<String, Key>,
    counter: u8,
}

/// A running fake; the socket lives as long as this value.
pub struct FakeService {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

const TPM_OPCODES: &[Opcode] = &[Opcode::PsaGenerateRandom];
const SOFTWARE_OPCODES: &[Opcode] = &[
    Opcode::PsaGenerateKey,
    Opcode::PsaDestroyKey,
    Opcode::PsaExportPublicKey,
    Opcode::PsaSignHash,
    Opcode::PsaVerifyHash,
    Opcode::PsaAeadEncrypt,
    Opcode::PsaAeadDecrypt,
    Opcode::PsaGenerateRandom,
];

impl FakeService {
    /// Starts a fake enabling `authenticators` (auth type values, in this order).
    pub fn start(authenticators: &[u8]) -> FakeService {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fake-keyward.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(Mutex::new(State::default()));
        let authenticators = authenticators.to_vec();
        let log = seen.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let (log, state, authenticators) =
                    (log.clone(), state.clone(), authenticators.clone());
                thread::spawn(move || loop {
                    let Ok(request) = read_request(&mut stream, &FrameLimits::default()) else {
                        return;
                    };
                    log.lock().unwrap().push(Seen {
                        header: request.header,
                        auth: request.auth.to_vec(),
                        body: request.body.clone(),
                    });
                    let frame = answer(&request, &state, &authenticators);
                    if stream.write_all(&frame).is_err() {
                        return;
                    }
                });
            }
        });
        FakeService {
            _dir: dir,
            path,
            seen,
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn count(&self, opcode: Opcode) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.header.opcode == opcode as u32)
            .count()
    }
}

fn answer(request: &RawRequest, state: &Mutex<State>, authenticators: &[u8]) -> Vec<u8> {
    let header = match request.header.validate_request() {
        Ok(header) => header,
        Err(status) => return encode_frame(&WireHeader::response_from_status(status), &[], &[]),
    };
    let respond = |status: ResponseStatus, result: Option<OperationResult>| {
        let body = result.map(|r| encode_result(&r)).unwrap_or_default();
        let head = WireHeader::response_to(&header, status, body.len() as u32);
        encode_frame(&head, &body, &[])
    };
    if !header.opcode.is_core() && header.auth_type == AuthType::NoAuth {
        return respond(ResponseStatus::NotAuthenticated, None);
    }
    let expected_provider = if header.opcode.is_core() {
        ProviderId::Core
    } else {
        header.provider
    };
    let supported = match header.provider {
        ProviderId::Core => header.opcode.is_core(),
        ProviderId::Tpm => TPM_OPCODES.contains(&header.opcode),
        ProviderId::Software => SOFTWARE_OPCODES.contains(&header.opcode),
        _ => return respond(ResponseStatus::ProviderNotRegistered, None),
    };
    if !supported || expected_provider != header.provider {
        return respond(ResponseStatus::PsaErrorNotSupported, None);
    }
    let operation = match decode_operation(header.opcode, &request.body) {
        Ok(op) => op,
        Err(err) => return respond(err.status(), None),
    };
    match handle(operation, header.provider as u8, state, authenticators) {
        Ok(result) => respond(ResponseStatus::Success, Some(result)),
        Err(status) => respond(status, None),
    }
}

fn provider_info(id: u8, description: &str) -> ProviderInfo {
    ProviderInfo {
        uuid: format!("00000000-0000-0000-0000-00000000000{id}"),
        description: description.to_owned(),
        vendor: "fake".to_owned(),
        version_maj: 0,
        version_min: 1,
        version_rev: 0,
        id,
    }
}

fn handle(
    operation: Operation,
    provider: u8,
    state: &Mutex<State>,
    authenticators: &[u8],
) -> Result<OperationResult, ResponseStatus> {
    let mut state = state.lock().unwrap();
    let opcodes = |list: &[Opcode]| list.iter().map(|op| *op as u32).collect();
    Ok(match operation {
        Operation::Ping => OperationResult::Ping {
            wire_protocol_version_maj: 1,
            wire_protocol_version_min: 0,
        },
        Operation::ListProviders => OperationResult::ListProviders {
            providers: vec![
                provider_info(3, "fake TPM: random only"),
                provider_info(1, "fake software provider"),
                provider_info(0, "core"),
            ],
        },
        Operation::ListOpcodes { provider_id } => OperationResult::ListOpcodes {
            opcodes: match provider_id {
                0 => opcodes(&[Opcode::Ping, Opcode::ListProviders, Opcode::ListKeys]),
                1 => opcodes(SOFTWARE_OPCODES),
                3 => opcodes(TPM_OPCODES),
                _ => return Err(ResponseStatus::ProviderNotRegistered),
            },
        },
        Operation::ListAuthenticators => OperationResult::ListAuthenticators {
            authenticators: authenticators
                .iter()
                .map(|id| AuthenticatorInfo {
                    description: format!("authenticator {id}"),
                    version_maj: 0,
                    version_min: 1,
                    version_rev: 0,
                    id: *id,
                })
                .collect(),
        },
        Operation::ListKeys => OperationResult::ListKeys {
            keys: state
                .keys
                .iter()
                .map(|(name, key)| KeyInfo {
                    provider_id: key.provider,
                    name: name.clone(),
                    attributes: key.attributes,
                })
                .collect(),
        },
        Operation::GenerateKey {
            key_name,
            attributes,
        } => {
            if state.keys.contains_key(&key_name) {
                return Err(ResponseStatus::PsaErrorAlreadyExists);
            }
            state.counter = state.counter.wrapping_add(1);
            let ecdsa = matches!(attributes.key_type, KeyType::EccKeyPair { .. }).then(|| {
                p256::ecdsa::SigningKey::from_slice(&[state.counter.max(1); 32]).expect("key")
            });
            state.keys.insert(
                key_name,
                Key {
                    attributes,
                    provider,
                    ecdsa,
                },
            );
            OperationResult::GenerateKey
        }
        Operation::DestroyKey { key_name } => {
            state
                .keys
                .remove(&key_name)
                .ok_or(ResponseStatus::PsaErrorDoesNotExist)?;
            OperationResult::DestroyKey
        }
        Operation::ExportPublicKey { key_name } => {
            let key = ecdsa_key(&state, &key_name)?;
            OperationResult::ExportPublicKey {
                data: key
                    .verifying_key()
                    .to_encoded_point(false)
                    .as_bytes()
                    .to_vec(),
            }
        }
        Operation::SignHash { key_name, hash, .. } => {
            let sig: p256::ecdsa::Signature = ecdsa_key(&state, &key_name)?
                .sign_prehash(&hash)
                .map_err(|_| ResponseStatus::PsaErrorInvalidArgument)?;
            OperationResult::SignHash {
                signature: sig.to_bytes().to_vec(),
            }
        }
        Operation::VerifyHash {
            key_name,
            hash,
            signature,
            ..
        } => {
            let key = ecdsa_key(&state, &key_name)?;
            let sig = p256::ecdsa::Signature::from_slice(&signature)
                .map_err(|_| ResponseStatus::PsaErrorInvalidSignature)?;
            key.verifying_key()
                .verify_prehash(&hash, &sig)
                .map_err(|_| ResponseStatus::PsaErrorInvalidSignature)?;
            OperationResult::VerifyHash
        }
        // A toy AEAD (XOR with the nonce's first byte, zero tag): the client's nonce framing
        // is under test, not the cipher.
        Operation::AeadEncrypt {
            key_name,
            alg,
            nonce,
            plaintext,
            ..
        } => {
            aead_key(&state, &key_name, alg)?;
            let mut ciphertext: Vec<u8> = plaintext.iter().map(|b| b ^ nonce[0]).collect();
            ciphertext.extend([0u8; 16]);
            OperationResult::AeadEncrypt { ciphertext }
        }
        Operation::AeadDecrypt {
            key_name,
            alg,
            nonce,
            ciphertext,
            ..
        } => {
            aead_key(&state, &key_name, alg)?;
            let body = ciphertext
                .len()
                .checked_sub(16)
                .ok_or(ResponseStatus::PsaErrorInvalidSignature)?;
            OperationResult::AeadDecrypt {
                plaintext: Zeroizing::new(
                    ciphertext[..body].iter().map(|b| b ^ nonce[0]).collect(),
                ),
            }
        }
        Operation::GenerateRandom { size } => OperationResult::GenerateRandom {
            random_bytes: Zeroizing::new(vec![provider; size as usize]),
        },
        _ => return Err(ResponseStatus::PsaErrorNotSupported),
    })
}

fn ecdsa_key<'a>(
    state: &'a State,
    name: &str,
) -> Result<&'a p256::ecdsa::SigningKey, ResponseStatus> {
    let key = state
        .keys
        .get(name)
        .ok_or(ResponseStatus::PsaErrorDoesNotExist)?;
    key.ecdsa
        .as_ref()
        .ok_or(ResponseStatus::PsaErrorNotPermitted)
}

fn aead_key(
    state: &State,
    name: &str,
    alg: keyward_protocol::psa::Aead,
) -> Result<(), ResponseStatus> {
    let key = state
        .keys
        .get(name)
        .ok_or(ResponseStatus::PsaErrorDoesNotExist)?;
    if key.attributes.policy.permitted_algorithms != Algorithm::Aead(alg) {
        return Err(ResponseStatus::PsaErrorNotPermitted);
    }
    Ok(())
}
