//! rustls integration (feature `rustls`): [`SigningKey`] is a `rustls::sign::SigningKey`, so a
//! TLS client or server authenticates with a key that never leaves the service.
//!
//! Put it in a `rustls::sign::CertifiedKey` with its certificate chain, and hand that to
//! rustls through a certificate resolver (`rustls::sign::SingleCertAndKey` for one key).
//! rustls calls the signer synchronously during the handshake: each handshake costs one
//! blocking round trip to the service (tens of microseconds for ECDSA, milliseconds for RSA).

use std::sync::Arc;

use rustls::pki_types::SubjectPublicKeyInfoDer;
use rustls::sign::Signer;
use rustls::{SignatureAlgorithm, SignatureScheme as TlsScheme};

use crate::signing::{SignatureScheme, SigningKey};

impl SigningKey {
    /// The TLS signature scheme this key signs with, if TLS has one for it (ECDSA's curve
    /// and hash must match: P-256 with SHA-256, P-384 with SHA-384, P-521 with SHA-512).
    pub fn tls_scheme(&self) -> Option<TlsScheme> {
        use SignatureScheme as S;
        let bits = self.info().attributes.bits;
        Some(match (self.scheme(), bits) {
            (S::EcdsaSha256, 256) => TlsScheme::ECDSA_NISTP256_SHA256,
            (S::EcdsaSha384, 384) => TlsScheme::ECDSA_NISTP384_SHA384,
            (S::EcdsaSha512, 521) => TlsScheme::ECDSA_NISTP521_SHA512,
            (S::RsaPkcs1v15Sha256, _) => TlsScheme::RSA_PKCS1_SHA256,
            (S::RsaPkcs1v15Sha384, _) => TlsScheme::RSA_PKCS1_SHA384,
            (S::RsaPkcs1v15Sha512, _) => TlsScheme::RSA_PKCS1_SHA512,
            (S::RsaPssSha256, _) => TlsScheme::RSA_PSS_SHA256,
            (S::RsaPssSha384, _) => TlsScheme::RSA_PSS_SHA384,
            (S::RsaPssSha512, _) => TlsScheme::RSA_PSS_SHA512,
            _ => return None,
        })
    }
}

impl rustls::sign::SigningKey for SigningKey {
    fn choose_scheme(&self, offered: &[TlsScheme]) -> Option<Box<dyn Signer>> {
        let scheme = self.tls_scheme()?;
        offered.contains(&scheme).then(|| {
            Box::new(TlsSigner {
                key: self.clone(),
                scheme,
            }) as Box<dyn Signer>
        })
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(SubjectPublicKeyInfoDer::from(
            SigningKey::public_key(self).to_der(),
        ))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        if self.scheme().is_ecdsa() {
            SignatureAlgorithm::ECDSA
        } else {
            SignatureAlgorithm::RSA
        }
    }
}

/// One handshake's signer: signs the handshake transcript in the service.
#[derive(Debug)]
struct TlsSigner {
    key: SigningKey,
    scheme: TlsScheme,
}

impl Signer for TlsSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        self.key
            .sign_message(message)
            .map(|signature| signature.as_bytes().to_vec())
            .map_err(|err| rustls::Error::Other(rustls::OtherError(Arc::new(err))))
    }

    fn scheme(&self) -> TlsScheme {
        self.scheme
    }
}
