//! Owned, typed handles for keys that encrypt: [`AeadKey`] (AES-GCM and other AEADs) and
//! [`DecryptionKey`] (RSA). Like [`crate::SigningKey`], each holds the client (an `Arc`
//! inside), is `'static`, `Clone` and `Send + Sync`, and was checked locally when made.

use keyward_protocol::ops::KeyInfo;
use keyward_protocol::psa::{Aead, Algorithm, AsymmetricEncryption, KeyType};
use keyward_protocol::{ProviderId, Secret};

use crate::client::BasicClient;
use crate::error::{ClientError, Result};
use crate::signing::PublicKey;
use crate::simple::{
    finish_decrypt, finish_encrypt, nonce_len, plan_decrypt, plan_encrypt, provider_of,
};

/// An AEAD key held by the service (made by [`BasicClient::aead_key`]).
///
/// [`AeadKey::encrypt`] draws a fresh random nonce for every call and puts it in front of
/// the ciphertext. With 96-bit random nonces (AES-GCM) a key is good for at most 2^32
/// encryptions (NIST SP 800-38D §8.3); rotate keys well before that.
#[derive(Debug, Clone)]
pub struct AeadKey {
    client: BasicClient,
    info: KeyInfo,
    provider: ProviderId,
    alg: Aead,
}

impl AeadKey {
    /// The key's name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The provider holding the key.
    pub fn provider(&self) -> ProviderId {
        self.provider
    }

    /// The AEAD algorithm.
    pub fn algorithm(&self) -> Aead {
        self.alg
    }

    /// The nonce length put in front of each ciphertext.
    pub fn nonce_len(&self) -> usize {
        nonce_len(self.alg)
    }

    /// Encrypts `plaintext`, authenticating `associated_data` too (which is not encrypted
    /// and must be given again to decrypt). Output: `nonce || ciphertext || tag`.
    pub fn encrypt(&self, plaintext: &[u8], associated_data: &[u8]) -> Result<Vec<u8>> {
        let (operation, nonce) = plan_encrypt(&self.info, plaintext, associated_data)?;
        finish_encrypt(self.client.call(self.provider, operation)?, nonce)
    }

    /// Decrypts what [`AeadKey::encrypt`] produced; any change to the ciphertext, the tag
    /// or the associated data fails with the service's `PsaErrorInvalidSignature`.
    pub fn decrypt(&self, ciphertext: &[u8], associated_data: &[u8]) -> Result<Secret> {
        let operation = plan_decrypt(&self.info, ciphertext, associated_data)?;
        finish_decrypt(self.client.call(self.provider, operation)?)
    }
}

/// An RSA encryption key pair held by the service (made by [`BasicClient::decryption_key`]):
/// the private half decrypts in the service; the public half can encrypt anywhere.
#[derive(Debug, Clone)]
pub struct DecryptionKey {
    client: BasicClient,
    info: KeyInfo,
    provider: ProviderId,
    alg: AsymmetricEncryption,
    public: PublicKey,
}

impl DecryptionKey {
    /// The key's name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The provider holding the key.
    pub fn provider(&self) -> ProviderId {
        self.provider
    }

    /// The encryption scheme (OAEP or PKCS#1 v1.5).
    pub fn algorithm(&self) -> AsymmetricEncryption {
        self.alg
    }

    /// The public key, for encrypting elsewhere.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Encrypts with the public key, in the service; `label` is OAEP's label (empty for
    /// none; PKCS#1 v1.5 keys refuse a label).
    pub fn encrypt(&self, plaintext: &[u8], label: &[u8]) -> Result<Vec<u8>> {
        let (operation, nonce) = plan_encrypt(&self.info, plaintext, label)?;
        finish_encrypt(self.client.call(self.provider, operation)?, nonce)
    }

    /// Decrypts in the service with the same label the ciphertext was made with.
    pub fn decrypt(&self, ciphertext: &[u8], label: &[u8]) -> Result<Secret> {
        let operation = plan_decrypt(&self.info, ciphertext, label)?;
        finish_decrypt(self.client.call(self.provider, operation)?)
    }
}

impl BasicClient {
    /// An owned handle to an AEAD key; refused locally ([`ClientError::UnsuitableKey`])
    /// unless the key's policy is an AEAD allowed to encrypt and decrypt.
    pub fn aead_key(&self, key_name: &str) -> Result<AeadKey> {
        let info = self.key_info(key_name)?;
        let Algorithm::Aead(alg) = info.attributes.policy.permitted_algorithms else {
            return Err(ClientError::unsuitable(
                key_name,
                "its policy is not an AEAD",
            ));
        };
        let usage = info.attributes.policy.usage_flags;
        if !(usage.encrypt && usage.decrypt) {
            return Err(ClientError::unsuitable(
                key_name,
                "its policy does not allow both encryption and decryption",
            ));
        }
        Ok(AeadKey {
            client: self.clone(),
            provider: provider_of(&info)?,
            info,
            alg,
        })
    }

    /// An owned handle to an RSA decryption key; refused locally unless the key is an RSA
    /// key pair whose policy is an asymmetric encryption allowed to decrypt.
    pub fn decryption_key(&self, key_name: &str) -> Result<DecryptionKey> {
        let info = self.key_info(key_name)?;
        let Algorithm::AsymmetricEncryption(alg) = info.attributes.policy.permitted_algorithms
        else {
            return Err(ClientError::unsuitable(
                key_name,
                "its policy is not an asymmetric encryption",
            ));
        };
        if info.attributes.key_type != KeyType::RsaKeyPair
            || !info.attributes.policy.usage_flags.decrypt
        {
            return Err(ClientError::unsuitable(
                key_name,
                "decryption needs an RSA key pair allowed to decrypt",
            ));
        }
        let public = PublicKey::new(self.public_key_info(key_name)?)?;
        Ok(DecryptionKey {
            client: self.clone(),
            provider: provider_of(&info)?,
            info,
            alg,
            public,
        })
    }
}
