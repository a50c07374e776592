//! Software MACs: HMAC-SHA-256/384/512 with HMAC keys and AES-CMAC with AES keys, full length
//! or truncated (at least 4 bytes). Verification compares in constant time.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::{cmac, hmac};
use keyward_protocol::psa::{FullLengthMac, Hash, KeyAttributes, KeyType, Mac};

use crate::cache::{Parsed, Purpose};
use crate::capabilities::MIN_TRUNCATED_MAC;
use crate::SoftwareProvider;
use keyward_providers::policy::full_mac_length;
use keyward_providers::{KeyRef, MacOps, ProviderError};

impl MacOps for SoftwareProvider {
    fn mac_compute(
        &self,
        key: KeyRef<'_>,
        alg: Mac,
        input: &[u8],
    ) -> Result<Vec<u8>, ProviderError> {
        let (full, len) = self.full_mac(key, alg, input)?;
        Ok(full[..len].to_vec())
    }

    fn mac_verify(
        &self,
        key: KeyRef<'_>,
        alg: Mac,
        input: &[u8],
        mac: &[u8],
    ) -> Result<(), ProviderError> {
        let (full, len) = self.full_mac(key, alg, input)?;
        verify_slices_are_equal(&full[..len], mac).map_err(|_| ProviderError::InvalidSignature)
    }
}

impl SoftwareProvider {
    /// The full-length MAC of `input` and the length to output (truncation).
    fn full_mac(
        &self,
        key: KeyRef<'_>,
        alg: Mac,
        input: &[u8],
    ) -> Result<(Vec<u8>, usize), ProviderError> {
        let (base, out_len) = resolve(key.attributes, alg)?;
        let full = match base {
            FullLengthMac::Hmac { hash_alg } => {
                let algorithm = hmac_algorithm(hash_alg)?;
                let parsed = self.parsed(key, Purpose::Hmac(hash_alg), |bytes| {
                    Ok(Parsed::Hmac(Box::new(hmac::Key::new(algorithm, bytes))))
                })?;
                let Parsed::Hmac(k) = &*parsed else {
                    return Err(ProviderError::generic("cache entry of the wrong kind"));
                };
                hmac::sign(k, input).as_ref().to_vec()
            }
            FullLengthMac::Cmac => {
                let algorithm = match key.attributes.bits {
                    128 => cmac::AES_128,
                    192 => cmac::AES_192,
                    256 => cmac::AES_256,
                    bits => return Err(ProviderError::invalid(format!("{bits} bit AES key"))),
                };
                let parsed = self.parsed(key, Purpose::Cmac, |bytes| {
                    cmac::Key::new(algorithm, bytes)
                        .map(Parsed::Cmac)
                        .map_err(|_| ProviderError::CorruptionDetected)
                })?;
                let Parsed::Cmac(k) = &*parsed else {
                    return Err(ProviderError::generic("cache entry of the wrong kind"));
                };
                cmac::sign(k, input)
                    .map_err(|_| ProviderError::generic("CMAC failed"))?
                    .as_ref()
                    .to_vec()
            }
            FullLengthMac::CbcMac => return Err(ProviderError::not_supported("CBC-MAC")),
        };
        Ok((full, out_len))
    }
}

/// The base MAC and output length, checked against the key type.
fn resolve(attributes: &KeyAttributes, alg: Mac) -> Result<(FullLengthMac, usize), ProviderError> {
    let (base, requested) = match alg {
        Mac::FullLength(m) => (m, None),
        Mac::Truncated {
            mac_alg,
            mac_length,
        } => (mac_alg, Some(mac_length)),
    };
    let key_ok = match base {
        FullLengthMac::Hmac { .. } => attributes.key_type == KeyType::Hmac,
        FullLengthMac::Cmac | FullLengthMac::CbcMac => attributes.key_type == KeyType::Aes,
    };
    if !key_ok {
        return Err(ProviderError::invalid(format!(
            "{base:?} cannot be used with a {:?} key",
            attributes.key_type
        )));
    }
    let full = full_mac_length(base, attributes.key_type)
        .ok_or_else(|| ProviderError::invalid("MAC length unknown for this key"))?;
    let len = match requested {
        None => full,
        Some(len) if (MIN_TRUNCATED_MAC..=full).contains(&len) => len,
        Some(len) => {
            return Err(ProviderError::invalid(format!(
                "a MAC truncated to {len} bytes (allowed: {MIN_TRUNCATED_MAC} to {full})"
            )))
        }
    };
    let len = usize::try_from(len).map_err(|_| ProviderError::invalid("MAC length"))?;
    Ok((base, len))
}

fn hmac_algorithm(hash: Hash) -> Result<hmac::Algorithm, ProviderError> {
    match hash {
        Hash::Sha256 => Ok(hmac::HMAC_SHA256),
        Hash::Sha384 => Ok(hmac::HMAC_SHA384),
        Hash::Sha512 => Ok(hmac::HMAC_SHA512),
        other => Err(ProviderError::not_supported(format!("HMAC with {other:?}"))),
    }
}
