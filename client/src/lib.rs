//! Keyward client library: use keys held by `keywardd` (or a stock Parsec service) from an
//! application, over the service's Unix socket. The private keys never leave the service.
//!
//! # The convenience API
//!
//! [`BasicClient::new`] finds the service, picks the authenticator and provider, and is
//! ready. Keys are named; each call uses the key's own algorithm:
//!
//! ```no_run
//! # fn main() -> Result<(), keyward_client::ClientError> {
//! let client = keyward_client::BasicClient::new()?;
//! client.create_signing_key("my-key")?; // ECDSA P-256, SHA-256
//! let signature = client.sign("my-key", b"hello")?;
//! assert!(client.verify("my-key", b"hello", &signature)?);
//! println!("{}", client.public_key_pem("my-key")?);
//!
//! client.create_aes_key("secrets", 256)?; // AES-256-GCM
//! let sealed = client.encrypt_with_aad("secrets", b"payload", b"record 7")?;
//! assert_eq!(&client.decrypt_with_aad("secrets", &sealed, b"record 7")?[..], b"payload");
//! # Ok(()) }
//! ```
//!
//! Key templates are in [`keys`] (`create_*` use them; [`BasicClient::generate_key`] takes any
//! [`protocol::psa::KeyAttributes`]). Every PSA operation also has a typed method
//! ([`BasicClient::sign_hash`], [`BasicClient::aead_encrypt`], …) and [`BasicClient::call`]
//! sends any [`protocol::Operation`].
//!
//! # Key handles and the Rust crypto ecosystem
//!
//! [`BasicClient::signing_key`], [`BasicClient::aead_key`] and
//! [`BasicClient::decryption_key`] return owned handles ([`SigningKey`], [`AeadKey`],
//! [`DecryptionKey`]): `'static`, `Clone`, `Send + Sync`, holding the client (itself an
//! `Arc`, cheap to clone). They check the key's type and policy once, locally.
//! [`SigningKey`] implements `signature::Signer`, `signature::hazmat::PrehashSigner`,
//! `signature::Keypair` and `spki::DynSignatureAlgorithmIdentifier` for ECDSA P-256/P-384
//! and RSA PKCS#1 v1.5 and PSS keys, so `x509-cert` builders and other RustCrypto users take
//! it unchanged ([`csr`] builds PKCS#10 requests that way). With the `rustls` feature it is
//! a `rustls::sign::SigningKey` (mTLS with a key that never leaves keywardd); with the
//! `rcgen` feature, `RcgenKey` issues certificates with a keywardd-held CA key. TLS 1.3
//! refuses RSA PKCS#1 v1.5 signatures: make RSA keys for TLS with
//! [`BasicClient::create_rsa_pss_signing_key`].
//!
//! # Blocking and async
//!
//! [`BasicClient`] is blocking (std sockets): one call is one round trip of some tens of
//! microseconds, plus the operation (RSA signatures take milliseconds). In an async service
//! use `AsyncClient` (feature `tokio`, built with `ClientBuilder::build_async`), which
//! waits on tokio's sockets and never blocks a runtime thread; or move blocking calls off
//! the runtime with `tokio::task::spawn_blocking`. Both keep connections open and reuse
//! them, at most [`ClientBuilder::max_connections`] at once (default 16) per client and its
//! clones: callers beyond that wait for a free connection.
//!
//! # Finding the service
//!
//! [`endpoint::discover`] takes, in order: `KEYWARD_ENDPOINT` (`unix:/path` or an absolute
//! path), Parsec's `PARSEC_SERVICE_ENDPOINT`, then the first existing socket of
//! `/run/keyward/keyward.sock` and the per-user `$XDG_RUNTIME_DIR/keyward/keyward.sock`.
//! [`ClientBuilder::endpoint`] overrides all of them.
//!
//! # Authentication
//!
//! Unless [`ClientBuilder::auth`] says otherwise, the client asks the service which
//! authenticators it enables and picks the best it can use: Unix peer credentials (nothing to
//! configure, cannot be replayed), then a JWT-SVID ([`ClientBuilder::jwt_svid`]) or JWT from a
//! [`TokenSource`] ([`ClientBuilder::token_source`]), then Direct authentication only if an
//! application name was given ([`ClientBuilder::app_name`]).
//!
//! # Errors
//!
//! [`ClientError::Service`] is the service's answer (see [`ClientError::status`]); a
//! missing key is always [`ClientError::KeyNotFound`], a key of the wrong kind
//! [`ClientError::UnsuitableKey`] (refused locally); everything else is the client's own
//! finding, with the underlying error as its `source()`. Verification methods answer
//! `Ok(false)` for a bad signature or MAC and keep errors for everything else.
//!
//! # The key cache
//!
//! The convenience API looks keys up with ListKeys and caches their descriptions per client
//! (and its clones). If another process destroys or replaces a key, the next call that the
//! service refuses in a way a stale description explains looks the key up again and retries
//! once. Local refusals (a key of the wrong kind) rely on the cached description and cost no
//! round trip; [`BasicClient::list_keys`] refreshes the cache.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod auth;
pub mod client;
pub mod csr;
pub mod endpoint;
pub mod error;
mod handles;
pub mod keys;
mod request;
mod signing;
mod simple;
pub mod transport;

#[cfg(feature = "tokio")]
mod async_client;
#[cfg(feature = "tokio")]
mod async_transport;
#[cfg(feature = "rcgen")]
mod rcgen_key;
#[cfg(feature = "rustls")]
mod tls;

#[cfg(test)]
mod fake_service;

pub use auth::{Authentication, StaticToken, TokenSource};
pub use client::{BasicClient, ClientBuilder};
pub use csr::{SubjectAltName, SubjectFields};
pub use error::{ClientError, ProtocolError, Result};
pub use handles::{AeadKey, DecryptionKey};
pub use keys::EccCurve;
pub use signing::{PublicKey, Signature, SignatureScheme, SigningKey};
pub use simple::{ecdsa_field_len, signature_algorithm};
pub use transport::{ConnectionMode, TransportConfig};

#[cfg(feature = "tokio")]
pub use async_client::AsyncClient;
#[cfg(feature = "rcgen")]
pub use rcgen_key::RcgenKey;

/// Re-exported: the DER types the API returns.
pub use der;
/// The protocol crate, re-exported so users need not depend on it separately.
pub use keyward_protocol as protocol;
#[cfg(feature = "rcgen")]
/// Re-exported (feature `rcgen`): the certificate generator `RcgenKey` plugs into.
pub use rcgen;
#[cfg(feature = "rustls")]
/// Re-exported (feature `rustls`): the TLS library [`SigningKey`] plugs into.
pub use rustls;
/// Re-exported: the RustCrypto signature traits [`SigningKey`] implements.
pub use signature;
/// Re-exported: `SubjectPublicKeyInfo` and the algorithm-identifier traits.
pub use spki;
/// Re-exported: the certificate and CSR types [`csr`] builds.
pub use x509_cert;
