//! Software key handles: key material encrypted under the master key, bound to its attributes.
//!
//! Handle format (version 1): `0x01 || nonce (12 bytes, random) || AES-256-GCM(material) || tag`.
//! The associated data is `version || "keyward/software-key" || encode_key_attributes(attrs)`, so
//! a handle only opens with the attributes it was created with: tampering with the stored
//! attributes (e.g. widening the usage flags in the key store) makes the key unusable. The
//! AES key is derived from the master key with HKDF-SHA-256, leaving the master key free for
//! other derived uses later.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hkdf;
use keyward_protocol::codec::encode_key_attributes;
use keyward_protocol::ops::Secret;
use keyward_protocol::psa::KeyAttributes;
use zeroize::Zeroizing;

use crate::MasterKey;
use keyward_providers::{KeyHandle, ProviderError};

const VERSION: u8 = 1;
const DOMAIN: &[u8] = b"keyward/software-key";
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + NONCE_LEN;

/// Seals and opens software key handles.
pub(crate) struct Sealer {
    key: LessSafeKey,
}

impl Sealer {
    pub(crate) fn new(master_key: &MasterKey) -> Result<Sealer, ProviderError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"keyward master key v1")
            .extract(master_key.expose());
        let okm = prk
            .expand(&[b"software provider key wrapping v1"], &AES_256_GCM)
            .map_err(|_| ProviderError::generic("HKDF expansion failed"))?;
        Ok(Sealer {
            key: LessSafeKey::new(UnboundKey::from(okm)),
        })
    }

    /// Encrypts `material` into a new handle bound to `attributes`.
    pub(crate) fn seal(
        &self,
        attributes: &KeyAttributes,
        material: &[u8],
    ) -> Result<KeyHandle, ProviderError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| ProviderError::InsufficientEntropy)?;
        // Room for the tag up front, so sealing in place never reallocates and leaves a
        // plaintext copy behind; the buffer is zeroized if sealing fails half-way.
        let mut buffer = Zeroizing::new(Vec::with_capacity(material.len() + TAG_LEN));
        buffer.extend_from_slice(material);
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(attributes)),
                &mut *buffer,
            )
            .map_err(|_| ProviderError::generic("sealing key material failed"))?;
        let mut handle = Vec::with_capacity(HEADER_LEN + buffer.len());
        handle.push(VERSION);
        handle.extend_from_slice(&nonce);
        handle.extend_from_slice(&buffer);
        Ok(KeyHandle(handle))
    }

    /// Decrypts a handle; anything that does not authenticate with these attributes (wrong
    /// master key, tampered bytes, other attributes, unknown version) is `CorruptionDetected`.
    pub(crate) fn open(
        &self,
        handle: &[u8],
        attributes: &KeyAttributes,
    ) -> Result<Secret, ProviderError> {
        if handle.len() < HEADER_LEN + TAG_LEN || handle[0] != VERSION {
            return Err(ProviderError::CorruptionDetected);
        }
        let (header, sealed) = handle.split_at(HEADER_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&header[1..])
            .map_err(|_| ProviderError::CorruptionDetected)?;
        let mut buffer = Zeroizing::new(sealed.to_vec());
        let len = self
            .key
            .open_in_place(
                nonce,
                Aad::from(associated_data(attributes)),
                &mut buffer[..],
            )
            .map_err(|_| ProviderError::CorruptionDetected)?
            .len();
        buffer.truncate(len);
        Ok(buffer)
    }
}

fn associated_data(attributes: &KeyAttributes) -> Vec<u8> {
    let encoded = encode_key_attributes(attributes);
    let mut aad = Vec::with_capacity(1 + DOMAIN.len() + encoded.len());
    aad.push(VERSION);
    aad.extend_from_slice(DOMAIN);
    aad.extend_from_slice(&encoded);
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_protocol::psa::{Algorithm, KeyPolicy, KeyType, UsageFlags};

    fn attrs(bits: u32, export: bool) -> KeyAttributes {
        KeyAttributes {
            key_type: KeyType::RawData,
            bits,
            policy: KeyPolicy {
                usage_flags: UsageFlags {
                    export,
                    ..UsageFlags::default()
                },
                permitted_algorithms: Algorithm::None,
            },
        }
    }

    #[test]
    fn round_trip_and_fresh_nonces() {
        let sealer = Sealer::new(&MasterKey::generate().unwrap()).unwrap();
        let a = attrs(128, true);
        let h1 = sealer.seal(&a, b"0123456789abcdef").unwrap();
        let h2 = sealer.seal(&a, b"0123456789abcdef").unwrap();
        assert_ne!(h1, h2, "nonces must differ");
        assert_eq!(h1.0.len(), 1 + 12 + 16 + 16);
        assert_eq!(&sealer.open(&h1.0, &a).unwrap()[..], b"0123456789abcdef");
        assert_eq!(&sealer.open(&h2.0, &a).unwrap()[..], b"0123456789abcdef");
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let sealer = Sealer::new(&MasterKey::generate().unwrap()).unwrap();
        let a = attrs(64, false);
        let handle = sealer.seal(&a, b"secret!!").unwrap();
        for i in 0..handle.0.len() {
            let mut bad = handle.0.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                sealer.open(&bad, &a),
                Err(ProviderError::CorruptionDetected),
                "byte {i}"
            );
        }
        assert_eq!(
            sealer.open(&handle.0[..20], &a),
            Err(ProviderError::CorruptionDetected)
        );
        assert_eq!(sealer.open(&[], &a), Err(ProviderError::CorruptionDetected));
    }

    #[test]
    fn other_attributes_or_master_key_do_not_open() {
        let sealer = Sealer::new(&MasterKey::generate().unwrap()).unwrap();
        let a = attrs(64, false);
        let handle = sealer.seal(&a, b"secret!!").unwrap();
        assert_eq!(
            sealer.open(&handle.0, &attrs(64, true)),
            Err(ProviderError::CorruptionDetected)
        );
        assert_eq!(
            sealer.open(&handle.0, &attrs(72, false)),
            Err(ProviderError::CorruptionDetected)
        );
        let other = Sealer::new(&MasterKey::generate().unwrap()).unwrap();
        assert_eq!(
            other.open(&handle.0, &a),
            Err(ProviderError::CorruptionDetected)
        );
    }
}
