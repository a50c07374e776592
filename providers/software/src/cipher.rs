//! Software unauthenticated ciphers: AES in CTR, CFB-128, OFB, CBC (no padding or PKCS#7) and
//! ECB (no padding). As PSA's one-shot functions do, encryption draws a random 16-byte IV and
//! returns `IV || ciphertext`; decryption takes the same. ECB has no IV.
//!
//! Keys are not cached here: these modes are rare, and opening the handle costs about a
//! microsecond.

use aws_lc_rs::cipher::{
    self, DecryptingKey, DecryptionContext, EncryptingKey, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use keyward_protocol::ops::Secret;
use keyward_protocol::psa::{Cipher, KeyAttributes, KeyType};
use zeroize::Zeroizing;

use crate::SoftwareProvider;
use keyward_providers::{CipherCrypt, KeyRef, ProviderError};

const BLOCK: usize = 16;

impl CipherCrypt for SoftwareProvider {
    fn cipher_encrypt(
        &self,
        key: KeyRef<'_>,
        alg: Cipher,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ProviderError> {
        let algorithm = aes_algorithm(key.attributes)?;
        let mode = Mode::of(alg)?;
        if mode.needs_whole_blocks() && plaintext.len() % BLOCK != 0 {
            return Err(ProviderError::invalid(
                "input must be a whole number of 16-byte blocks",
            ));
        }
        let material = self.open(key)?;
        let unbound = UnboundCipherKey::new(algorithm, &material)
            .map_err(|_| ProviderError::CorruptionDetected)?;
        let failed = |_| ProviderError::generic("cipher encryption failed");
        // Room for padding up front: no reallocation leaves a plaintext copy behind.
        let mut buffer = Zeroizing::new(Vec::with_capacity(plaintext.len() + BLOCK));
        buffer.extend_from_slice(plaintext);
        let context = match mode {
            Mode::CbcPkcs7 => PaddedBlockEncryptingKey::cbc_pkcs7(unbound)
                .and_then(|k| k.encrypt(&mut *buffer))
                .map_err(failed)?,
            unpadded => unpadded
                .encrypting(unbound)
                .and_then(|k| k.encrypt(&mut buffer[..]))
                .map_err(failed)?,
        };
        let iv: &[u8] = match &context {
            DecryptionContext::None => &[],
            iv => iv.try_into().map_err(failed)?,
        };
        let mut out = Vec::with_capacity(iv.len() + buffer.len());
        out.extend_from_slice(iv);
        out.extend_from_slice(&buffer);
        Ok(out)
    }

    fn cipher_decrypt(
        &self,
        key: KeyRef<'_>,
        alg: Cipher,
        ciphertext: &[u8],
    ) -> Result<Secret, ProviderError> {
        let algorithm = aes_algorithm(key.attributes)?;
        let mode = Mode::of(alg)?;
        let (context, body) = if mode == Mode::Ecb {
            (DecryptionContext::None, ciphertext)
        } else {
            if ciphertext.len() < BLOCK {
                return Err(ProviderError::invalid("input is shorter than the IV"));
            }
            let (iv, body) = ciphertext.split_at(BLOCK);
            let iv: [u8; BLOCK] = iv.try_into().map_err(|_| ProviderError::invalid("IV"))?;
            (DecryptionContext::Iv128(FixedLength::from(iv)), body)
        };
        if (mode.needs_whole_blocks() && body.len() % BLOCK != 0)
            || (mode == Mode::CbcPkcs7 && (body.is_empty() || body.len() % BLOCK != 0))
        {
            return Err(ProviderError::invalid(
                "input must be a whole number of 16-byte blocks",
            ));
        }
        let material = self.open(key)?;
        let unbound = UnboundCipherKey::new(algorithm, &material)
            .map_err(|_| ProviderError::CorruptionDetected)?;
        let mut buffer = Zeroizing::new(body.to_vec());
        let len = match mode {
            Mode::CbcPkcs7 => PaddedBlockDecryptingKey::cbc_pkcs7(unbound)
                .map_err(|_| ProviderError::generic("cipher setup failed"))?
                .decrypt(&mut buffer[..], context)
                .map_err(|_| ProviderError::InvalidPadding)?
                .len(),
            unpadded => unpadded
                .decrypting(unbound)
                .and_then(|k| k.decrypt(&mut buffer[..], context))
                .map_err(|_| ProviderError::generic("cipher decryption failed"))?
                .len(),
        };
        buffer.truncate(len);
        Ok(buffer)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ctr,
    Cfb,
    Ofb,
    Cbc,
    CbcPkcs7,
    Ecb,
}

impl Mode {
    fn of(alg: Cipher) -> Result<Mode, ProviderError> {
        Ok(match alg {
            Cipher::Ctr => Mode::Ctr,
            Cipher::Cfb => Mode::Cfb,
            Cipher::Ofb => Mode::Ofb,
            Cipher::CbcNoPadding => Mode::Cbc,
            Cipher::CbcPkcs7 => Mode::CbcPkcs7,
            Cipher::EcbNoPadding => Mode::Ecb,
            Cipher::StreamCipher | Cipher::Xts => {
                return Err(ProviderError::not_supported(format!("cipher {alg:?}")))
            }
        })
    }

    fn needs_whole_blocks(self) -> bool {
        matches!(self, Mode::Cbc | Mode::Ecb)
    }

    fn encrypting(
        self,
        key: UnboundCipherKey,
    ) -> Result<EncryptingKey, aws_lc_rs::error::Unspecified> {
        match self {
            Mode::Ctr => EncryptingKey::ctr(key),
            Mode::Cfb => EncryptingKey::cfb128(key),
            Mode::Ofb => EncryptingKey::ofb(key),
            Mode::Cbc => EncryptingKey::cbc(key),
            Mode::Ecb => EncryptingKey::ecb(key),
            Mode::CbcPkcs7 => Err(aws_lc_rs::error::Unspecified),
        }
    }

    fn decrypting(
        self,
        key: UnboundCipherKey,
    ) -> Result<DecryptingKey, aws_lc_rs::error::Unspecified> {
        match self {
            Mode::Ctr => DecryptingKey::ctr(key),
            Mode::Cfb => DecryptingKey::cfb128(key),
            Mode::Ofb => DecryptingKey::ofb(key),
            Mode::Cbc => DecryptingKey::cbc(key),
            Mode::Ecb => DecryptingKey::ecb(key),
            Mode::CbcPkcs7 => Err(aws_lc_rs::error::Unspecified),
        }
    }
}

fn aes_algorithm(attributes: &KeyAttributes) -> Result<&'static cipher::Algorithm, ProviderError> {
    match (attributes.key_type, attributes.bits) {
        (KeyType::Aes, 128) => Ok(&cipher::AES_128),
        (KeyType::Aes, 192) => Ok(&cipher::AES_192),
        (KeyType::Aes, 256) => Ok(&cipher::AES_256),
        (KeyType::Des | KeyType::Camellia, _) => Err(ProviderError::not_supported(format!(
            "{:?} ciphers",
            attributes.key_type
        ))),
        (key_type, bits) => Err(ProviderError::invalid(format!(
            "a {bits} bit {key_type:?} key is not a block cipher key"
        ))),
    }
}
