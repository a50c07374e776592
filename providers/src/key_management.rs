//! Key management family: create, import, export and destroy keys.
//!
//! The service owns the key-creation transaction (allocate a name, call the provider, record the
//! handle, roll back on failure); a provider only implements these primitives.

use keyward_protocol::ops::Secret;
use keyward_protocol::psa::KeyAttributes;

use crate::{KeyHandle, KeyRef, ProviderError};

/// A key a provider imported: its handle and the attributes the service must record with it.
/// They equal the request's attributes except that a request `bits` of 0 ("take the size from the
/// data", as PSA allows for import) is replaced by the actual size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedKey {
    pub handle: KeyHandle,
    pub attributes: KeyAttributes,
}

/// Creating, importing, exporting and destroying keys.
pub trait KeyManagement: Send + Sync {
    /// Generates a new key with these attributes (`bits` must be set).
    fn generate_key(&self, attributes: &KeyAttributes) -> Result<KeyHandle, ProviderError>;

    /// Imports key material in the PSA export format for its type (RSA: PKCS#1 DER; ECC key pair:
    /// raw big-endian private scalar; ECC public key: uncompressed SEC1 point; symmetric: raw).
    fn import_key(
        &self,
        attributes: &KeyAttributes,
        data: &[u8],
    ) -> Result<ImportedKey, ProviderError>;

    /// The public part of a key pair or public key, in the PSA format (RSA: PKCS#1
    /// `RSAPublicKey` DER; ECC: `04 || X || Y`). Policy never restricts this.
    fn export_public_key(&self, key: KeyRef<'_>) -> Result<Vec<u8>, ProviderError>;

    /// The key material itself, in the same format `import_key` accepts.
    fn export_key(&self, key: KeyRef<'_>) -> Result<Secret, ProviderError>;

    /// Destroys the key inside the provider (if it holds anything) and forgets cached state.
    fn destroy_key(&self, key: KeyRef<'_>) -> Result<(), ProviderError>;

    /// Handles of keys the provider holds outside the service's store (e.g. persistent objects in
    /// a token), so the service can find orphans at start. Empty for providers whose handles are
    /// self-contained.
    fn persistent_handles(&self) -> Result<Vec<KeyHandle>, ProviderError>;

    /// Destroys a key the provider holds but no record points to (a crash interrupted its
    /// creation), known only by its handle.
    fn destroy_orphan(&self, handle: &KeyHandle) -> Result<(), ProviderError>;
}
