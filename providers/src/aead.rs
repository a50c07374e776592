//! Authenticated encryption family (AES-GCM, ChaCha20-Poly1305, ...).

use keyward_protocol::ops::Secret;
use keyward_protocol::psa::Aead;

use crate::{KeyRef, ProviderError};

/// One-shot AEAD. The ciphertext is PSA's: `ciphertext || tag`.
pub trait AeadCrypt: Send + Sync {
    fn aead_encrypt(
        &self,
        key: KeyRef<'_>,
        alg: Aead,
        nonce: &[u8],
        additional_data: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ProviderError>;

    /// Decrypts and authenticates; a wrong tag, nonce or additional data is
    /// `Err(InvalidSignature)` (PSA's status for an AEAD authentication failure).
    fn aead_decrypt(
        &self,
        key: KeyRef<'_>,
        alg: Aead,
        nonce: &[u8],
        additional_data: &[u8],
        ciphertext: &[u8],
    ) -> Result<Secret, ProviderError>;
}
