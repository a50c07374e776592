//! AES-256-GCM with associated data, the key held by keywardd: the associated data (here a
//! record ID) is authenticated with the ciphertext, so a ciphertext moved to another record
//! no longer decrypts.
//!
//! Run against a running keywardd: `cargo run -p keyward-client --example aead`.

use keyward_client::protocol::ResponseStatus;
use keyward_client::{BasicClient, ClientError};

const KEY: &str = "example-aead";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = BasicClient::new()?;
    match client.destroy_key(KEY) {
        Ok(()) | Err(ClientError::KeyNotFound(_)) => {}
        Err(err) => return Err(err.into()),
    }
    client.create_aes_key(KEY, 256)?;
    let key = client.aead_key(KEY)?;

    let plaintext = b"card 4111 1111 1111 1111";
    let sealed = key.encrypt(plaintext, b"record:42")?; // nonce || ciphertext || tag
    let opened = key.decrypt(&sealed, b"record:42")?;
    if &opened[..] != plaintext {
        return Err("decryption gave other bytes".into());
    }

    // The same ciphertext under another record's ID is refused by the service.
    match key.decrypt(&sealed, b"record:43") {
        Err(err) if err.status() == Some(ResponseStatus::PsaErrorInvalidSignature) => {}
        other => return Err(format!("wrong associated data was not refused: {other:?}").into()),
    }

    // The name-based API does the same.
    let again = client.encrypt_with_aad(KEY, plaintext, b"record:42")?;
    let opened = client.decrypt_with_aad(KEY, &again, b"record:42")?;
    println!(
        "sealed {} bytes into {} (nonce {} + ciphertext + tag); wrong associated data refused; \
         name-based round trip {}",
        plaintext.len(),
        sealed.len(),
        key.nonce_len(),
        if &opened[..] == plaintext {
            "ok"
        } else {
            "FAILED"
        }
    );
    client.destroy_key(KEY)?;
    Ok(())
}
