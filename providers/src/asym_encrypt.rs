//! Asymmetric encryption family (RSA PKCS#1 v1.5 and OAEP).

use keyward_protocol::ops::Secret;
use keyward_protocol::psa::AsymmetricEncryption;

use crate::{KeyRef, ProviderError};

/// Encryption with a public key (or the public half of a key pair) and decryption with the
/// private key. `salt` is PSA's name for the OAEP label; it must be absent for PKCS#1 v1.5.
pub trait AsymmetricCrypt: Send + Sync {
    fn asymmetric_encrypt(
        &self,
        key: KeyRef<'_>,
        alg: AsymmetricEncryption,
        plaintext: &[u8],
        salt: Option<&[u8]>,
    ) -> Result<Vec<u8>, ProviderError>;

    /// Decrypts; a ciphertext that does not decrypt is `Err(InvalidPadding)`.
    fn asymmetric_decrypt(
        &self,
        key: KeyRef<'_>,
        alg: AsymmetricEncryption,
        ciphertext: &[u8],
        salt: Option<&[u8]>,
    ) -> Result<Secret, ProviderError>;
}
