//! Software AEAD: AES-GCM with a 12-byte nonce and the 16-byte tag, and ChaCha20-Poly1305, on
//! aws-lc-rs (the hot path); AES-GCM with other nonce lengths or shortened tags on RustCrypto
//! `aes-gcm`, and AES-CCM on RustCrypto `ccm`, since aws-lc-rs's AEAD API fixes both lengths.
//! The accepted nonce lengths come from the capability table (`AEAD_NONCES`). The RustCrypto
//! types fix nonce and tag sizes at compile time, so a request is dispatched to the
//! instantiation for its lengths (macros below) behind one object-safe trait.

use aes::{Aes128, Aes192, Aes256};
use aes_gcm::aead::consts::{U10, U11, U12, U13, U14, U15, U16, U4, U6, U7, U8, U9};
#[allow(deprecated, reason = "see the DynAead impl")]
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{AeadCore, AeadInPlace, KeyInit};
use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, NONCE_LEN};
use keyward_protocol::ops::Secret;
use keyward_protocol::psa::{Aead, AeadWithDefaultLengthTag, KeyAttributes, KeyType};
use zeroize::Zeroizing;

use crate::cache::{Parsed, Purpose};
use crate::capabilities::nonce_range;
use crate::SoftwareProvider;
use keyward_providers::policy::normalize_aead;
use keyward_providers::{AeadCrypt, KeyRef, ProviderError};

const TAG_LEN: usize = 16;

/// A request resolved against the key: which backend, and the tag length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    AwsLc,
    RcGcm { tag: usize },
    RcCcm { tag: usize },
}

impl AeadCrypt for SoftwareProvider {
    fn aead_encrypt(
        &self,
        key: KeyRef<'_>,
        alg: Aead,
        nonce: &[u8],
        additional_data: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ProviderError> {
        let route = resolve(key.attributes, alg, nonce)?;
        if route != Route::AwsLc {
            let material = self.open(key)?;
            let cipher = rc_cipher(route, &material, nonce.len())?;
            // Room for the tag up front: no reallocation leaves a plaintext copy behind.
            let mut buffer = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
            buffer.extend_from_slice(plaintext);
            cipher.seal(nonce, additional_data, &mut buffer)?;
            return Ok(std::mem::take(&mut *buffer));
        }
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| ProviderError::invalid("bad nonce"))?;
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
        let route = resolve(key.attributes, alg, nonce)?;
        let tag_len = match route {
            Route::AwsLc => TAG_LEN,
            Route::RcGcm { tag } | Route::RcCcm { tag } => tag,
        };
        if ciphertext.len() < tag_len {
            return Err(ProviderError::invalid("ciphertext shorter than the tag"));
        }
        if route != Route::AwsLc {
            let material = self.open(key)?;
            let cipher = rc_cipher(route, &material, nonce.len())?;
            let mut buffer = Zeroizing::new(ciphertext.to_vec());
            cipher.open(nonce, additional_data, &mut buffer)?;
            return Ok(buffer);
        }
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| ProviderError::invalid("bad nonce"))?;
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
        let algorithm = aws_lc_algorithm(key.attributes, alg)?;
        self.parsed(key, Purpose::Aead, |bytes| {
            UnboundKey::new(algorithm, bytes)
                .map(|k| Parsed::Aead(LessSafeKey::new(k)))
                .map_err(|_| ProviderError::CorruptionDetected)
        })
    }
}

/// The base algorithm and tag length of a request.
fn base_and_tag(alg: Aead) -> (AeadWithDefaultLengthTag, usize) {
    match normalize_aead(alg) {
        Aead::AeadWithDefaultLengthTag(base) => (base, TAG_LEN),
        Aead::AeadWithShortenedTag {
            aead_alg,
            tag_length,
        } => (aead_alg, usize::try_from(tag_length).unwrap_or(usize::MAX)),
    }
}

/// Checks key, tag and nonce against the table and picks the backend.
fn resolve(attributes: &KeyAttributes, alg: Aead, nonce: &[u8]) -> Result<Route, ProviderError> {
    let (base, tag) = base_and_tag(alg);
    let key_ok = match base {
        AeadWithDefaultLengthTag::Gcm | AeadWithDefaultLengthTag::Ccm => {
            attributes.key_type == KeyType::Aes && matches!(attributes.bits, 128 | 192 | 256)
        }
        AeadWithDefaultLengthTag::Chacha20Poly1305 => {
            attributes.key_type == KeyType::Chacha20 && attributes.bits == 256
        }
    };
    if !key_ok {
        return Err(ProviderError::invalid(format!(
            "{base:?} cannot be used with a {} bit {:?} key",
            attributes.bits, attributes.key_type
        )));
    }
    let (min, max) = nonce_range(base);
    let len = u32::try_from(nonce.len()).unwrap_or(u32::MAX);
    if !(min..=max).contains(&len) {
        let message =
            format!("{base:?} with a {len}-byte nonce (this provider takes {min} to {max})");
        // GCM defines every non-empty nonce; we offer only some (capability table).
        return Err(if base == AeadWithDefaultLengthTag::Gcm && len > 0 {
            ProviderError::not_supported(message)
        } else {
            ProviderError::invalid(message)
        });
    }
    match base {
        AeadWithDefaultLengthTag::Gcm if nonce.len() == NONCE_LEN && tag == TAG_LEN => {
            Ok(Route::AwsLc)
        }
        AeadWithDefaultLengthTag::Gcm if (12..=16).contains(&tag) => Ok(Route::RcGcm { tag }),
        AeadWithDefaultLengthTag::Ccm if (4..=16).contains(&tag) && tag % 2 == 0 => {
            Ok(Route::RcCcm { tag })
        }
        AeadWithDefaultLengthTag::Chacha20Poly1305 if tag == TAG_LEN => Ok(Route::AwsLc),
        _ => Err(ProviderError::not_supported(format!(
            "{base:?} with a {tag}-byte tag"
        ))),
    }
}

fn aws_lc_algorithm(
    attributes: &KeyAttributes,
    alg: Aead,
) -> Result<&'static aead::Algorithm, ProviderError> {
    let (base, _) = base_and_tag(alg);
    match (base, attributes.key_type, attributes.bits) {
        (AeadWithDefaultLengthTag::Gcm, KeyType::Aes, 128) => Ok(&aead::AES_128_GCM),
        (AeadWithDefaultLengthTag::Gcm, KeyType::Aes, 192) => Ok(&aead::AES_192_GCM),
        (AeadWithDefaultLengthTag::Gcm, KeyType::Aes, 256) => Ok(&aead::AES_256_GCM),
        (AeadWithDefaultLengthTag::Chacha20Poly1305, KeyType::Chacha20, 256) => {
            Ok(&aead::CHACHA20_POLY1305)
        }
        (base, key_type, bits) => Err(ProviderError::invalid(format!(
            "{base:?} cannot be used with a {bits} bit {key_type:?} key on aws-lc-rs"
        ))),
    }
}

/// One RustCrypto AEAD instantiation, with slices instead of compile-time sizes.
trait DynAead {
    /// Encrypts `buffer` in place and appends the tag.
    fn seal(&self, nonce: &[u8], aad: &[u8], buffer: &mut Vec<u8>) -> Result<(), ProviderError>;
    /// Authenticates and decrypts `ciphertext || tag` in place, leaving the plaintext.
    fn open(&self, nonce: &[u8], aad: &[u8], buffer: &mut Vec<u8>) -> Result<(), ProviderError>;
}

#[allow(
    deprecated,
    reason = "aead 0.5 takes generic-array 0.14 types, whose slice constructors are deprecated \
              upstream in favour of generic-array 1.x, which aead 0.5 does not use"
)]
impl<T: AeadInPlace> DynAead for T {
    fn seal(&self, nonce: &[u8], aad: &[u8], buffer: &mut Vec<u8>) -> Result<(), ProviderError> {
        if nonce.len() != <T as AeadCore>::NonceSize::USIZE {
            return Err(ProviderError::invalid("nonce length"));
        }
        let tag = self
            .encrypt_in_place_detached(GenericArray::from_slice(nonce), aad, buffer)
            .map_err(|_| ProviderError::invalid("AEAD encryption failed (input too long)"))?;
        buffer.extend_from_slice(&tag);
        Ok(())
    }

    fn open(&self, nonce: &[u8], aad: &[u8], buffer: &mut Vec<u8>) -> Result<(), ProviderError> {
        let tag_len = <T as AeadCore>::TagSize::USIZE;
        if nonce.len() != <T as AeadCore>::NonceSize::USIZE || buffer.len() < tag_len {
            return Err(ProviderError::invalid("nonce or ciphertext length"));
        }
        let split = buffer.len() - tag_len;
        let tag = GenericArray::clone_from_slice(&buffer[split..]);
        buffer.truncate(split);
        self.decrypt_in_place_detached(GenericArray::from_slice(nonce), aad, buffer, &tag)
            .map_err(|_| ProviderError::InvalidSignature)
    }
}

use aes_gcm::aead::generic_array::typenum::Unsigned;

fn build<T: KeyInit + AeadInPlace + 'static>(
    key: &[u8],
) -> Result<Box<dyn DynAead>, ProviderError> {
    T::new_from_slice(key)
        .map(|cipher| Box::new(cipher) as Box<dyn DynAead>)
        .map_err(|_| ProviderError::CorruptionDetected)
}

fn unsupported(what: &str) -> Result<Box<dyn DynAead>, ProviderError> {
    Err(ProviderError::not_supported(what.to_string()))
}

macro_rules! gcm_tag {
    ($aes:ty, $nonce:ty, $tag:expr, $key:expr) => {
        match $tag {
            12 => build::<aes_gcm::AesGcm<$aes, $nonce, U12>>($key),
            13 => build::<aes_gcm::AesGcm<$aes, $nonce, U13>>($key),
            14 => build::<aes_gcm::AesGcm<$aes, $nonce, U14>>($key),
            15 => build::<aes_gcm::AesGcm<$aes, $nonce, U15>>($key),
            16 => build::<aes_gcm::AesGcm<$aes, $nonce, U16>>($key),
            _ => unsupported("this GCM tag length"),
        }
    };
}

macro_rules! gcm_nonce {
    ($aes:ty, $nonce:expr, $tag:expr, $key:expr) => {
        match $nonce {
            7 => gcm_tag!($aes, U7, $tag, $key),
            8 => gcm_tag!($aes, U8, $tag, $key),
            9 => gcm_tag!($aes, U9, $tag, $key),
            10 => gcm_tag!($aes, U10, $tag, $key),
            11 => gcm_tag!($aes, U11, $tag, $key),
            12 => gcm_tag!($aes, U12, $tag, $key),
            13 => gcm_tag!($aes, U13, $tag, $key),
            14 => gcm_tag!($aes, U14, $tag, $key),
            15 => gcm_tag!($aes, U15, $tag, $key),
            16 => gcm_tag!($aes, U16, $tag, $key),
            _ => unsupported("this GCM nonce length"),
        }
    };
}

macro_rules! ccm_nonce {
    ($aes:ty, $tag:ty, $nonce:expr, $key:expr) => {
        match $nonce {
            7 => build::<ccm::Ccm<$aes, $tag, U7>>($key),
            8 => build::<ccm::Ccm<$aes, $tag, U8>>($key),
            9 => build::<ccm::Ccm<$aes, $tag, U9>>($key),
            10 => build::<ccm::Ccm<$aes, $tag, U10>>($key),
            11 => build::<ccm::Ccm<$aes, $tag, U11>>($key),
            12 => build::<ccm::Ccm<$aes, $tag, U12>>($key),
            13 => build::<ccm::Ccm<$aes, $tag, U13>>($key),
            _ => unsupported("this CCM nonce length"),
        }
    };
}

macro_rules! ccm_tag {
    ($aes:ty, $tag:expr, $nonce:expr, $key:expr) => {
        match $tag {
            4 => ccm_nonce!($aes, U4, $nonce, $key),
            6 => ccm_nonce!($aes, U6, $nonce, $key),
            8 => ccm_nonce!($aes, U8, $nonce, $key),
            10 => ccm_nonce!($aes, U10, $nonce, $key),
            12 => ccm_nonce!($aes, U12, $nonce, $key),
            14 => ccm_nonce!($aes, U14, $nonce, $key),
            16 => ccm_nonce!($aes, U16, $nonce, $key),
            _ => unsupported("this CCM tag length"),
        }
    };
}

/// The RustCrypto cipher for a route, key and nonce length.
fn rc_cipher(
    route: Route,
    key: &[u8],
    nonce_len: usize,
) -> Result<Box<dyn DynAead>, ProviderError> {
    match (route, key.len()) {
        (Route::RcGcm { tag }, 16) => gcm_nonce!(Aes128, nonce_len, tag, key),
        (Route::RcGcm { tag }, 24) => gcm_nonce!(Aes192, nonce_len, tag, key),
        (Route::RcGcm { tag }, 32) => gcm_nonce!(Aes256, nonce_len, tag, key),
        (Route::RcCcm { tag }, 16) => ccm_tag!(Aes128, tag, nonce_len, key),
        (Route::RcCcm { tag }, 24) => ccm_tag!(Aes192, tag, nonce_len, key),
        (Route::RcCcm { tag }, 32) => ccm_tag!(Aes256, tag, nonce_len, key),
        _ => Err(ProviderError::CorruptionDetected),
    }
}
