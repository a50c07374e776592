//! Software AEAD: AES-GCM (128/192/256-bit keys) and ChaCha20-Poly1305, 12-byte nonces, full
//! 16-byte tags. Shortened tags and AES-CCM are not supported by aws-lc-rs's AEAD API.

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, NONCE_LEN};
use keyward_protocol::ops::Secret;
use keyward_protocol::psa::{Aead, AeadWithDefaultLengthTag, KeyAttributes, KeyType};
use zeroize::Zeroizing;

use crate::cache::{Parsed, Purpose};
use crate::SoftwareProvider;
use keyward_providers::policy::normalize_aead;
use keyward_providers::{AeadCrypt, KeyRef, ProviderError};

const TAG_LEN: usize = 16;

impl AeadCrypt for SoftwareProvider {
    fn aead_encrypt(
        &self,
        key: KeyRef<'_>,
        alg: Aead,
        nonce: &[u8],
        additional_data: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ProviderError> {
        let nonce = resolve_nonce(key.attributes, alg, nonce)?;
        let sealing = self.aead_key(key, alg)?;
        let Parsed::Aead(sealing) = &*sealing else {
            return Err(ProviderError::generic("cache entry of the wrong kind"));
        };
        // Zeroized if sealing fails with the plaintext still in it; capacity for the tag up
        // front so appending it does not reallocate and leave a plaintext copy behind.
        let mut buffer = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
        buffer.extend_from_slice(plaintext);
        sealing
            .seal_in_place_append_tag(nonce, Aad::from(additional_data), &mut *buffer)
            .map_err(|_| ProviderError::generic("AEAD encryption failed"))?;
        Ok(std::mem::take(&mut *buffer))
    }

    fn aead_decrypt(
        &self,
        key: KeyRef<'_>,
        alg: Aead,
        nonce: &[u8],
        additional_data: &[u8],
        ciphertext: &[u8],
    ) -> Result<Secret, ProviderError> {
        let nonce = resolve_nonce(key.attributes, alg, nonce)?;
        if ciphertext.len() < TAG_LEN {
            return Err(ProviderError::invalid("ciphertext shorter than the tag"));
        }
        let opening = self.aead_key(key, alg)?;
        let Parsed::Aead(opening) = &*opening else {
            return Err(ProviderError::generic("cache entry of the wrong kind"));
        };
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let len = opening
            .open_in_place(nonce, Aad::from(additional_data), &mut buffer[..])
            .map_err(|_| ProviderError::InvalidSignature)?
            .len();
        buffer.truncate(len);
        Ok(buffer)
    }
}

impl SoftwareProvider {
    fn aead_key(
        &self,
        key: KeyRef<'_>,
        alg: Aead,
    ) -> Result<std::sync::Arc<Parsed>, ProviderError> {
        let algorithm = aead_algorithm(key.attributes, alg)?;
        self.parsed(key, Purpose::Aead, |bytes| {
            UnboundKey::new(algorithm, bytes)
                .map(|k| Parsed::Aead(LessSafeKey::new(k)))
                .map_err(|_| ProviderError::CorruptionDetected)
        })
    }
}

fn aead_algorithm(
    attributes: &KeyAttributes,
    alg: Aead,
) -> Result<&'static aead::Algorithm, ProviderError> {
    let Aead::AeadWithDefaultLengthTag(base) = normalize_aead(alg) else {
        return Err(ProviderError::not_supported("AEAD with a shortened tag"));
    };
    match (base, attributes.key_type, attributes.bits) {
        (AeadWithDefaultLengthTag::Gcm, KeyType::Aes, 128) => Ok(&aead::AES_128_GCM),
        (AeadWithDefaultLengthTag::Gcm, KeyType::Aes, 192) => Ok(&aead::AES_192_GCM),
        (AeadWithDefaultLengthTag::Gcm, KeyType::Aes, 256) => Ok(&aead::AES_256_GCM),
        (AeadWithDefaultLengthTag::Chacha20Poly1305, KeyType::Chacha20, 256) => {
            Ok(&aead::CHACHA20_POLY1305)
        }
        (AeadWithDefaultLengthTag::Ccm, KeyType::Aes, _) => {
            Err(ProviderError::not_supported("AES-CCM"))
        }
        (base, key_type, bits) => Err(ProviderError::invalid(format!(
            "{base:?} cannot be used with a {bits} bit {key_type:?} key"
        ))),
    }
}

fn resolve_nonce(
    attributes: &KeyAttributes,
    alg: Aead,
    nonce: &[u8],
) -> Result<Nonce, ProviderError> {
    aead_algorithm(attributes, alg)?;
    if nonce.len() != NONCE_LEN {
        return Err(match normalize_aead(alg) {
            // Other GCM nonce sizes are valid but aws-lc-rs only takes 96-bit nonces.
            Aead::AeadWithDefaultLengthTag(AeadWithDefaultLengthTag::Gcm) => {
                ProviderError::not_supported("GCM nonces other than 12 bytes")
            }
            _ => ProviderError::invalid("the nonce must be 12 bytes"),
        });
    }
    Nonce::try_assume_unique_for_key(nonce).map_err(|_| ProviderError::invalid("bad nonce"))
}
