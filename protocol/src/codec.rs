//! Protobuf encoding and decoding of operation bodies (Parsec's contracts, our own .proto files).

use crate::opcode::Opcode;
use crate::ops::{Operation, OperationResult};
use crate::status::ResponseStatus;

/// Why a body could not be decoded or encoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("protobuf body does not decode: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("field {field} holds a value this protocol does not define")]
    InvalidValue { field: &'static str },
    #[error("required field {field} is missing")]
    MissingField { field: &'static str },
    #[error("opcode {0:?} has no body of this kind")]
    NoBody(Opcode),
}

impl CodecError {
    /// The wire status for a body that failed to decode (Parsec: 7 or 16).
    pub fn status(&self) -> ResponseStatus {
        match self {
            CodecError::Decode(_) | CodecError::MissingField { .. } => {
                ResponseStatus::DeserializingBodyFailed
            }
            CodecError::InvalidValue { .. } => ResponseStatus::InvalidEncoding,
            CodecError::NoBody(_) => ResponseStatus::OpcodeDoesNotExist,
        }
    }
}

/// Service side: decodes a request body for `opcode`.
pub fn decode_operation(opcode: Opcode, body: &[u8]) -> Result<Operation, CodecError> {
    let _ = (opcode, body);
    todo!("protocol helper")
}

/// Service side: encodes a result into a response body.
pub fn encode_result(result: &OperationResult) -> Vec<u8> {
    let _ = result;
    todo!("protocol helper")
}

/// Client side: encodes a request body.
pub fn encode_operation(operation: &Operation) -> Vec<u8> {
    let _ = operation;
    todo!("protocol helper")
}

/// Client side: decodes a response body for `opcode`.
pub fn decode_result(opcode: Opcode, body: &[u8]) -> Result<OperationResult, CodecError> {
    let _ = (opcode, body);
    todo!("protocol helper")
}
