//! Codec tests: round trips for every operation, byte-exact decoding and re-encoding of real
//! Parsec 1.5.0 traffic (`shared/reference/parsec-frames.txt`), rejection of malformed and
//! out-of-contract bodies, and seeded random inputs showing that decoding never panics.

use prost::Message;
use zeroize::Zeroizing;

use super::generated as pb;
use super::wire::{wipe_like, WireField, WireMessage};
use super::*;
use crate::frame::{read_request, FrameLimits};
use crate::opcode::ALL_OPCODES;
use crate::ops::{AuthenticatorInfo, CheckType, KeyInfo, ProviderInfo, Secret};
use crate::psa::*;
use crate::AuthType;

// ---------------------------------------------------------------------------------------------
// Test vectors captured from Parsec 1.5.0 driven by parsec-tool 0.7.0.

const LIST_PROVIDERS_RESULT: &str = concat!(
    "0a98010a2431633131333964632d616437632d343764632d616436622d646236666462343636353532126755",
    "73657220737061636520736f6674776172652070726f76696465722c206261736564206f6e204d6265642043",
    "727970746f202d20746865207265666572656e636520696d706c656d656e746174696f6e206f662074686520",
    "5053412063727970746f204150491a0341726d280138010a84010a2434373034393837332d326134332d3438",
    "34352d396437322d3833316561623636383738341258536f6674776172652070726f76696465722074686174",
    "20696d706c656d656e7473206f6e6c792061646d696e6973747261746976652028692e652e206e6f20637279",
    "70746f6772617068696329206f7065726174696f6e7320012805",
);

const LIST_AUTHENTICATORS_RESULT: &str = concat!(
    "0ad6010acf015573657320556e697820706565722063726564656e7469616c7320746f2061757468656e7469",
    "636174652074686520636c69656e742e2056657269666965732074686174207468652073656c662d6465636c",
    "6172656420556e69782075736572206964656e74696669657220285549442920696e20746865207265717565",
    "737427732061757468656e7469636174696f6e20686561646572206d61746368657320746861742077686963",
    "6820697320666f756e642066726f6d2074686520706565722063726564656e7469616c732e18012803",
);

const CREATE_ECC_KEY_REQUEST_FRAME: &str = concat!(
    "10a7c05e1e00010000000100000000000000000000032a000000040002000000000000000a077665632d6563",
    "63121f0a045a0208021080021a140a0830013801400148011208320622040a02100700000000",
);

const ASYMMETRIC_ENCRYPT_RESULT: &str = concat!(
    "0a800269f3708f000d2517da3c064a271f61e3031386e14191d46b6fec2729cb1696ea0bc8c16ab063397e23",
    "caa7fe8bdde4f56c710621cf68b17438748aee05845e043fae7b22bd967c188e5956abac3e90fbc7439de73d",
    "d307f9e3d19af90415ca772ac5e7280b12c8be559c3f48e3a29ddd625df91d23ff2c6ed307c40f1c11d203cb",
    "8260adcc59dded67e5a767b257a7c7c17f157f4094124f7fa78567e86223108df331e435b85399e04872fc96",
    "45a26e0f2d85eb7dd970ddd64412c10527106e250eac7e79579a668f52dcbfb6e0cb9f5baec5bb13166d3091",
    "f424881e575758761a87347060ddd9ddf98f7a57868f172f5b61cd27816e3706736fda8fcd8244",
);

/// ping: Result{maj=1} (min=0 is omitted).
const PING_RESULT: &str = "0801";
/// list-opcodes -p 1: Operation{provider_id=1}.
const LIST_OPCODES_REQUEST: &str = "0801";
/// The opcodes the Mbed Crypto provider answered, packed.
const LIST_OPCODES_RESULT: &str = "0a1004060c1020050d0b1202070a03130f11";
/// create-ecc-key -k vec-ecc.
const CREATE_ECC_KEY_REQUEST: &str =
    "0a077665632d656363121f0a045a0208021080021a140a0830013801400148011208320622040a021007";
/// create-rsa-key -k vec-rsa.
const CREATE_RSA_KEY_REQUEST: &str =
    "0a077665632d72736112150a0252001080101a0c0a042001280112043a020a00";
/// export-public-key -k vec-ecc (also the shape of destroy-key).
const EXPORT_PUBLIC_KEY_REQUEST: &str = "0a077665632d656363";
const EXPORT_PUBLIC_KEY_RESULT: &str = concat!(
    "0a4104895282f0bd037f50e78423dcb4ecb3f4b7e83f968dc911460383e320835759990a32978608fd5ec1",
    "4f0c5e2c539d8305ca8fd585a8024a9d2534e8a50fbf674c",
);
/// list-keys with both keys present.
const LIST_KEYS_RESULT: &str = concat!(
    "0a22080112077665632d7273611a150a0252001080101a0c0a042001280112043a020a000a2c0801120776",
    "65632d6563631a1f0a045a0208021080021a140a0830013801400148011208320622040a021007",
);
/// sign -k vec-ecc hello: SignHash with ECDSA(SHA-256) over SHA-256("hello").
const SIGN_HASH_REQUEST: &str = concat!(
    "0a077665632d656363120622040a0210071a202cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e",
    "73043362938b9824",
);
const SIGN_HASH_RESULT: &str = concat!(
    "0a40226b1145e422f2b50e19be9407560e06f9eb10acafc4f77200feb1ddb32ac9094a5d67340678642a5e",
    "13f0e406b9e11755e7b472456f0cd1b95c2aee3d315b0c",
);
/// encrypt -k vec-rsa hi: PKCS#1 v1.5, no salt.
const ASYMMETRIC_ENCRYPT_REQUEST: &str = "0a077665632d72736112020a001a026869";
/// generate-random --nbytes 16.
const GENERATE_RANDOM_REQUEST: &str = "0810";
const GENERATE_RANDOM_RESULT: &str = "0a10a0124bddb9f686e5810f74337912a4e8";

// ---------------------------------------------------------------------------------------------
// Helpers.

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Decodes a request, checks it re-encodes to the very same bytes, and returns it.
fn exact_request(opcode: Opcode, body_hex: &str) -> Operation {
    let body = hex(body_hex);
    let operation = decode_operation(opcode, &body).expect("real request decodes");
    assert_eq!(operation.opcode(), opcode);
    assert_eq!(
        encode_operation(&operation),
        body,
        "re-encoding differs for {opcode:?}"
    );
    operation
}

/// Decodes a result, checks it re-encodes to the very same bytes, and returns it.
fn exact_result(opcode: Opcode, body_hex: &str) -> OperationResult {
    let body = hex(body_hex);
    let result = decode_result(opcode, &body).expect("real result decodes");
    assert_eq!(
        encode_result(&result),
        body,
        "re-encoding differs for {opcode:?}"
    );
    result
}

fn secret(bytes: &[u8]) -> Secret {
    Zeroizing::new(bytes.to_vec())
}

/// Structural equality for values without `PartialEq` (the model deliberately has none on
/// operations, which carry secrets). Test data only.
fn same<T: std::fmt::Debug>(a: &T, b: &T) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fn ecdsa_sha256() -> AsymmetricSignature {
    AsymmetricSignature::Ecdsa {
        hash_alg: SignHash::Specific(Hash::Sha256),
    }
}

/// The attributes parsec-tool uses for create-ecc-key.
fn parsec_tool_ecc_attributes() -> KeyAttributes {
    KeyAttributes {
        key_type: KeyType::EccKeyPair {
            curve_family: EccFamily::SecpR1,
        },
        bits: 256,
        policy: KeyPolicy {
            usage_flags: UsageFlags {
                sign_message: true,
                verify_message: true,
                sign_hash: true,
                verify_hash: true,
                ..UsageFlags::default()
            },
            permitted_algorithms: Algorithm::AsymmetricSignature(ecdsa_sha256()),
        },
    }
}

/// The attributes parsec-tool uses for create-rsa-key.
fn parsec_tool_rsa_attributes() -> KeyAttributes {
    KeyAttributes {
        key_type: KeyType::RsaKeyPair,
        bits: 2048,
        policy: KeyPolicy {
            usage_flags: UsageFlags {
                encrypt: true,
                decrypt: true,
                ..UsageFlags::default()
            },
            permitted_algorithms: Algorithm::AsymmetricEncryption(
                AsymmetricEncryption::RsaPkcs1v15Crypt,
            ),
        },
    }
}

/// One request of every kind the codec knows, with non-default field values.
fn sample_operations() -> Vec<Operation> {
    let aes_attributes = KeyAttributes {
        key_type: KeyType::Aes,
        bits: 128,
        policy: KeyPolicy {
            usage_flags: UsageFlags {
                encrypt: true,
                decrypt: true,
                ..UsageFlags::default()
            },
            permitted_algorithms: Algorithm::Aead(Aead::AeadWithDefaultLengthTag(
                AeadWithDefaultLengthTag::Gcm,
            )),
        },
    };
    let oaep = AsymmetricEncryption::RsaOaep {
        hash_alg: Hash::Sha384,
    };
    let hmac = Mac::Truncated {
        mac_alg: FullLengthMac::Hmac {
            hash_alg: Hash::Sha256,
        },
        mac_length: 16,
    };
    vec![
        Operation::Ping,
        Operation::ListProviders,
        Operation::ListOpcodes { provider_id: 3 },
        Operation::ListAuthenticators,
        Operation::ListKeys,
        Operation::ListClients,
        Operation::DeleteClient {
            client: "1000".into(),
        },
        Operation::GenerateKey {
            key_name: "ecc".into(),
            attributes: parsec_tool_ecc_attributes(),
        },
        Operation::ImportKey {
            key_name: "imported".into(),
            attributes: aes_attributes,
            data: secret(&[0x42; 16]),
        },
        Operation::DestroyKey {
            key_name: "gone".into(),
        },
        Operation::ExportPublicKey {
            key_name: "pub".into(),
        },
        Operation::ExportKey {
            key_name: "exportable".into(),
        },
        Operation::SignHash {
            key_name: "s".into(),
            alg: ecdsa_sha256(),
            hash: vec![7; 32],
        },
        Operation::VerifyHash {
            key_name: "s".into(),
            alg: AsymmetricSignature::RsaPss {
                hash_alg: SignHash::Specific(Hash::Sha512),
            },
            hash: vec![8; 64],
            signature: vec![9; 256],
        },
        Operation::SignMessage {
            key_name: "m".into(),
            alg: AsymmetricSignature::DeterministicEcdsa {
                hash_alg: SignHash::Any,
            },
            message: b"hello".to_vec(),
        },
        Operation::VerifyMessage {
            key_name: "m".into(),
            alg: AsymmetricSignature::RsaPkcs1v15Sign {
                hash_alg: SignHash::Specific(Hash::Sha1),
            },
            message: b"hello".to_vec(),
            signature: vec![1, 2, 3],
        },
        Operation::AsymmetricEncrypt {
            key_name: "rsa".into(),
            alg: oaep,
            plaintext: secret(b"top secret"),
            salt: Some(b"label".to_vec()),
        },
        Operation::AsymmetricDecrypt {
            key_name: "rsa".into(),
            alg: AsymmetricEncryption::RsaPkcs1v15Crypt,
            ciphertext: vec![0xAA; 256],
            salt: None,
        },
        Operation::AeadEncrypt {
            key_name: "aes".into(),
            alg: Aead::AeadWithShortenedTag {
                aead_alg: AeadWithDefaultLengthTag::Ccm,
                tag_length: 8,
            },
            nonce: vec![1; 12],
            additional_data: b"header".to_vec(),
            plaintext: secret(b"payload"),
        },
        Operation::AeadDecrypt {
            key_name: "aes".into(),
            alg: Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Chacha20Poly1305),
            nonce: vec![2; 12],
            additional_data: Vec::new(),
            ciphertext: vec![3; 40],
        },
        Operation::CipherEncrypt {
            key_name: "aes".into(),
            alg: Cipher::CbcPkcs7,
            plaintext: secret(b"block me"),
        },
        Operation::CipherDecrypt {
            key_name: "aes".into(),
            alg: Cipher::Ctr,
            ciphertext: vec![4; 32],
        },
        Operation::MacCompute {
            key_name: "mac".into(),
            alg: hmac,
            input: b"data".to_vec(),
        },
        Operation::MacVerify {
            key_name: "mac".into(),
            alg: Mac::FullLength(FullLengthMac::Cmac),
            input: b"data".to_vec(),
            mac: vec![5; 16],
        },
        Operation::HashCompute {
            alg: Hash::Sha3_256,
            input: b"abc".to_vec(),
        },
        Operation::HashCompare {
            alg: Hash::Sha512_256,
            input: b"abc".to_vec(),
            hash: vec![6; 32],
        },
        Operation::GenerateRandom { size: 1 << 40 },
        Operation::RawKeyAgreement {
            alg: RawKeyAgreement::Ecdh,
            private_key_name: "ecdh".into(),
            peer_key: vec![4; 65],
        },
        Operation::CanDoCrypto {
            check_type: CheckType::Import,
            attributes: parsec_tool_rsa_attributes(),
        },
        Operation::ShareTrustBundle {
            certificate: vec![0x30, 0x82, 0x01, 0x00],
            is_root: true,
        },
        Operation::AddClient {
            payload: "eyJ9.e30.c2ln".into(),
        },
        Operation::ProveClient {
            payload: "eyJ9.e30.c2ln".into(),
        },
        Operation::RemoveClient {
            payload: "eyJ9.e30.c2ln".into(),
        },
        Operation::FetchToken {
            audience: "keyward".into(),
            spiffe_id: String::new(),
        },
        Operation::ReplaceTrustRoot {
            certificate: vec![0x30, 0x82, 0x01, 0x00],
        },
    ]
}

/// One result of every kind the codec knows, with the opcode it answers.
fn sample_results() -> Vec<(Opcode, OperationResult)> {
    use OperationResult as R;
    vec![
        (
            Opcode::Ping,
            R::Ping {
                wire_protocol_version_maj: 1,
                wire_protocol_version_min: 0,
            },
        ),
        (
            Opcode::ListProviders,
            R::ListProviders {
                providers: vec![
                    ProviderInfo {
                        uuid: "1c1139dc-ad7c-47dc-ad6b-db6fdb466552".into(),
                        description: "software".into(),
                        vendor: "Keyward".into(),
                        version_maj: 0,
                        version_min: 1,
                        version_rev: 2,
                        id: 1,
                    },
                    ProviderInfo {
                        uuid: "47049873-2a43-4845-9d72-831eab668784".into(),
                        description: "core".into(),
                        vendor: String::new(),
                        version_maj: 1,
                        version_min: 0,
                        version_rev: 0,
                        id: 0,
                    },
                ],
            },
        ),
        (
            Opcode::ListOpcodes,
            R::ListOpcodes {
                opcodes: vec![1, 8, 9, 14, 26, 0x4B01],
            },
        ),
        (
            Opcode::ListAuthenticators,
            R::ListAuthenticators {
                authenticators: vec![AuthenticatorInfo {
                    description: "peer credentials".into(),
                    version_maj: 0,
                    version_min: 1,
                    version_rev: 0,
                    id: 3,
                }],
            },
        ),
        (
            Opcode::ListKeys,
            R::ListKeys {
                keys: vec![
                    KeyInfo {
                        provider_id: 1,
                        name: "ecc".into(),
                        attributes: parsec_tool_ecc_attributes(),
                    },
                    KeyInfo {
                        provider_id: 2,
                        name: "rsa".into(),
                        attributes: parsec_tool_rsa_attributes(),
                    },
                ],
            },
        ),
        (
            Opcode::ListClients,
            R::ListClients {
                clients: vec!["0".into(), "1000".into()],
            },
        ),
        (Opcode::DeleteClient, R::DeleteClient),
        (Opcode::PsaGenerateKey, R::GenerateKey),
        (Opcode::PsaImportKey, R::ImportKey),
        (Opcode::PsaDestroyKey, R::DestroyKey),
        (
            Opcode::PsaExportPublicKey,
            R::ExportPublicKey { data: vec![4; 65] },
        ),
        (
            Opcode::PsaExportKey,
            R::ExportKey {
                data: secret(&[0x11; 32]),
            },
        ),
        (
            Opcode::PsaSignHash,
            R::SignHash {
                signature: vec![0x30; 72],
            },
        ),
        (Opcode::PsaVerifyHash, R::VerifyHash),
        (
            Opcode::PsaSignMessage,
            R::SignMessage {
                signature: vec![0x31; 64],
            },
        ),
        (Opcode::PsaVerifyMessage, R::VerifyMessage),
        (
            Opcode::PsaAsymmetricEncrypt,
            R::AsymmetricEncrypt {
                ciphertext: vec![0x32; 256],
            },
        ),
        (
            Opcode::PsaAsymmetricDecrypt,
            R::AsymmetricDecrypt {
                plaintext: secret(b"hi"),
            },
        ),
        (
            Opcode::PsaAeadEncrypt,
            R::AeadEncrypt {
                ciphertext: vec![0x33; 23],
            },
        ),
        (
            Opcode::PsaAeadDecrypt,
            R::AeadDecrypt {
                plaintext: secret(b"payload"),
            },
        ),
        (
            Opcode::PsaCipherEncrypt,
            R::CipherEncrypt {
                ciphertext: vec![0x34; 32],
            },
        ),
        (
            Opcode::PsaCipherDecrypt,
            R::CipherDecrypt {
                plaintext: secret(b"block me"),
            },
        ),
        (
            Opcode::PsaMacCompute,
            R::MacCompute {
                mac: vec![0x35; 16],
            },
        ),
        (Opcode::PsaMacVerify, R::MacVerify),
        (
            Opcode::PsaHashCompute,
            R::HashCompute {
                hash: vec![0x36; 32],
            },
        ),
        (Opcode::PsaHashCompare, R::HashCompare),
        (
            Opcode::PsaGenerateRandom,
            R::GenerateRandom {
                random_bytes: secret(&[0x37; 16]),
            },
        ),
        (
            Opcode::PsaRawKeyAgreement,
            R::RawKeyAgreement {
                shared_secret: secret(&[0x38; 32]),
            },
        ),
        (Opcode::CanDoCrypto, R::CanDoCrypto),
        (
            Opcode::ShareTrustBundle,
            R::ShareTrustBundle {
                instance_id: "4f1c".into(),
            },
        ),
        (
            Opcode::AddClient,
            R::AddClient {
                instance_id: "4f1c".into(),
            },
        ),
        (
            Opcode::ProveClient,
            R::ProveClient {
                instance_id: "4f1c".into(),
            },
        ),
        (
            Opcode::RemoveClient,
            R::RemoveClient {
                instance_id: "4f1c".into(),
            },
        ),
        (
            Opcode::FetchToken,
            R::FetchToken {
                token: Zeroizing::new(b"eyJhbGciOiJFUzI1NiJ9.e30.c2ln".to_vec()),
                spiffe_id: "spiffe://example.org/app".into(),
                expires_at: 1_767_225_900,
            },
        ),
        (Opcode::ReplaceTrustRoot, R::ReplaceTrustRoot),
    ]
}

fn sorted(mut opcodes: Vec<Opcode>) -> Vec<Opcode> {
    opcodes.sort();
    opcodes.dedup();
    opcodes
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        let len = self.below(max_len + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

const HASHES: &[Hash] = &[
    Hash::Md2,
    Hash::Md4,
    Hash::Md5,
    Hash::Ripemd160,
    Hash::Sha1,
    Hash::Sha224,
    Hash::Sha256,
    Hash::Sha384,
    Hash::Sha512,
    Hash::Sha512_224,
    Hash::Sha512_256,
    Hash::Sha3_224,
    Hash::Sha3_256,
    Hash::Sha3_384,
    Hash::Sha3_512,
];
const CIPHERS: &[Cipher] = &[
    Cipher::StreamCipher,
    Cipher::Ctr,
    Cipher::Cfb,
    Cipher::Ofb,
    Cipher::Xts,
    Cipher::EcbNoPadding,
    Cipher::CbcNoPadding,
    Cipher::CbcPkcs7,
];
const AEADS: &[AeadWithDefaultLengthTag] = &[
    AeadWithDefaultLengthTag::Ccm,
    AeadWithDefaultLengthTag::Gcm,
    AeadWithDefaultLengthTag::Chacha20Poly1305,
];
const RAW_KEY_AGREEMENTS: &[RawKeyAgreement] = &[RawKeyAgreement::Ffdh, RawKeyAgreement::Ecdh];
const ECC_FAMILIES: &[EccFamily] = &[
    EccFamily::SecpK1,
    EccFamily::SecpR1,
    EccFamily::SecpR2,
    EccFamily::SectK1,
    EccFamily::SectR1,
    EccFamily::SectR2,
    EccFamily::BrainpoolPR1,
    EccFamily::Frp,
    EccFamily::Montgomery,
];

fn random_sign_hash(rng: &mut Rng) -> SignHash {
    if rng.below(4) == 0 {
        SignHash::Any
    } else {
        SignHash::Specific(rng.pick(HASHES))
    }
}

fn random_signature(rng: &mut Rng) -> AsymmetricSignature {
    let hash_alg = random_sign_hash(rng);
    match rng.below(6) {
        0 => AsymmetricSignature::RsaPkcs1v15Sign { hash_alg },
        1 => AsymmetricSignature::RsaPkcs1v15SignRaw,
        2 => AsymmetricSignature::RsaPss { hash_alg },
        3 => AsymmetricSignature::Ecdsa { hash_alg },
        4 => AsymmetricSignature::EcdsaAny,
        _ => AsymmetricSignature::DeterministicEcdsa { hash_alg },
    }
}

fn random_encryption(rng: &mut Rng) -> AsymmetricEncryption {
    if rng.bool() {
        AsymmetricEncryption::RsaPkcs1v15Crypt
    } else {
        AsymmetricEncryption::RsaOaep {
            hash_alg: rng.pick(HASHES),
        }
    }
}

fn random_full_mac(rng: &mut Rng) -> FullLengthMac {
    match rng.below(3) {
        0 => FullLengthMac::Hmac {
            hash_alg: rng.pick(HASHES),
        },
        1 => FullLengthMac::CbcMac,
        _ => FullLengthMac::Cmac,
    }
}

fn random_mac(rng: &mut Rng) -> Mac {
    if rng.bool() {
        Mac::FullLength(random_full_mac(rng))
    } else {
        Mac::Truncated {
            mac_alg: random_full_mac(rng),
            mac_length: rng.below(70) as u32,
        }
    }
}

fn random_aead(rng: &mut Rng) -> Aead {
    if rng.bool() {
        Aead::AeadWithDefaultLengthTag(rng.pick(AEADS))
    } else {
        Aead::AeadWithShortenedTag {
            aead_alg: rng.pick(AEADS),
            tag_length: rng.below(17) as u32,
        }
    }
}

fn random_kdf(rng: &mut Rng) -> KeyDerivation {
    let hash_alg = rng.pick(HASHES);
    match rng.below(3) {
        0 => KeyDerivation::Hkdf { hash_alg },
        1 => KeyDerivation::Tls12Prf { hash_alg },
        _ => KeyDerivation::Tls12PskToMs { hash_alg },
    }
}

fn random_algorithm(rng: &mut Rng) -> Algorithm {
    match rng.below(9) {
        0 => Algorithm::None,
        1 => Algorithm::Hash(rng.pick(HASHES)),
        2 => Algorithm::Mac(random_mac(rng)),
        3 => Algorithm::Cipher(rng.pick(CIPHERS)),
        4 => Algorithm::Aead(random_aead(rng)),
        5 => Algorithm::AsymmetricSignature(random_signature(rng)),
        6 => Algorithm::AsymmetricEncryption(random_encryption(rng)),
        7 => Algorithm::KeyAgreement(if rng.bool() {
            KeyAgreement::Raw(rng.pick(RAW_KEY_AGREEMENTS))
        } else {
            KeyAgreement::WithKeyDerivation {
                ka_alg: rng.pick(RAW_KEY_AGREEMENTS),
                kdf_alg: random_kdf(rng),
            }
        }),
        _ => Algorithm::KeyDerivation(random_kdf(rng)),
    }
}

fn random_key_type(rng: &mut Rng) -> KeyType {
    let curve_family = rng.pick(ECC_FAMILIES);
    let group_family = DhFamily::Rfc7919;
    match rng.below(14) {
        0 => KeyType::RawData,
        1 => KeyType::Hmac,
        2 => KeyType::Derive,
        3 => KeyType::Aes,
        4 => KeyType::Des,
        5 => KeyType::Camellia,
        6 => KeyType::Arc4,
        7 => KeyType::Chacha20,
        8 => KeyType::RsaPublicKey,
        9 => KeyType::RsaKeyPair,
        10 => KeyType::EccKeyPair { curve_family },
        11 => KeyType::EccPublicKey { curve_family },
        12 => KeyType::DhKeyPair { group_family },
        _ => KeyType::DhPublicKey { group_family },
    }
}

fn random_attributes(rng: &mut Rng) -> KeyAttributes {
    let flags = rng.next();
    let bit = |i: u32| flags & (1 << i) != 0;
    KeyAttributes {
        key_type: random_key_type(rng),
        bits: if rng.bool() { 0 } else { rng.next() as u32 },
        policy: KeyPolicy {
            usage_flags: UsageFlags {
                export: bit(0),
                copy: bit(1),
                cache: bit(2),
                encrypt: bit(3),
                decrypt: bit(4),
                sign_message: bit(5),
                verify_message: bit(6),
                sign_hash: bit(7),
                verify_hash: bit(8),
                derive: bit(9),
            },
            permitted_algorithms: random_algorithm(rng),
        },
    }
}

/// If `body` decodes (as a request and as a result), the value must re-encode to a body that
/// decodes again to the same encoding: decoding then encoding reaches a fixed point.
/// Returns how many of the two decodes succeeded, so callers can check they test something.
fn assert_decode_is_stable(opcode: Opcode, body: &[u8]) -> usize {
    let mut decoded = 0;
    if let Ok(operation) = decode_operation(opcode, body) {
        let encoded = encode_operation(&operation);
        let again = decode_operation(opcode, &encoded).expect("re-encoded request decodes");
        assert_eq!(
            encode_operation(&again),
            encoded,
            "{opcode:?} request not stable"
        );
        decoded += 1;
    }
    if let Ok(result) = decode_result(opcode, body) {
        let encoded = encode_result(&result);
        let again = decode_result(opcode, &encoded).expect("re-encoded result decodes");
        assert_eq!(
            encode_result(&again),
            encoded,
            "{opcode:?} result not stable"
        );
        decoded += 1;
    }
    decoded
}

fn assert_invalid(result: Result<Operation, CodecError>, expected_field: &str) {
    match result {
        Err(CodecError::InvalidValue { field }) => assert_eq!(field, expected_field),
        other => panic!("expected InvalidValue({expected_field}), got {other:?}"),
    }
}

fn assert_missing(result: Result<Operation, CodecError>, expected_field: &str) {
    match result {
        Err(CodecError::MissingField { field }) => assert_eq!(field, expected_field),
        other => panic!("expected MissingField({expected_field}), got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips.

#[test]
fn samples_cover_every_opcode_with_a_body() {
    let request_opcodes = sorted(sample_operations().iter().map(Operation::opcode).collect());
    let result_opcodes = sorted(sample_results().iter().map(|(opcode, _)| *opcode).collect());
    let table = sorted(ops::OPCODES.to_vec());
    assert_eq!(request_opcodes, table);
    assert_eq!(result_opcodes, table);
    assert_eq!(table.len(), 35);
}

#[test]
fn every_operation_round_trips() {
    for operation in sample_operations() {
        let opcode = operation.opcode();
        let body = encode_operation(&operation);
        let decoded = decode_operation(opcode, &body).expect("own encoding decodes");
        assert!(
            same(&decoded, &operation),
            "{opcode:?}: {decoded:?} != {operation:?}"
        );
        assert_eq!(encode_operation(&decoded), body);
    }
}

#[test]
fn every_result_round_trips() {
    for (opcode, result) in sample_results() {
        let body = encode_result(&result);
        let decoded = decode_result(opcode, &body).expect("own encoding decodes");
        assert!(
            same(&decoded, &result),
            "{opcode:?}: {decoded:?} != {result:?}"
        );
        assert_eq!(encode_result(&decoded), body);
    }
}

#[test]
fn random_attributes_and_algorithms_round_trip() {
    let mut rng = Rng::new(0x4B45_5957_4152_4421);
    for _ in 0..3000 {
        let attributes = random_attributes(&mut rng);
        let operation = Operation::GenerateKey {
            key_name: "k".into(),
            attributes,
        };
        let body = encode_operation(&operation);
        match decode_operation(Opcode::PsaGenerateKey, &body).expect("decodes") {
            Operation::GenerateKey {
                attributes: decoded,
                ..
            } => assert_eq!(decoded, attributes),
            other => panic!("wrong operation {other:?}"),
        }

        let alg = random_signature(&mut rng);
        let operation = Operation::SignHash {
            key_name: "k".into(),
            alg,
            hash: vec![1],
        };
        let body = encode_operation(&operation);
        match decode_operation(Opcode::PsaSignHash, &body).expect("decodes") {
            Operation::SignHash { alg: decoded, .. } => assert_eq!(decoded, alg),
            other => panic!("wrong operation {other:?}"),
        }

        let alg = random_mac(&mut rng);
        let operation = Operation::MacCompute {
            key_name: "k".into(),
            alg,
            input: vec![],
        };
        let body = encode_operation(&operation);
        match decode_operation(Opcode::PsaMacCompute, &body).expect("decodes") {
            Operation::MacCompute { alg: decoded, .. } => assert_eq!(decoded, alg),
            other => panic!("wrong operation {other:?}"),
        }
    }
}

#[test]
fn every_enum_value_round_trips() {
    for &hash in HASHES {
        assert_eq!(Hash::from_pb(hash.to_pb(), "t").expect("hash"), hash);
    }
    for &cipher in CIPHERS {
        assert_eq!(
            Cipher::from_pb(cipher.to_pb(), "t").expect("cipher"),
            cipher
        );
    }
    for &family in ECC_FAMILIES {
        assert_eq!(
            EccFamily::from_pb(family.to_pb(), "t").expect("family"),
            family
        );
    }
    for &check in &[
        CheckType::Use,
        CheckType::Generate,
        CheckType::Import,
        CheckType::Derive,
    ] {
        assert_eq!(
            CheckType::from_pb(check.to_pb(), "t").expect("check type"),
            check
        );
    }
    // Spot-check numbers against Parsec's contract.
    assert_eq!(Hash::Sha256.to_pb(), 7);
    assert_eq!(Hash::Sha3_512.to_pb(), 15);
    assert_eq!(Cipher::CbcPkcs7.to_pb(), 8);
    assert_eq!(EccFamily::SecpR1.to_pb(), 2);
    assert_eq!(EccFamily::Montgomery.to_pb(), 9);
    assert_eq!(DhFamily::Rfc7919.to_pb(), 0);
    assert_eq!(AeadWithDefaultLengthTag::Chacha20Poly1305.to_pb(), 3);
    assert_eq!(RawKeyAgreement::Ecdh.to_pb(), 2);
    assert_eq!(CheckType::Derive.to_pb(), 4);
}

#[test]
fn salt_is_absent_when_empty() {
    let encrypt = |salt: Option<Vec<u8>>| Operation::AsymmetricEncrypt {
        key_name: "k".into(),
        alg: AsymmetricEncryption::RsaOaep {
            hash_alg: Hash::Sha256,
        },
        plaintext: secret(b"p"),
        salt,
    };
    let decoded_salt = |operation: &Operation| match decode_operation(
        Opcode::PsaAsymmetricEncrypt,
        &encode_operation(operation),
    ) {
        Ok(Operation::AsymmetricEncrypt { salt, .. }) => salt,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(decoded_salt(&encrypt(None)), None);
    assert_eq!(
        decoded_salt(&encrypt(Some(b"label".to_vec()))),
        Some(b"label".to_vec())
    );
    // proto3 cannot carry an empty-but-present salt: it reads back as none, as in Parsec.
    assert_eq!(decoded_salt(&encrypt(Some(Vec::new()))), None);
}

#[test]
fn empty_results_encode_to_empty_bodies() {
    for result in [
        OperationResult::GenerateKey,
        OperationResult::DestroyKey,
        OperationResult::CanDoCrypto,
    ] {
        assert!(encode_result(&result).is_empty());
    }
    assert!(encode_operation(&Operation::Ping).is_empty());
    assert!(encode_operation(&Operation::ListKeys).is_empty());
}

#[test]
fn secrets_are_wiped_after_encoding_and_other_fields_are_not() {
    let mut copy = vec![1u8, 2, 3];
    wipe_like(&secret(b"abc"), &mut copy);
    assert!(
        copy.is_empty(),
        "zeroize clears the protobuf copy of a secret"
    );

    let mut public = vec![1u8, 2, 3];
    wipe_like(&Vec::<u8>::new(), &mut public);
    assert_eq!(public, [1, 2, 3]);
}

// ---------------------------------------------------------------------------------------------
// Real Parsec traffic, byte for byte.

#[test]
fn ping_vectors() {
    assert!(matches!(exact_request(Opcode::Ping, ""), Operation::Ping));
    match exact_result(Opcode::Ping, PING_RESULT) {
        OperationResult::Ping {
            wire_protocol_version_maj: 1,
            wire_protocol_version_min: 0,
        } => {}
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn list_opcodes_vectors() {
    match exact_request(Opcode::ListOpcodes, LIST_OPCODES_REQUEST) {
        Operation::ListOpcodes { provider_id: 1 } => {}
        other => panic!("unexpected {other:?}"),
    }
    match exact_result(Opcode::ListOpcodes, LIST_OPCODES_RESULT) {
        OperationResult::ListOpcodes { opcodes } => {
            assert_eq!(
                opcodes,
                [4, 6, 12, 16, 32, 5, 13, 11, 18, 2, 7, 10, 3, 19, 15, 17]
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    // A peer may send the repeated field unpacked; protobuf requires accepting both.
    match decode_result(Opcode::ListOpcodes, &hex("08040806")) {
        Ok(OperationResult::ListOpcodes { opcodes }) => assert_eq!(opcodes, [4, 6]),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn list_providers_vector() {
    let body = hex(LIST_PROVIDERS_RESULT);
    assert_eq!(body.len(), 290);
    match exact_result(Opcode::ListProviders, LIST_PROVIDERS_RESULT) {
        OperationResult::ListProviders { providers } => {
            assert_eq!(providers.len(), 2);
            let mbed = &providers[0];
            assert_eq!(mbed.uuid, "1c1139dc-ad7c-47dc-ad6b-db6fdb466552");
            assert!(mbed.description.starts_with("User space software provider"));
            assert_eq!(mbed.vendor, "Arm");
            assert_eq!(
                (
                    mbed.version_maj,
                    mbed.version_min,
                    mbed.version_rev,
                    mbed.id
                ),
                (0, 1, 0, 1)
            );
            let core = &providers[1];
            assert_eq!(core.uuid, "47049873-2a43-4845-9d72-831eab668784");
            assert_eq!(core.vendor, "");
            assert_eq!(
                (
                    core.version_maj,
                    core.version_min,
                    core.version_rev,
                    core.id
                ),
                (1, 5, 0, 0)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn list_authenticators_vector() {
    match exact_result(Opcode::ListAuthenticators, LIST_AUTHENTICATORS_RESULT) {
        OperationResult::ListAuthenticators { authenticators } => {
            assert_eq!(authenticators.len(), 1);
            let peer = &authenticators[0];
            assert!(peer.description.starts_with("Uses Unix peer credentials"));
            assert_eq!(
                (peer.version_maj, peer.version_min, peer.version_rev),
                (0, 1, 0)
            );
            assert_eq!(peer.id, AuthType::UnixPeerCredentials as u8);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn create_ecc_key_vector() {
    match exact_request(Opcode::PsaGenerateKey, CREATE_ECC_KEY_REQUEST) {
        Operation::GenerateKey {
            key_name,
            attributes,
        } => {
            assert_eq!(key_name, "vec-ecc");
            assert_eq!(attributes, parsec_tool_ecc_attributes());
        }
        other => panic!("unexpected {other:?}"),
    }
    // Our encoding of the same request is what parsec-tool sent.
    let ours = Operation::GenerateKey {
        key_name: "vec-ecc".into(),
        attributes: parsec_tool_ecc_attributes(),
    };
    assert_eq!(encode_operation(&ours), hex(CREATE_ECC_KEY_REQUEST));
}

#[test]
fn create_ecc_key_whole_frame() {
    let frame = hex(CREATE_ECC_KEY_REQUEST_FRAME);
    let request = read_request(&mut std::io::Cursor::new(frame), &FrameLimits::default())
        .expect("frame reads");
    let header = request.header.validate_request().expect("header is valid");
    assert_eq!(header.opcode, Opcode::PsaGenerateKey);
    assert_eq!(header.auth_type, AuthType::UnixPeerCredentials);
    assert_eq!(&request.auth[..], 0u32.to_le_bytes());
    assert_eq!(request.body, hex(CREATE_ECC_KEY_REQUEST));
    let operation = decode_operation(header.opcode, &request.body).expect("body decodes");
    assert_eq!(operation.key_name(), Some("vec-ecc"));
}

#[test]
fn create_rsa_key_vector() {
    match exact_request(Opcode::PsaGenerateKey, CREATE_RSA_KEY_REQUEST) {
        Operation::GenerateKey {
            key_name,
            attributes,
        } => {
            assert_eq!(key_name, "vec-rsa");
            assert_eq!(attributes, parsec_tool_rsa_attributes());
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn export_public_key_and_destroy_key_vectors() {
    match exact_request(Opcode::PsaExportPublicKey, EXPORT_PUBLIC_KEY_REQUEST) {
        Operation::ExportPublicKey { key_name } => assert_eq!(key_name, "vec-ecc"),
        other => panic!("unexpected {other:?}"),
    }
    match exact_result(Opcode::PsaExportPublicKey, EXPORT_PUBLIC_KEY_RESULT) {
        OperationResult::ExportPublicKey { data } => {
            // SEC1 uncompressed P-256 point.
            assert_eq!(data.len(), 65);
            assert_eq!(data[0], 0x04);
        }
        other => panic!("unexpected {other:?}"),
    }
    match exact_request(Opcode::PsaDestroyKey, EXPORT_PUBLIC_KEY_REQUEST) {
        Operation::DestroyKey { key_name } => assert_eq!(key_name, "vec-ecc"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        exact_result(Opcode::PsaDestroyKey, ""),
        OperationResult::DestroyKey
    ));
}

#[test]
fn list_keys_vector() {
    assert!(matches!(
        exact_request(Opcode::ListKeys, ""),
        Operation::ListKeys
    ));
    match exact_result(Opcode::ListKeys, LIST_KEYS_RESULT) {
        OperationResult::ListKeys { keys } => {
            let expected = [
                KeyInfo {
                    provider_id: 1,
                    name: "vec-rsa".into(),
                    attributes: parsec_tool_rsa_attributes(),
                },
                KeyInfo {
                    provider_id: 1,
                    name: "vec-ecc".into(),
                    attributes: parsec_tool_ecc_attributes(),
                },
            ];
            assert_eq!(keys, expected);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn sign_hash_vectors() {
    match exact_request(Opcode::PsaSignHash, SIGN_HASH_REQUEST) {
        Operation::SignHash {
            key_name,
            alg,
            hash,
        } => {
            assert_eq!(key_name, "vec-ecc");
            assert_eq!(alg, ecdsa_sha256());
            assert_eq!(hash.len(), 32);
        }
        other => panic!("unexpected {other:?}"),
    }
    match exact_result(Opcode::PsaSignHash, SIGN_HASH_RESULT) {
        // Raw r || s for P-256.
        OperationResult::SignHash { signature } => assert_eq!(signature.len(), 64),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn asymmetric_encrypt_vectors() {
    match exact_request(Opcode::PsaAsymmetricEncrypt, ASYMMETRIC_ENCRYPT_REQUEST) {
        Operation::AsymmetricEncrypt {
            key_name,
            alg,
            plaintext,
            salt,
        } => {
            assert_eq!(key_name, "vec-rsa");
            assert_eq!(alg, AsymmetricEncryption::RsaPkcs1v15Crypt);
            assert_eq!(&plaintext[..], b"hi");
            assert_eq!(salt, None);
        }
        other => panic!("unexpected {other:?}"),
    }
    match exact_result(Opcode::PsaAsymmetricEncrypt, ASYMMETRIC_ENCRYPT_RESULT) {
        OperationResult::AsymmetricEncrypt { ciphertext } => assert_eq!(ciphertext.len(), 256),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn generate_random_vectors() {
    match exact_request(Opcode::PsaGenerateRandom, GENERATE_RANDOM_REQUEST) {
        Operation::GenerateRandom { size } => assert_eq!(size, 16),
        other => panic!("unexpected {other:?}"),
    }
    match exact_result(Opcode::PsaGenerateRandom, GENERATE_RANDOM_RESULT) {
        OperationResult::GenerateRandom { random_bytes } => assert_eq!(random_bytes.len(), 16),
        other => panic!("unexpected {other:?}"),
    }
    // The size is a 64-bit varint on the wire.
    let big = Operation::GenerateRandom { size: u64::MAX };
    assert_eq!(encode_operation(&big), hex("08ffffffffffffffffff01"));
}

// ---------------------------------------------------------------------------------------------
// Malformed and out-of-contract bodies.

fn attributes_msg() -> pb::psa_key_attributes::KeyAttributes {
    parsec_tool_ecc_attributes().to_msg()
}

fn generate_key_body(attributes: Option<pb::psa_key_attributes::KeyAttributes>) -> Vec<u8> {
    pb::psa_generate_key::Operation {
        key_name: "k".into(),
        attributes,
    }
    .encode_to_vec()
}

#[test]
fn garbage_bodies_are_decode_errors() {
    let bodies: &[&[u8]] = &[
        &[0xff],             // field 31, wire type 7: no such wire type
        &[0x0a, 0x05, 0x01], // length 5, one byte follows
        &[0x08],             // varint cut off
        &[
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ], // 11-byte varint
        &[0x0a, 0x01, 0xff], // key_name that is not UTF-8
        &[0x00],             // field number 0
    ];
    for body in bodies {
        for opcode in [
            Opcode::PsaDestroyKey,
            Opcode::PsaGenerateKey,
            Opcode::PsaSignHash,
        ] {
            match decode_operation(opcode, body) {
                Err(CodecError::Decode(_)) => {}
                other => panic!("{opcode:?} {body:02x?}: expected a decode error, got {other:?}"),
            }
        }
    }
    // A string field sent as a varint is a wire-type mismatch.
    assert!(matches!(
        decode_operation(Opcode::PsaDestroyKey, &[0x08, 0x01]),
        Err(CodecError::Decode(_))
    ));
    assert!(matches!(
        decode_result(Opcode::Ping, &[0x0a, 0x09]),
        Err(CodecError::Decode(_))
    ));
}

#[test]
fn unknown_and_zero_enum_values_are_invalid() {
    for alg in [0, 16, 2047, -1] {
        let body = pb::psa_hash_compute::Operation { alg, input: vec![] }.encode_to_vec();
        assert_invalid(
            decode_operation(Opcode::PsaHashCompute, &body),
            "psa_hash_compute.alg",
        );
    }
    for alg in [0, 9] {
        let body = pb::psa_cipher_encrypt::Operation {
            key_name: "k".into(),
            alg,
            plaintext: vec![],
        }
        .encode_to_vec();
        assert_invalid(
            decode_operation(Opcode::PsaCipherEncrypt, &body),
            "psa_cipher_encrypt.alg",
        );
    }
    for alg in [0, 3] {
        let body = pb::psa_raw_key_agreement::Operation {
            alg,
            private_key_name: "k".into(),
            peer_key: vec![],
        }
        .encode_to_vec();
        assert_invalid(
            decode_operation(Opcode::PsaRawKeyAgreement, &body),
            "psa_raw_key_agreement.alg",
        );
    }
    for check_type in [0, 5] {
        let body = pb::can_do_crypto::Operation {
            check_type,
            attributes: Some(attributes_msg()),
        }
        .encode_to_vec();
        assert_invalid(
            decode_operation(Opcode::CanDoCrypto, &body),
            "can_do_crypto.check_type",
        );
    }
    // Nested enums: the curve family of a key type, the hash inside a signature algorithm.
    for curve_family in [0, 10] {
        let mut attributes = attributes_msg();
        attributes.key_type = Some(pb::psa_key_attributes::KeyType {
            variant: Some(pb::psa_key_attributes::key_type::Variant::EccKeyPair(
                pb::psa_key_attributes::key_type::EccKeyPair { curve_family },
            )),
        });
        assert_invalid(
            decode_operation(Opcode::PsaGenerateKey, &generate_key_body(Some(attributes))),
            "key_type.curve_family",
        );
    }
    let dh = pb::psa_key_attributes::key_type::DhKeyPair { group_family: 1 };
    let mut attributes = attributes_msg();
    attributes.key_type = Some(pb::psa_key_attributes::KeyType {
        variant: Some(pb::psa_key_attributes::key_type::Variant::DhKeyPair(dh)),
    });
    assert_invalid(
        decode_operation(Opcode::PsaGenerateKey, &generate_key_body(Some(attributes))),
        "key_type.group_family",
    );
    // ECDSA with SignHash::Specific(99).
    let bad_hash = hex("0a016b120622040a021063");
    assert_invalid(
        decode_operation(Opcode::PsaSignHash, &bad_hash),
        "sign_hash.specific",
    );
    // AEAD default-tag algorithm 4.
    let body = pb::psa_aead_encrypt::Operation {
        key_name: "k".into(),
        alg: Some(pb::psa_algorithm::algorithm::Aead {
            variant: Some(pb::psa_algorithm::algorithm::aead::Variant::AeadWithDefaultLengthTag(4)),
        }),
        ..Default::default()
    }
    .encode_to_vec();
    assert_invalid(
        decode_operation(Opcode::PsaAeadEncrypt, &body),
        "aead.aead_with_default_length_tag",
    );
}

#[test]
fn numbers_too_wide_for_the_model_are_invalid() {
    let body = pb::list_opcodes::Operation { provider_id: 256 }.encode_to_vec();
    assert_invalid(
        decode_operation(Opcode::ListOpcodes, &body),
        "list_opcodes.provider_id",
    );

    let body = pb::ping::Result {
        wire_protocol_version_maj: 1,
        wire_protocol_version_min: 300,
    }
    .encode_to_vec();
    match decode_result(Opcode::Ping, &body) {
        Err(CodecError::InvalidValue { field }) => {
            assert_eq!(field, "ping.result.wire_protocol_version_min");
        }
        other => panic!("unexpected {other:?}"),
    }

    let mut info = sample_provider_msg();
    info.id = 1 << 20;
    let body = pb::list_providers::Result {
        providers: vec![info],
    }
    .encode_to_vec();
    assert!(matches!(
        decode_result(Opcode::ListProviders, &body),
        Err(CodecError::InvalidValue {
            field: "ProviderInfo.id"
        })
    ));
}

fn sample_provider_msg() -> pb::list_providers::ProviderInfo {
    pb::list_providers::ProviderInfo {
        uuid: "u".into(),
        description: "d".into(),
        vendor: "v".into(),
        version_maj: 1,
        version_min: 2,
        version_rev: 3,
        id: 1,
    }
}

#[test]
fn missing_required_messages_and_oneofs_are_reported() {
    // Empty bodies: every message field of the operation is absent.
    assert_missing(
        decode_operation(Opcode::PsaSignHash, &[]),
        "psa_sign_hash.alg",
    );
    assert_missing(
        decode_operation(Opcode::PsaGenerateKey, &[]),
        "psa_generate_key.attributes",
    );
    assert_missing(
        decode_operation(Opcode::PsaImportKey, &[]),
        "psa_import_key.attributes",
    );
    assert_missing(
        decode_operation(Opcode::CanDoCrypto, &hex("0801")),
        "can_do_crypto.attributes",
    );
    assert_missing(
        decode_operation(Opcode::PsaMacVerify, &[]),
        "psa_mac_verify.alg",
    );
    assert_missing(
        decode_operation(Opcode::PsaAeadDecrypt, &[]),
        "psa_aead_decrypt.alg",
    );
    assert_missing(
        decode_operation(Opcode::PsaAsymmetricDecrypt, &[]),
        "psa_asymmetric_decrypt.alg",
    );

    // Missing parts of the attributes.
    let mut attributes = attributes_msg();
    attributes.key_type = None;
    assert_missing(
        decode_operation(Opcode::PsaGenerateKey, &generate_key_body(Some(attributes))),
        "key_attributes.key_type",
    );
    let mut attributes = attributes_msg();
    attributes.key_policy = None;
    assert_missing(
        decode_operation(Opcode::PsaGenerateKey, &generate_key_body(Some(attributes))),
        "key_attributes.key_policy",
    );
    let mut attributes = attributes_msg();
    if let Some(policy) = attributes.key_policy.as_mut() {
        policy.key_usage_flags = None;
    }
    assert_missing(
        decode_operation(Opcode::PsaGenerateKey, &generate_key_body(Some(attributes))),
        "key_policy.key_usage_flags",
    );
    let mut attributes = attributes_msg();
    if let Some(policy) = attributes.key_policy.as_mut() {
        policy.key_algorithm = Some(pb::psa_algorithm::Algorithm { variant: None });
    }
    assert_missing(
        decode_operation(Opcode::PsaGenerateKey, &generate_key_body(Some(attributes))),
        "algorithm.variant",
    );
    let mut attributes = attributes_msg();
    attributes.key_type = Some(pb::psa_key_attributes::KeyType { variant: None });
    assert_missing(
        decode_operation(Opcode::PsaGenerateKey, &generate_key_body(Some(attributes))),
        "key_type.variant",
    );

    // Inside algorithms: ECDSA without its hash, a SignHash without a choice, a truncated MAC
    // without the MAC it truncates.
    assert_missing(
        decode_operation(Opcode::PsaSignHash, &hex("0a016b12022200")),
        "asymmetric_signature.hash_alg",
    );
    assert_missing(
        decode_operation(
            Opcode::PsaSignHash,
            &hex("0a016b12042202 0a00".replace(' ', "").as_str()),
        ),
        "sign_hash.variant",
    );
    assert_missing(
        decode_operation(Opcode::PsaSignHash, &hex("0a016b1200")),
        "asymmetric_signature.variant",
    );
    let truncated = pb::psa_algorithm::algorithm::Mac {
        variant: Some(pb::psa_algorithm::algorithm::mac::Variant::Truncated(
            pb::psa_algorithm::algorithm::mac::Truncated {
                mac_alg: None,
                mac_length: 8,
            },
        )),
    };
    let body = pb::psa_mac_compute::Operation {
        key_name: "k".into(),
        alg: Some(truncated),
        input: vec![],
    }
    .encode_to_vec();
    assert_missing(
        decode_operation(Opcode::PsaMacCompute, &body),
        "mac.truncated.mac_alg",
    );
    let body = pb::list_keys::Result {
        keys: vec![pb::list_keys::KeyInfo {
            provider_id: 1,
            name: "k".into(),
            attributes: None,
        }],
    }
    .encode_to_vec();
    assert!(matches!(
        decode_result(Opcode::ListKeys, &body),
        Err(CodecError::MissingField {
            field: "KeyInfo.attributes"
        })
    ));
}

#[test]
fn unknown_fields_are_ignored_as_protobuf_requires() {
    // Field 15 (varint) appended to a valid destroy request.
    let mut body = hex(EXPORT_PUBLIC_KEY_REQUEST);
    body.extend_from_slice(&[0x78, 0x01]);
    match decode_operation(Opcode::PsaDestroyKey, &body) {
        Ok(Operation::DestroyKey { key_name }) => assert_eq!(key_name, "vec-ecc"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn opcodes_without_a_contract_have_no_body() {
    let without: Vec<Opcode> = ALL_OPCODES
        .iter()
        .copied()
        .filter(|op| !has_body(*op))
        .collect();
    assert_eq!(without, [Opcode::AttestKey, Opcode::PrepareKeyAttestation,]);
    for opcode in without {
        assert!(
            matches!(decode_operation(opcode, &[]), Err(CodecError::NoBody(op)) if op == opcode)
        );
        assert!(matches!(decode_result(opcode, &[]), Err(CodecError::NoBody(op)) if op == opcode));
    }
}

#[test]
fn errors_map_to_parsec_statuses() {
    let decode = decode_operation(Opcode::PsaDestroyKey, &[0xff]).expect_err("garbage");
    assert_eq!(decode.status(), ResponseStatus::DeserializingBodyFailed);
    let missing = decode_operation(Opcode::PsaSignHash, &[]).expect_err("missing");
    assert_eq!(missing.status(), ResponseStatus::DeserializingBodyFailed);
    let invalid = decode_operation(Opcode::PsaHashCompute, &hex("0863")).expect_err("invalid");
    assert_eq!(invalid.status(), ResponseStatus::InvalidEncoding);
    assert_eq!(
        CodecError::NoBody(Opcode::AttestKey).status(),
        ResponseStatus::OpcodeDoesNotExist
    );
}

// ---------------------------------------------------------------------------------------------
// Seeded random input: decoding never panics, and whatever decodes re-encodes stably.

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng::new(0x5EC0_A710);
    let mut decoded = 0;
    for _ in 0..4000 {
        let body = rng.bytes(64);
        for &opcode in ALL_OPCODES {
            decoded += assert_decode_is_stable(opcode, &body);
        }
    }
    // Random bytes rarely form valid protobuf, but some must, or this tests nothing.
    println!("{decoded} random bodies decoded");
    assert!(decoded > 1000, "only {decoded} random bodies decoded");
}

#[test]
fn mutated_valid_bodies_never_panic() {
    let mut seeds: Vec<(Opcode, Vec<u8>)> = sample_operations()
        .iter()
        .map(|op| (op.opcode(), encode_operation(op)))
        .chain(
            sample_results()
                .iter()
                .map(|(opcode, r)| (*opcode, encode_result(r))),
        )
        .collect();
    for (opcode, body) in [
        (Opcode::PsaGenerateKey, CREATE_ECC_KEY_REQUEST),
        (Opcode::PsaGenerateKey, CREATE_RSA_KEY_REQUEST),
        (Opcode::ListKeys, LIST_KEYS_RESULT),
        (Opcode::ListProviders, LIST_PROVIDERS_RESULT),
        (Opcode::PsaSignHash, SIGN_HASH_REQUEST),
    ] {
        seeds.push((opcode, hex(body)));
    }

    let mut rng = Rng::new(0x0BAD_C0DE);
    let mut decoded = 0;
    let rounds = 30_000;
    for _ in 0..rounds {
        let (seed_opcode, seed) = &seeds[rng.below(seeds.len())];
        let mut body = seed.clone();
        for _ in 0..=rng.below(3) {
            let at = rng.below(body.len() + 1);
            match rng.below(5) {
                0 if at < body.len() => body[at] ^= 1 << rng.below(8),
                1 if at < body.len() => body[at] = rng.next() as u8,
                2 => body.truncate(at),
                3 => body.insert(at, rng.next() as u8),
                _ => {
                    let extra = rng.bytes(8);
                    body.splice(at..at, extra);
                }
            }
        }
        // Mostly under the seed's own opcode, where the mutation reaches deep fields.
        let opcode = if rng.below(4) == 0 {
            rng.pick(ALL_OPCODES)
        } else {
            *seed_opcode
        };
        decoded += assert_decode_is_stable(opcode, &body);
    }
    println!("{decoded} mutated bodies decoded");
    assert!(
        decoded > rounds / 10,
        "only {decoded} mutated bodies decoded"
    );
}
