//! `keyward`: the command-line client of the Keyward service (parsec-tool's commands, plus
//! AES keys, SubjectPublicKeyInfo PEM and JSON output).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod capabilities;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use clap::{Args, Parser, Subcommand, ValueEnum};
use keyward_client::protocol::ops::KeyInfo;
use keyward_client::protocol::psa::{Algorithm, UsageFlags};
use keyward_client::protocol::ProviderId;
use keyward_client::{
    keys, Authentication, BasicClient, ClientBuilder, ClientError, ConnectionMode, EccCurve,
    SubjectAltName, SubjectFields,
};
use serde_json::json;

/// Talk to the Keyward key service (or a Parsec service) from the command line.
///
/// The service socket is taken from --endpoint, else KEYWARD_ENDPOINT, else
/// PARSEC_SERVICE_ENDPOINT, else /run/keyward/keyward.sock or the per-user socket.
#[derive(Debug, Parser)]
#[command(name = "keyward", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalOptions,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalOptions {
    /// Service socket: unix:/path or an absolute path.
    #[arg(long, global = true, value_name = "ENDPOINT")]
    endpoint: Option<String>,
    /// Provider for crypto operations, by ID (0-5) or name (software, pkcs11, tpm,
    /// trusted-service, cryptoauthlib). Default: the first provider supporting the operation.
    #[arg(short = 'p', long, global = true, value_parser = parse_provider)]
    provider: Option<ProviderId>,
    /// Authentication: peer (Unix peer credentials), direct:<app-name>, or none.
    /// Default: the best authenticator the service enables.
    #[arg(long, global = true, value_parser = parse_auth, value_name = "AUTH")]
    auth: Option<AuthChoice>,
    /// Socket time-out in seconds (0: wait forever).
    #[arg(
        short = 't',
        long,
        global = true,
        default_value_t = 60,
        value_name = "SECONDS"
    )]
    timeout: u64,
    /// Print structured results as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Behave exactly like a stock Parsec client (no Keyward extensions).
    #[arg(long, global = true)]
    stock: bool,
    /// Open a new connection for each request, as Parsec clients do.
    #[arg(long, global = true)]
    per_request: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AuthChoice {
    Peer,
    Direct(String),
    None,
}

fn parse_auth(text: &str) -> Result<AuthChoice, String> {
    match text {
        "peer" => Ok(AuthChoice::Peer),
        "none" => Ok(AuthChoice::None),
        _ => match text.strip_prefix("direct:") {
            Some(name) if !name.is_empty() => Ok(AuthChoice::Direct(name.to_owned())),
            _ => Err("expected peer, none or direct:<app-name>".to_owned()),
        },
    }
}

fn parse_provider(text: &str) -> Result<ProviderId, String> {
    let by_name = match text.to_ascii_lowercase().as_str() {
        "core" => Some(ProviderId::Core),
        "software" | "mbed-crypto" | "mbedcrypto" => Some(ProviderId::Software),
        "pkcs11" => Some(ProviderId::Pkcs11),
        "tpm" => Some(ProviderId::Tpm),
        "trusted-service" => Some(ProviderId::TrustedService),
        "cryptoauthlib" => Some(ProviderId::CryptoAuthLib),
        _ => None,
    };
    by_name
        .or_else(|| text.parse::<u8>().ok().and_then(ProviderId::from_u8))
        .ok_or_else(|| format!("unknown provider {text:?}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Curve {
    P256,
    P384,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Purpose {
    /// ECDSA signatures.
    Sign,
    /// ECDH key agreement.
    Derive,
}

/// Data given on the command line or read from a file.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct Input {
    /// The data, as a UTF-8 string.
    input: Option<String>,
    /// Read the data from this file ("-" for standard input).
    #[arg(short = 'f', long)]
    file: Option<PathBuf>,
}

impl Input {
    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        match (&self.input, &self.file) {
            (Some(text), _) => Ok(text.as_bytes().to_vec()),
            (None, Some(path)) if path.as_os_str() == "-" => {
                let mut data = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut data)
                    .context("reading standard input")?;
                Ok(data)
            }
            (None, Some(path)) => {
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))
            }
            (None, None) => bail!("no input given"),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the service answers, and print its wire protocol version.
    Ping,
    /// List the service's providers.
    ListProviders,
    /// List the operations a provider supports (--provider, default: every provider).
    ListOpcodes,
    /// What each provider supports (key types, sizes, algorithms, hashes), asked of the
    /// service with ListOpcodes and CanDoCrypto (--provider: only that one; --json too).
    Capabilities,
    /// List the service's enabled authenticators.
    ListAuthenticators,
    /// List your keys.
    ListKeys,
    /// List the applications that own keys (admin only).
    ListClients,
    /// Delete an application and all its keys (admin only).
    DeleteClient {
        /// The application's name.
        name: String,
    },
    /// Print random bytes from the service, base64-encoded.
    GenerateRandom {
        /// How many bytes.
        #[arg(long, default_value_t = 32)]
        nbytes: usize,
    },
    /// Create an elliptic-curve key pair (ECDSA signing or ECDH).
    CreateEccKey {
        /// Name of the key.
        #[arg(short = 'k', long)]
        key_name: String,
        #[arg(long, value_enum, default_value_t = Curve::P256)]
        curve: Curve,
        #[arg(long, value_enum, default_value_t = Purpose::Sign)]
        purpose: Purpose,
    },
    /// Create an RSA key pair: for encryption (PKCS#1 v1.5, or OAEP-SHA256 with --oaep), or
    /// for PKCS#1 v1.5 SHA-256 signatures with --for-signing.
    CreateRsaKey {
        /// Name of the key.
        #[arg(short = 'k', long)]
        key_name: String,
        #[arg(short = 'b', long, default_value_t = 2048)]
        bits: u32,
        /// A signing key instead of an encryption key.
        #[arg(short = 's', long, conflicts_with = "oaep")]
        for_signing: bool,
        /// Encrypt with OAEP-SHA256 instead of PKCS#1 v1.5.
        #[arg(short = 'o', long)]
        oaep: bool,
    },
    /// Create an AES-GCM key.
    CreateAesKey {
        /// Name of the key.
        #[arg(short = 'k', long)]
        key_name: String,
        /// Key size: 128, 192 or 256.
        #[arg(short = 'b', long, default_value_t = 256, value_parser = parse_aes_bits)]
        bits: u32,
    },
    /// Print a key's public key as PEM (SubjectPublicKeyInfo).
    ExportPublicKey {
        /// Name of the key.
        #[arg(short = 'k', long)]
        key_name: String,
    },
    /// Sign data with the key's algorithm; prints the base64 signature (ECDSA signatures as
    /// DER Ecdsa-Sig-Value, as parsec-tool does).
    Sign {
        /// Name of the key.
        #[arg(short = 'k', long)]
        key_name: String,
        #[command(flatten)]
        input: Input,
    },
    /// Verify a base64 signature (ECDSA: DER or raw r||s) of data; exit status 1 if invalid.
    Verify {
        /// Name of the key.
        #[arg(short = 'k', long)]
        key_name: String,
        /// The signature, base64.
        #[arg(short = 's', long)]
        signature: String,
        #[command(flatten)]
        input: Input,
    },
    /// Encrypt data with the key's algorithm (AES-GCM: nonce || ciphertext); prints base64.
    Encrypt {
        /// Name of the key.
        #[arg(short = 'k', long)]
        key_name: String,
        #[command(flatten)]
        input: Input,
    },
    /// Decrypt base64 ciphertext made by `encrypt`; prints the plaintext.
    Decrypt {
        /// Name of the key.
        #[arg(short = 'k', long)]
        key_name: String,
        /// The ciphertext, base64.
        ciphertext: String,
    },
    /// Destroy a key.
    DeleteKey {
        /// Name of the key.
        #[arg(short = 'k', long)]
        key_name: String,
    },
    /// Create a PKCS#10 certificate signing request signed by the key; prints PEM.
    CreateCsr {
        /// Name of the key.
        #[arg(short = 'k', long)]
        key_name: String,
        /// Common name.
        #[arg(long)]
        cn: String,
        /// Organization.
        #[arg(long)]
        o: Option<String>,
        /// Organizational unit.
        #[arg(long)]
        ou: Option<String>,
        /// Locality.
        #[arg(long)]
        l: Option<String>,
        /// State or province.
        #[arg(long)]
        st: Option<String>,
        /// Two-letter country code.
        #[arg(long)]
        c: Option<String>,
        /// Subject serial number.
        #[arg(long)]
        serial_number: Option<String>,
        /// Subject alternative name: DNS:name, IP:addr, EMAIL:addr or URI:uri (repeatable;
        /// a bare value is an IP address if it parses as one, else a DNS name).
        #[arg(long, value_parser = parse_san)]
        san: Vec<SubjectAltName>,
    },
}

fn parse_aes_bits(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(bits @ (128 | 192 | 256)) => Ok(bits),
        _ => Err("AES keys have 128, 192 or 256 bits".to_owned()),
    }
}

fn parse_san(text: &str) -> Result<SubjectAltName, String> {
    text.parse().map_err(|err: ClientError| err.to_string())
}

impl Command {
    /// Informational commands need neither providers nor authentication.
    fn is_informational(&self) -> bool {
        matches!(
            self,
            Command::Ping
                | Command::ListProviders
                | Command::ListOpcodes
                | Command::ListAuthenticators
        )
    }
}

fn build_client(global: &GlobalOptions, naked: bool) -> anyhow::Result<BasicClient> {
    let mut builder: ClientBuilder = BasicClient::builder()
        .app_name("keyward")
        .stock_mode(global.stock)
        .timeout(Some(Duration::from_secs(global.timeout)))
        .connection_mode(if global.per_request {
            ConnectionMode::PerRequest
        } else {
            ConnectionMode::Persistent
        });
    if let Some(endpoint) = &global.endpoint {
        builder = builder.endpoint(keyward_client::endpoint::parse(endpoint)?);
    }
    if let Some(provider) = global.provider {
        builder = builder.provider(provider);
    }
    if let Some(auth) = &global.auth {
        builder = builder.auth(match auth {
            AuthChoice::Peer => Authentication::UnixPeerCredentials,
            AuthChoice::Direct(name) => Authentication::Direct(name.clone()),
            AuthChoice::None => Authentication::None,
        });
    }
    if naked {
        builder = builder.naked();
    }
    Ok(builder.build()?)
}

fn usage_names(flags: UsageFlags) -> Vec<&'static str> {
    let all = [
        (flags.export, "export"),
        (flags.copy, "copy"),
        (flags.cache, "cache"),
        (flags.encrypt, "encrypt"),
        (flags.decrypt, "decrypt"),
        (flags.sign_message, "sign_message"),
        (flags.verify_message, "verify_message"),
        (flags.sign_hash, "sign_hash"),
        (flags.verify_hash, "verify_hash"),
        (flags.derive, "derive"),
    ];
    all.into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| name)
        .collect()
}

fn key_json(key: &KeyInfo) -> serde_json::Value {
    let attrs = &key.attributes;
    json!({
        "name": key.name,
        "provider_id": key.provider_id,
        "key_type": format!("{:?}", attrs.key_type),
        "bits": attrs.bits,
        "usage": usage_names(attrs.policy.usage_flags),
        "algorithm": format!("{:?}", attrs.policy.permitted_algorithms),
    })
}

fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Base64 signature as parsec-tool prints it: ECDSA in DER, others as the service gave it.
fn signature_for_output(key: &KeyInfo, raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    match (
        keyward_client::ecdsa_field_len(&key.attributes),
        key.attributes.policy.permitted_algorithms,
    ) {
        (Some(_), Algorithm::AsymmetricSignature(_)) => Ok(keys::ecdsa_raw_to_der(raw)?),
        _ => Ok(raw.to_vec()),
    }
}

/// The PSA-format signature from what the user gave: ECDSA may be DER (tried first: a DER
/// signature can happen to have the raw length) or raw `r || s`.
fn signature_from_input(key: &KeyInfo, given: &[u8]) -> anyhow::Result<Vec<u8>> {
    match keyward_client::ecdsa_field_len(&key.attributes) {
        Some(field) => match keys::ecdsa_der_to_raw(given, field) {
            Ok(raw) => Ok(raw),
            Err(_) if given.len() == 2 * field => Ok(given.to_vec()),
            Err(err) => Err(err).context("the signature is neither DER nor raw r || s"),
        },
        None => Ok(given.to_vec()),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let client = build_client(&cli.global, cli.command.is_informational())?;
    let json_out = cli.global.json;
    match cli.command {
        Command::Ping => {
            let (maj, min) = client.ping()?;
            if json_out {
                print_json(&json!({ "wire_protocol_version": format!("{maj}.{min}") }))?;
            } else {
                println!("Service wire protocol version: {maj}.{min}");
            }
        }
        Command::ListProviders => {
            let providers = client.list_providers()?;
            if json_out {
                let list: Vec<_> = providers
                    .iter()
                    .map(|p| {
                        json!({
                            "id": p.id, "uuid": p.uuid, "description": p.description,
                            "vendor": p.vendor,
                            "version": format!("{}.{}.{}", p.version_maj, p.version_min, p.version_rev),
                        })
                    })
                    .collect();
                print_json(&json!(list))?;
            } else {
                for p in providers {
                    println!("ID: {} ({})", p.id, p.uuid);
                    println!("  Description: {}", p.description);
                    println!("  Vendor: {}", p.vendor);
                    println!(
                        "  Version: {}.{}.{}",
                        p.version_maj, p.version_min, p.version_rev
                    );
                }
            }
        }
        Command::Capabilities => {
            capabilities::run(&client, cli.global.provider, json_out)?;
        }
        Command::ListOpcodes => {
            let providers: Vec<ProviderId> = match cli.global.provider {
                Some(provider) => vec![provider],
                None => {
                    let mut all = vec![ProviderId::Core];
                    all.extend(client.providers()?.iter().copied());
                    all
                }
            };
            let mut listing = Vec::new();
            for provider in providers {
                listing.push((provider, client.list_opcodes(provider)?));
            }
            if json_out {
                let list: Vec<_> = listing
                    .iter()
                    .map(|(provider, ops)| {
                        json!({
                            "provider_id": *provider as u8,
                            "opcodes": ops.iter().map(|op| json!({"name": format!("{op:?}"), "value": *op as u32})).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                print_json(&json!(list))?;
            } else {
                for (provider, ops) in listing {
                    println!("Provider {} ({provider:?}):", provider as u8);
                    for op in ops {
                        println!("  {op:?} ({:#06x})", op as u32);
                    }
                }
            }
        }
        Command::ListAuthenticators => {
            let list = client.list_authenticators()?;
            if json_out {
                let list: Vec<_> = list
                    .iter()
                    .map(|a| {
                        json!({
                            "id": a.id, "description": a.description,
                            "version": format!("{}.{}.{}", a.version_maj, a.version_min, a.version_rev),
                        })
                    })
                    .collect();
                print_json(&json!(list))?;
            } else {
                for a in list {
                    println!("ID: {}", a.id);
                    println!("  Description: {}", a.description);
                    println!(
                        "  Version: {}.{}.{}",
                        a.version_maj, a.version_min, a.version_rev
                    );
                }
            }
        }
        Command::ListKeys => {
            let keys = client.list_keys()?;
            if json_out {
                print_json(&json!(keys.iter().map(key_json).collect::<Vec<_>>()))?;
            } else if keys.is_empty() {
                println!("No keys.");
            } else {
                for key in keys {
                    let a = &key.attributes;
                    println!("{} (provider {})", key.name, key.provider_id);
                    println!("  Type: {:?}, {} bits", a.key_type, a.bits);
                    println!("  Algorithm: {:?}", a.policy.permitted_algorithms);
                    println!("  Usage: {}", usage_names(a.policy.usage_flags).join(", "));
                }
            }
        }
        Command::ListClients => {
            let clients = client.list_clients()?;
            if json_out {
                print_json(&json!(clients))?;
            } else {
                for name in clients {
                    println!("{name}");
                }
            }
        }
        Command::DeleteClient { name } => {
            client.delete_client(&name)?;
            eprintln!("Deleted client {name:?} and its keys.");
        }
        Command::GenerateRandom { nbytes } => {
            let bytes = client.generate_random(nbytes)?;
            println!("{}", BASE64.encode(&bytes[..]));
        }
        Command::CreateEccKey {
            key_name,
            curve,
            purpose,
        } => {
            let curve = match curve {
                Curve::P256 => EccCurve::P256,
                Curve::P384 => EccCurve::P384,
            };
            match purpose {
                Purpose::Sign => client.create_ecc_signing_key(&key_name, curve)?,
                Purpose::Derive => client.create_ecdh_key(&key_name, curve)?,
            }
            eprintln!("Created ECC key {key_name:?}.");
        }
        Command::CreateRsaKey {
            key_name,
            bits,
            for_signing,
            oaep,
        } => {
            if for_signing {
                client.create_rsa_signing_key(&key_name, bits)?;
            } else {
                client.create_rsa_encryption_key(&key_name, bits, oaep)?;
            }
            eprintln!("Created RSA key {key_name:?}.");
        }
        Command::CreateAesKey { key_name, bits } => {
            client.create_aes_key(&key_name, bits)?;
            eprintln!("Created AES key {key_name:?}.");
        }
        Command::ExportPublicKey { key_name } => {
            print!("{}", client.public_key_pem(&key_name)?);
        }
        Command::Sign { key_name, input } => {
            let data = input.bytes()?;
            let signature = client.sign(&key_name, &data)?;
            let key = client.key_info(&key_name)?;
            println!("{}", BASE64.encode(signature_for_output(&key, &signature)?));
        }
        Command::Verify {
            key_name,
            signature,
            input,
        } => {
            let data = input.bytes()?;
            let given = BASE64
                .decode(signature.trim())
                .context("the signature is not valid base64")?;
            let key = client.key_info(&key_name)?;
            let signature = signature_from_input(&key, &given)?;
            if client.verify(&key_name, &data, &signature)? {
                println!("Signature verified.");
            } else {
                eprintln!("Signature verification failed.");
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Encrypt { key_name, input } => {
            let data = zeroize::Zeroizing::new(input.bytes()?);
            println!("{}", BASE64.encode(client.encrypt(&key_name, &data)?));
        }
        Command::Decrypt {
            key_name,
            ciphertext,
        } => {
            let ciphertext = BASE64
                .decode(ciphertext.trim())
                .context("the ciphertext is not valid base64")?;
            let plaintext = client.decrypt(&key_name, &ciphertext)?;
            let mut out = std::io::stdout().lock();
            match std::str::from_utf8(&plaintext) {
                Ok(text) => writeln!(out, "{text}")?,
                Err(_) => out.write_all(&plaintext)?,
            }
        }
        Command::DeleteKey { key_name } => {
            client.destroy_key(&key_name)?;
            eprintln!("Deleted key {key_name:?}.");
        }
        Command::CreateCsr {
            key_name,
            cn,
            o,
            ou,
            l,
            st,
            c,
            serial_number,
            san,
        } => {
            let subject = SubjectFields {
                common_name: cn,
                organization: o,
                organizational_unit: ou,
                locality: l,
                state: st,
                country: c,
                serial_number,
            };
            print!("{}", client.create_csr(&key_name, &subject, &san)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("keyward: error: {err:#}");
            if let Some(status) = err
                .downcast_ref::<ClientError>()
                .and_then(ClientError::status)
            {
                // Named too: a missing key reads "key … does not exist" above.
                eprintln!("keyward: service status: {status}");
            }
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("keyward").chain(args.iter().copied()))
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_help() {
        let mut cmd = Cli::command();
        for sub in cmd.get_subcommands_mut() {
            assert!(sub.get_about().is_some(), "{} has no help", sub.get_name());
        }
        let help = cmd.render_long_help().to_string();
        for name in [
            "create-csr",
            "list-opcodes",
            "export-public-key",
            "--json",
            "--auth",
        ] {
            assert!(help.contains(name), "help lacks {name}");
        }
    }

    #[test]
    fn global_options_parse_anywhere() {
        let cli = parse(&[
            "list-keys",
            "--json",
            "--auth",
            "direct:app",
            "-p",
            "tpm",
            "-t",
            "5",
        ])
        .expect("parses");
        assert!(cli.global.json);
        assert_eq!(cli.global.auth, Some(AuthChoice::Direct("app".to_owned())));
        assert_eq!(cli.global.provider, Some(ProviderId::Tpm));
        assert_eq!(cli.global.timeout, 5);
        let cli = parse(&["--provider", "1", "--auth", "peer", "ping"]).expect("parses");
        assert_eq!(cli.global.provider, Some(ProviderId::Software));
        assert_eq!(cli.global.auth, Some(AuthChoice::Peer));
        assert!(matches!(cli.command, Command::Ping));
    }

    #[test]
    fn bad_global_values_are_refused() {
        assert!(parse(&["--auth", "direct:", "ping"]).is_err());
        assert!(parse(&["--auth", "jwt", "ping"]).is_err());
        assert!(parse(&["-p", "9", "ping"]).is_err());
        assert!(parse(&["-p", "hsm", "ping"]).is_err());
    }

    #[test]
    fn key_commands_parse() {
        let cli =
            parse(&["create-rsa-key", "-k", "r", "--for-signing", "-b", "3072"]).expect("rsa");
        assert!(matches!(
            cli.command,
            Command::CreateRsaKey { ref key_name, bits: 3072, for_signing: true, oaep: false } if key_name == "r"
        ));
        assert!(parse(&["create-rsa-key", "-k", "r", "--for-signing", "--oaep"]).is_err());
        let cli = parse(&[
            "create-ecc-key",
            "--key-name",
            "e",
            "--curve",
            "p384",
            "--purpose",
            "derive",
        ])
        .expect("ecc");
        assert!(matches!(
            cli.command,
            Command::CreateEccKey {
                curve: Curve::P384,
                purpose: Purpose::Derive,
                ..
            }
        ));
        let cli = parse(&["create-aes-key", "-k", "a", "--bits", "128"]).expect("aes");
        assert!(matches!(
            cli.command,
            Command::CreateAesKey { bits: 128, .. }
        ));
        assert!(parse(&["create-aes-key", "-k", "a", "--bits", "100"]).is_err());
        assert!(parse(&["create-ecc-key"]).is_err(), "key name is required");
    }

    #[test]
    fn input_is_a_string_or_a_file_but_not_both() {
        let cli = parse(&["sign", "-k", "k", "hello"]).expect("string");
        let Command::Sign { input, .. } = cli.command else {
            panic!("sign")
        };
        assert_eq!(input.bytes().expect("bytes"), b"hello");
        assert!(parse(&["sign", "-k", "k", "hello", "--file", "/x"]).is_err());
        assert!(parse(&["sign", "-k", "k"]).is_err());
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("msg");
        std::fs::write(&path, b"\x00binary").expect("write");
        let cli = parse(&[
            "verify",
            "-k",
            "k",
            "-s",
            "AAAA",
            "--file",
            path.to_str().expect("utf8"),
        ])
        .expect("file");
        let Command::Verify {
            input, signature, ..
        } = cli.command
        else {
            panic!("verify")
        };
        assert_eq!(signature, "AAAA");
        assert_eq!(input.bytes().expect("bytes"), b"\x00binary");
    }

    #[test]
    fn csr_command_collects_sans() {
        let cli = parse(&[
            "create-csr",
            "-k",
            "k",
            "--cn",
            "host",
            "--c",
            "GB",
            "--san",
            "DNS:a.example",
            "--san",
            "10.0.0.1",
        ])
        .expect("csr");
        let Command::CreateCsr { san, c, cn, .. } = cli.command else {
            panic!("csr")
        };
        assert_eq!(cn, "host");
        assert_eq!(c.as_deref(), Some("GB"));
        assert_eq!(san.len(), 2);
        assert!(parse(&["create-csr", "-k", "k", "--cn", "h", "--san", "IP:nope"]).is_err());
        assert!(
            parse(&["create-csr", "-k", "k"]).is_err(),
            "--cn is required"
        );
    }

    #[test]
    fn informational_commands_skip_discovery() {
        assert!(Command::Ping.is_informational());
        assert!(Command::ListOpcodes.is_informational());
        assert!(!Command::ListKeys.is_informational());
    }

    #[test]
    fn ecdsa_signatures_accepted_as_der_or_raw() {
        use keyward_client::protocol::ops::KeyInfo;
        let key = KeyInfo {
            provider_id: 1,
            name: "k".to_owned(),
            attributes: keys::ecc_signing_key(EccCurve::P256),
        };
        let raw: Vec<u8> = (1..=64).collect();
        let der = signature_for_output(&key, &raw).expect("der");
        assert_eq!(der[0], 0x30);
        assert_eq!(signature_from_input(&key, &der).expect("from der"), raw);
        assert_eq!(signature_from_input(&key, &raw).expect("raw"), raw);
        assert!(
            signature_from_input(&key, &raw[..10]).is_err(),
            "neither form"
        );
        let rsa = KeyInfo {
            attributes: keys::rsa_signing_key(2048),
            ..key
        };
        assert_eq!(signature_for_output(&rsa, &raw).expect("as is"), raw);
    }
}
