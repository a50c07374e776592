//! Unauthenticated cipher family (AES CTR/CFB/OFB/CBC/ECB).

use keyward_protocol::ops::Secret;
use keyward_protocol::psa::Cipher;

use crate::{KeyRef, ProviderError};

/// One-shot PSA cipher operations. As in `psa_cipher_encrypt`, encryption picks a random IV and
/// prepends it to the output, and decryption takes `IV || ciphertext`. Modes without an IV
/// (ECB) have no prefix.
pub trait CipherCrypt: Send + Sync {
    fn cipher_encrypt(
        &self,
        key: KeyRef<'_>,
        alg: Cipher,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ProviderError>;

    /// Decrypts; bad PKCS#7 padding is `Err(InvalidPadding)`.
    fn cipher_decrypt(
        &self,
        key: KeyRef<'_>,
        alg: Cipher,
        ciphertext: &[u8],
    ) -> Result<Secret, ProviderError>;
}
