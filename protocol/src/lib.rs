//! The Parsec wire protocol 1.0, byte for byte, plus Keyward's negotiated extensions.
//!
//! This crate has no sockets of its own: it encodes and decodes headers and frames over any
//! reader or writer, and turns protobuf bodies into typed [`ops::Operation`] and
//! [`ops::OperationResult`] values. It is the only crate that knows protobuf.
#![forbid(unsafe_code)]

pub mod auth;
pub mod codec;
pub mod frame;
pub mod header;
pub mod opcode;
pub mod ops;
pub mod paths;
pub mod provider_id;
pub mod psa;
pub mod status;

pub use auth::AuthType;
pub use frame::{FrameError, FrameLimits, RawRequest, RawResponse};
pub use header::{RequestHeader, WireHeader};
pub use opcode::Opcode;
pub use ops::{Operation, OperationResult, Secret};
pub use provider_id::ProviderId;
pub use status::ResponseStatus;
