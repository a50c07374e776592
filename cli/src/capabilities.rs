//! `keyward capabilities`: what a live service's providers support, asked the service itself
//! (ListOpcodes, then CanDoCrypto for each key type, size and algorithm of a catalogue of the
//! PSA algorithm set, and HashCompute of an empty input for each hash), printed as a table or
//! JSON. The catalogue is a superset of what any provider offers, so the answers, not this
//! list, decide what is shown as supported.

use keyward_client::protocol::ops::CheckType;
use keyward_client::protocol::psa::{
    Aead, AeadWithDefaultLengthTag, Algorithm, AsymmetricEncryption, AsymmetricSignature, Cipher,
    EccFamily, FullLengthMac, Hash, KeyAgreement, KeyAttributes, KeyPolicy, KeyType, Mac,
    RawKeyAgreement, SignHash, UsageFlags,
};
use keyward_client::protocol::{Operation, ProviderId, ResponseStatus};
use keyward_client::{BasicClient, ClientError};
use serde_json::json;

/// One probe: a key type and size with one permitted algorithm.
struct Candidate {
    key_type: KeyType,
    bits: u32,
    alg: Algorithm,
}

fn signatures(rsa: bool) -> Vec<Algorithm> {
    let s = |h| SignHash::Specific(h);
    let mut out = Vec::new();
    if rsa {
        for h in [Hash::Sha256, Hash::Sha384, Hash::Sha512, Hash::Ripemd160] {
            out.push(AsymmetricSignature::RsaPkcs1v15Sign { hash_alg: s(h) });
            out.push(AsymmetricSignature::RsaPss { hash_alg: s(h) });
        }
        out.push(AsymmetricSignature::RsaPkcs1v15SignRaw);
    } else {
        for h in [Hash::Sha256, Hash::Sha384, Hash::Sha512, Hash::Ripemd160] {
            out.push(AsymmetricSignature::Ecdsa { hash_alg: s(h) });
        }
        for h in [Hash::Sha256, Hash::Sha384, Hash::Sha512] {
            out.push(AsymmetricSignature::DeterministicEcdsa { hash_alg: s(h) });
        }
        out.push(AsymmetricSignature::EcdsaAny);
    }
    out.into_iter()
        .map(Algorithm::AsymmetricSignature)
        .collect()
}

fn catalogue() -> Vec<Candidate> {
    let mut out = Vec::new();
    let ecdh = Algorithm::KeyAgreement(KeyAgreement::Raw(RawKeyAgreement::Ecdh));
    for (family, sizes) in [
        (EccFamily::SecpR1, &[192u32, 224, 256, 384, 521][..]),
        (EccFamily::SecpK1, &[256][..]),
        (EccFamily::BrainpoolPR1, &[256, 384, 512][..]),
        (EccFamily::Montgomery, &[255, 448][..]),
    ] {
        for bits in sizes {
            let key_type = KeyType::EccKeyPair {
                curve_family: family,
            };
            let mut algs = if family == EccFamily::Montgomery {
                Vec::new()
            } else {
                signatures(false)
            };
            algs.push(ecdh);
            for alg in algs {
                out.push(Candidate {
                    key_type,
                    bits: *bits,
                    alg,
                });
            }
        }
    }
    for bits in [1024, 1536, 2048, 3072, 4096] {
        let mut algs = signatures(true);
        algs.push(Algorithm::AsymmetricEncryption(
            AsymmetricEncryption::RsaPkcs1v15Crypt,
        ));
        for h in [Hash::Sha1, Hash::Sha256, Hash::Sha384, Hash::Sha512] {
            algs.push(Algorithm::AsymmetricEncryption(
                AsymmetricEncryption::RsaOaep { hash_alg: h },
            ));
        }
        for alg in algs {
            out.push(Candidate {
                key_type: KeyType::RsaKeyPair,
                bits,
                alg,
            });
        }
    }
    for bits in [128, 192, 256] {
        let mut algs = vec![
            Algorithm::Aead(Aead::AeadWithDefaultLengthTag(
                AeadWithDefaultLengthTag::Gcm,
            )),
            Algorithm::Aead(Aead::AeadWithDefaultLengthTag(
                AeadWithDefaultLengthTag::Ccm,
            )),
        ];
        for tag_length in 4..16 {
            for aead_alg in [AeadWithDefaultLengthTag::Gcm, AeadWithDefaultLengthTag::Ccm] {
                algs.push(Algorithm::Aead(Aead::AeadWithShortenedTag {
                    aead_alg,
                    tag_length,
                }));
            }
        }
        for cipher in [
            Cipher::Ctr,
            Cipher::Cfb,
            Cipher::Ofb,
            Cipher::CbcNoPadding,
            Cipher::CbcPkcs7,
            Cipher::EcbNoPadding,
            Cipher::Xts,
        ] {
            algs.push(Algorithm::Cipher(cipher));
        }
        algs.push(Algorithm::Mac(Mac::FullLength(FullLengthMac::Cmac)));
        for alg in algs {
            out.push(Candidate {
                key_type: KeyType::Aes,
                bits,
                alg,
            });
        }
    }
    out.push(Candidate {
        key_type: KeyType::Chacha20,
        bits: 256,
        alg: Algorithm::Aead(Aead::AeadWithDefaultLengthTag(
            AeadWithDefaultLengthTag::Chacha20Poly1305,
        )),
    });
    for h in [Hash::Sha256, Hash::Sha384, Hash::Sha512] {
        out.push(Candidate {
            key_type: KeyType::Hmac,
            bits: 256,
            alg: Algorithm::Mac(Mac::FullLength(FullLengthMac::Hmac { hash_alg: h })),
        });
    }
    out
}

const HASHES: &[Hash] = &[
    Hash::Md5,
    Hash::Ripemd160,
    Hash::Sha1,
    Hash::Sha224,
    Hash::Sha256,
    Hash::Sha384,
    Hash::Sha512,
    Hash::Sha512_256,
    Hash::Sha3_256,
    Hash::Sha3_384,
    Hash::Sha3_512,
];

/// Usage flags that fit the algorithm (CanDoCrypto answers no without any).
fn flags_for(alg: Algorithm) -> UsageFlags {
    let mut flags = UsageFlags::default();
    match alg {
        Algorithm::AsymmetricSignature(_) | Algorithm::Mac(_) => {
            flags.sign_hash = true;
            flags.verify_hash = true;
            flags.sign_message = true;
            flags.verify_message = true;
        }
        Algorithm::KeyAgreement(_) | Algorithm::KeyDerivation(_) => flags.derive = true,
        _ => {
            flags.encrypt = true;
            flags.decrypt = true;
        }
    }
    flags
}

/// CanDoCrypto on `provider`: `false` for `PsaErrorNotSupported`, other failures are errors.
fn can_do(
    client: &BasicClient,
    provider: ProviderId,
    check_type: CheckType,
    attributes: KeyAttributes,
) -> anyhow::Result<bool> {
    let op = Operation::CanDoCrypto {
        check_type,
        attributes,
    };
    match client.call(provider, op) {
        Ok(_) => Ok(true),
        Err(ClientError::Service {
            status: ResponseStatus::PsaErrorNotSupported,
            ..
        }) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Prints what each crypto provider supports (`provider`: only that one).
pub fn run(
    client: &BasicClient,
    provider: Option<ProviderId>,
    json_out: bool,
) -> anyhow::Result<()> {
    let providers: Vec<ProviderId> = match provider {
        Some(p) => vec![p],
        None => client.providers()?.to_vec(),
    };
    let mut report = Vec::new();
    for provider in providers {
        let opcodes = client.list_opcodes(provider)?;
        let mut rows = Vec::new();
        for c in catalogue() {
            let attributes = KeyAttributes {
                key_type: c.key_type,
                bits: c.bits,
                policy: KeyPolicy {
                    usage_flags: flags_for(c.alg),
                    permitted_algorithms: c.alg,
                },
            };
            let generate = can_do(client, provider, CheckType::Generate, attributes)?;
            let import = can_do(client, provider, CheckType::Import, attributes)?;
            let usable = can_do(client, provider, CheckType::Use, attributes)?;
            rows.push((c, generate, import, usable));
        }
        let hashes: Vec<(Hash, bool)> = HASHES
            .iter()
            .map(|h| {
                let op = Operation::HashCompute {
                    alg: *h,
                    input: Vec::new(),
                };
                (*h, client.call(provider, op).is_ok())
            })
            .collect();
        report.push((provider, opcodes, rows, hashes));
    }
    if json_out {
        let list: Vec<_> = report
            .iter()
            .map(|(provider, opcodes, rows, hashes)| {
                json!({
                    "provider_id": *provider as u8,
                    "opcodes": opcodes.iter().map(|op| format!("{op:?}")).collect::<Vec<_>>(),
                    "keys": rows.iter().map(|(c, generate, import, usable)| json!({
                        "key_type": format!("{:?}", c.key_type),
                        "bits": c.bits,
                        "algorithm": format!("{:?}", c.alg),
                        "generate": generate,
                        "import": import,
                        "use": usable,
                    })).collect::<Vec<_>>(),
                    "hashes": hashes.iter().map(|(h, ok)| json!({
                        "hash": format!("{h:?}"), "supported": ok,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    for (provider, opcodes, rows, hashes) in report {
        println!("Provider {} ({provider:?})", provider as u8);
        let names: Vec<String> = opcodes.iter().map(|op| format!("{op:?}")).collect();
        println!("  Opcodes: {}", names.join(", "));
        println!(
            "  {:<40} {:>5}  {:<58} gen imp use",
            "key type", "bits", "algorithm"
        );
        let mut refused = 0;
        for (c, generate, import, usable) in &rows {
            if !(*generate || *import || *usable) {
                refused += 1;
                continue;
            }
            let yes = |b: bool| if b { "yes" } else { "no" };
            println!(
                "  {:<40} {:>5}  {:<58} {:<3} {:<3} {}",
                format!("{:?}", c.key_type),
                c.bits,
                format!("{:?}", c.alg),
                yes(*generate),
                yes(*import),
                yes(*usable)
            );
        }
        println!(
            "  ({refused} more combinations of the PSA set asked and refused; --json lists all)"
        );
        let ok: Vec<String> = hashes
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(h, _)| format!("{h:?}"))
            .collect();
        println!("  Hashes: {}", ok.join(", "));
    }
    Ok(())
}
