//! Keyward client library: talk to `keywardd` (or a stock Parsec service) over its Unix socket.
//!
//! Layers, bottom up:
//! - [`endpoint`]: finding the socket; [`transport`]: frames over it, response checks;
//! - [`auth`]: what goes in the auth field; [`client::BasicClient`]: one generic
//!   [`BasicClient::call`] and a typed method per operation;
//! - the convenience API on [`BasicClient`] (`simple.rs`), with [`keys`] (key templates,
//!   public-key PEM, signature formats) and [`csr`] (PKCS#10 requests).
//!
//! ```no_run
//! # fn main() -> Result<(), keyward_client::ClientError> {
//! let client = keyward_client::BasicClient::new()?;
//! client.create_signing_key("my-key")?;
//! let signature = client.sign("my-key", b"hello")?;
//! assert!(client.verify("my-key", b"hello", &signature)?);
//! println!("{}", client.public_key_pem("my-key")?);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod auth;
pub mod client;
pub mod csr;
pub mod endpoint;
pub mod error;
pub mod keys;
mod simple;
pub mod transport;

#[cfg(test)]
mod fake_service;

pub use auth::{Authentication, StaticToken, TokenSource};
pub use client::{BasicClient, ClientBuilder};
pub use csr::{CsrSignatureScheme, CsrSigner, SubjectAltName, SubjectFields};
pub use error::{ClientError, ProtocolError, Result};
pub use keys::EccCurve;
pub use simple::{ecdsa_field_len, signature_algorithm, ServiceSigner};
pub use transport::{ConnectionMode, TransportConfig};

/// The protocol crate, re-exported so users need not depend on it separately.
pub use keyward_protocol as protocol;
