//! The operation table: for every operation, its opcode, its proto package and the fields of
//! its request and result. One macro turns the table into the four codec functions, so an
//! operation is added by adding one line here (plus its model fields in [`crate::ops`]).

use prost::Message;

use super::generated as pb;
use super::wire::{wipe_like, wire_enum, wire_struct, WireField};
use super::CodecError;
use crate::opcode::Opcode;
use crate::ops::{AuthenticatorInfo, CheckType, KeyInfo, Operation, OperationResult, ProviderInfo};

use pb::can_do_crypto::CheckType as PbCheckType;

wire_enum!(CheckType <=> PbCheckType {
    Use <=> Use,
    Generate <=> Generate,
    Import <=> Import,
    Derive <=> Derive,
});

wire_struct!(ProviderInfo <=> pb::list_providers::ProviderInfo {
    uuid,
    description,
    vendor,
    version_maj,
    version_min,
    version_rev,
    id,
});

wire_struct!(AuthenticatorInfo <=> pb::list_authenticators::AuthenticatorInfo {
    description,
    version_maj,
    version_min,
    version_rev,
    id,
});

wire_struct!(KeyInfo <=> pb::list_keys::KeyInfo { provider_id, name, attributes });

/// Encodes `msg`, then lets `wipe` clear secret fields of the message before it is dropped.
fn encode_wiped<M: Message>(mut msg: M, wipe: impl FnOnce(&mut M)) -> Vec<u8> {
    let body = msg.encode_to_vec();
    wipe(&mut msg);
    body
}

/// Generates the codec functions from the table. Each row reads
/// `ModelVariant(Opcode) => proto_package { request fields } -> { result fields };`.
/// Model and protobuf field names are the same; each field converts through [`WireField`].
/// The protobuf messages are built and destructured exhaustively, so a row that forgets a
/// field does not compile, and `encode_*` match every model variant.
macro_rules! operations {
    ($(
        $variant:ident($opcode:ident) => $module:ident
            { $($req:ident),* } -> { $($res:ident),* };
    )+) => {
        /// Every opcode that has protobuf bodies, in table order.
        pub(super) const OPCODES: &[Opcode] = &[$(Opcode::$opcode),+];

        pub(super) fn decode_operation(
            opcode: Opcode,
            body: &[u8],
        ) -> Result<Operation, CodecError> {
            match opcode {
                $(Opcode::$opcode => {
                    let pb::$module::Operation { $($req),* } =
                        pb::$module::Operation::decode(body)?;
                    Ok(Operation::$variant {
                        $($req: WireField::from_pb(
                            $req,
                            concat!(stringify!($module), ".", stringify!($req)),
                        )?,)*
                    })
                })+
                _ => Err(CodecError::NoBody(opcode)),
            }
        }

        pub(super) fn encode_operation(operation: &Operation) -> Vec<u8> {
            match operation {
                $(Operation::$variant { $($req),* } => encode_wiped(
                    pb::$module::Operation { $($req: WireField::to_pb($req),)* },
                    |_msg| { $(wipe_like($req, &mut _msg.$req);)* },
                ),)+
            }
        }

        pub(super) fn decode_result(
            opcode: Opcode,
            body: &[u8],
        ) -> Result<OperationResult, CodecError> {
            match opcode {
                $(Opcode::$opcode => {
                    let pb::$module::Result { $($res),* } = pb::$module::Result::decode(body)?;
                    Ok(OperationResult::$variant {
                        $($res: WireField::from_pb(
                            $res,
                            concat!(stringify!($module), ".result.", stringify!($res)),
                        )?,)*
                    })
                })+
                _ => Err(CodecError::NoBody(opcode)),
            }
        }

        pub(super) fn encode_result(result: &OperationResult) -> Vec<u8> {
            match result {
                $(OperationResult::$variant { $($res),* } => encode_wiped(
                    pb::$module::Result { $($res: WireField::to_pb($res),)* },
                    |_msg| { $(wipe_like($res, &mut _msg.$res);)* },
                ),)+
            }
        }
    };
}

operations! {
    Ping(Ping) => ping {} -> { wire_protocol_version_maj, wire_protocol_version_min };
    ListProviders(ListProviders) => list_providers {} -> { providers };
    ListOpcodes(ListOpcodes) => list_opcodes { provider_id } -> { opcodes };
    ListAuthenticators(ListAuthenticators) => list_authenticators {} -> { authenticators };
    ListKeys(ListKeys) => list_keys {} -> { keys };
    ListClients(ListClients) => list_clients {} -> { clients };
    DeleteClient(DeleteClient) => delete_client { client } -> {};
    GenerateKey(PsaGenerateKey) => psa_generate_key { key_name, attributes } -> {};
    ImportKey(PsaImportKey) => psa_import_key { key_name, attributes, data } -> {};
    DestroyKey(PsaDestroyKey) => psa_destroy_key { key_name } -> {};
    ExportPublicKey(PsaExportPublicKey) => psa_export_public_key { key_name } -> { data };
    ExportKey(PsaExportKey) => psa_export_key { key_name } -> { data };
    SignHash(PsaSignHash) => psa_sign_hash { key_name, alg, hash } -> { signature };
    VerifyHash(PsaVerifyHash) => psa_verify_hash { key_name, alg, hash, signature } -> {};
    SignMessage(PsaSignMessage) => psa_sign_message { key_name, alg, message } -> { signature };
    VerifyMessage(PsaVerifyMessage) => psa_verify_message
        { key_name, alg, message, signature } -> {};
    AsymmetricEncrypt(PsaAsymmetricEncrypt) => psa_asymmetric_encrypt
        { key_name, alg, plaintext, salt } -> { ciphertext };
    AsymmetricDecrypt(PsaAsymmetricDecrypt) => psa_asymmetric_decrypt
        { key_name, alg, ciphertext, salt } -> { plaintext };
    AeadEncrypt(PsaAeadEncrypt) => psa_aead_encrypt
        { key_name, alg, nonce, additional_data, plaintext } -> { ciphertext };
    AeadDecrypt(PsaAeadDecrypt) => psa_aead_decrypt
        { key_name, alg, nonce, additional_data, ciphertext } -> { plaintext };
    CipherEncrypt(PsaCipherEncrypt) => psa_cipher_encrypt
        { key_name, alg, plaintext } -> { ciphertext };
    CipherDecrypt(PsaCipherDecrypt) => psa_cipher_decrypt
        { key_name, alg, ciphertext } -> { plaintext };
    MacCompute(PsaMacCompute) => psa_mac_compute { key_name, alg, input } -> { mac };
    MacVerify(PsaMacVerify) => psa_mac_verify { key_name, alg, input, mac } -> {};
    HashCompute(PsaHashCompute) => psa_hash_compute { alg, input } -> { hash };
    HashCompare(PsaHashCompare) => psa_hash_compare { alg, input, hash } -> {};
    GenerateRandom(PsaGenerateRandom) => psa_generate_random { size } -> { random_bytes };
    RawKeyAgreement(PsaRawKeyAgreement) => psa_raw_key_agreement
        { alg, private_key_name, peer_key } -> { shared_secret };
    CanDoCrypto(CanDoCrypto) => can_do_crypto { check_type, attributes } -> {};
    ShareTrustBundle(ShareTrustBundle) => keyward_share_trust_bundle
        { certificate, is_root } -> { instance_id };
    AddClient(AddClient) => keyward_add_client { payload } -> { instance_id };
    ProveClient(ProveClient) => keyward_prove_client { payload } -> { instance_id };
    RemoveClient(RemoveClient) => keyward_remove_client { payload } -> { instance_id };
    FetchToken(FetchToken) => keyward_fetch_token
        { audience, spiffe_id } -> { token, spiffe_id, expires_at };
    ReplaceTrustRoot(ReplaceTrustRoot) => keyward_replace_trust_root { certificate } -> {};
}
