//! Sign with a P-256 key held by keywardd and verify the signature locally with the `p256`
//! crate: the key handle is a RustCrypto `Signer` and `Keypair`.
//!
//! Run against a running keywardd: `cargo run -p keyward-client --example sign_verify`
//! (`KEYWARD_ENDPOINT=unix:/path` picks another socket).

use keyward_client::signature::{Keypair, Signer};
use keyward_client::{BasicClient, ClientError};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;

const KEY: &str = "example-sign-verify";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = BasicClient::new()?;
    // Start clean if an earlier run was interrupted.
    match client.destroy_key(KEY) {
        Ok(()) | Err(ClientError::KeyNotFound(_)) => {}
        Err(err) => return Err(err.into()),
    }
    client.create_signing_key(KEY)?; // ECDSA P-256 with SHA-256

    // An owned handle: Signer + Keypair + DynSignatureAlgorithmIdentifier.
    let key = client.signing_key(KEY)?;
    let verifying = VerifyingKey::from_public_key_der(key.verifying_key().to_der())?;

    let message = b"hello from an application";
    let signature = key.try_sign(message)?; // DER, as X.509 and TLS want it
    let der = DerSignature::try_from(signature.as_bytes())?;
    verifying.verify(message, &der)?;
    if verifying.verify(b"another message", &der).is_ok() {
        return Err("a signature verified for the wrong message".into());
    }

    // The name-based API signs too, in PSA's raw r || s format.
    let raw = client.sign(KEY, message)?;
    verifying.verify(message, &p256::ecdsa::Signature::from_slice(&raw)?)?;

    println!(
        "p256 verified the keywardd signature ({} bytes DER, {} bytes raw)",
        der.as_bytes().len(),
        raw.len()
    );
    client.destroy_key(KEY)?;
    Ok(())
}
