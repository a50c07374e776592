//! Turning an operation into request bytes and a response back into a result, without I/O:
//! the blocking and the async client share it, so both frame and check exactly alike.

use keyward_protocol::codec;
use keyward_protocol::header::{CONTENT_TYPE_PROTOBUF, FLAG_KEYWARD_EXTENSIONS};
use keyward_protocol::{
    Opcode, Operation, OperationResult, ProviderId, RawResponse, ResponseStatus, WireHeader,
};
use zeroize::Zeroizing;

use crate::auth::Authentication;
use crate::error::{ClientError, ProtocolError, Result};
use crate::transport::check_response;

/// One request, ready to send. Body and auth field may hold secrets: both are zeroized.
pub(crate) struct Request {
    pub header: WireHeader,
    pub body: Zeroizing<Vec<u8>>,
    pub auth: Zeroizing<Vec<u8>>,
}

/// Encodes `operation` for `provider` with `auth` (Ping always without, as in Parsec).
pub(crate) fn encode(
    provider: ProviderId,
    auth: &Authentication,
    operation: &Operation,
    stock_mode: bool,
) -> Result<Request> {
    let opcode = operation.opcode();
    let auth = if opcode == Opcode::Ping {
        &Authentication::None
    } else {
        auth
    };
    let body = Zeroizing::new(codec::encode_operation(operation));
    let auth_field = auth.auth_field()?;
    let header = WireHeader {
        flags: if stock_mode {
            0
        } else {
            FLAG_KEYWARD_EXTENSIONS
        },
        provider: provider as u8,
        session: 0,
        content_type: CONTENT_TYPE_PROTOBUF,
        accept_type: CONTENT_TYPE_PROTOBUF,
        auth_type: auth.auth_type() as u8,
        body_len: u32::try_from(body.len())
            .map_err(|_| ClientError::RequestTooLarge("body over 4 GiB"))?,
        auth_len: u16::try_from(auth_field.len())
            .map_err(|_| ClientError::RequestTooLarge("auth field over 64 KiB"))?,
        opcode: opcode as u32,
        status: 0,
    };
    Ok(Request {
        header,
        body,
        auth: auth_field,
    })
}

/// Checks the response against its request and decodes the result.
pub(crate) fn decode(
    request: &WireHeader,
    response: RawResponse,
    stock_mode: bool,
) -> Result<OperationResult> {
    // The body may carry a plaintext or key material.
    let body = Zeroizing::new(response.body);
    let status = check_response(request, &response.header, stock_mode)?;
    // check_response refuses unknown request opcodes, so this lookup cannot fail here.
    let opcode = Opcode::from_u32(request.opcode).ok_or(ProtocolError::OpcodeMismatch {
        expected: Opcode::Ping,
        got: request.opcode,
    })?;
    if status != ResponseStatus::Success {
        return Err(ClientError::Service { status, opcode });
    }
    Ok(codec::decode_result(opcode, &body).map_err(ProtocolError::Body)?)
}

/// The error for a result of the wrong kind (the codec decodes by opcode, so this means a
/// codec bug, but it must not panic).
pub(crate) fn unexpected(opcode: Opcode) -> ClientError {
    ProtocolError::UnexpectedResult(opcode).into()
}

/// Unwraps the one result variant an operation may produce.
macro_rules! expect_result {
    ($result:expr, $opcode:expr, $pattern:pat => $value:expr) => {
        match $result {
            $pattern => Ok($value),
            _ => Err($crate::request::unexpected($opcode)),
        }
    };
}
pub(crate) use expect_result;

/// A service "does not exist" for an operation on a named key becomes
/// [`ClientError::KeyNotFound`], the same shape the client's own lookup gives.
pub(crate) fn key_not_found(key_name: &str, err: ClientError) -> ClientError {
    match err {
        ClientError::Service {
            status: ResponseStatus::PsaErrorDoesNotExist,
            ..
        } => ClientError::KeyNotFound(key_name.to_owned()),
        other => other,
    }
}

/// The key an operation names, if any (for [`key_not_found`]).
pub(crate) fn key_name(operation: &Operation) -> Option<&str> {
    Some(match operation {
        Operation::GenerateKey { .. } | Operation::ImportKey { .. } => return None,
        Operation::DestroyKey { key_name }
        | Operation::ExportPublicKey { key_name }
        | Operation::ExportKey { key_name }
        | Operation::SignHash { key_name, .. }
        | Operation::VerifyHash { key_name, .. }
        | Operation::SignMessage { key_name, .. }
        | Operation::VerifyMessage { key_name, .. }
        | Operation::AsymmetricEncrypt { key_name, .. }
        | Operation::AsymmetricDecrypt { key_name, .. }
        | Operation::AeadEncrypt { key_name, .. }
        | Operation::AeadDecrypt { key_name, .. }
        | Operation::CipherEncrypt { key_name, .. }
        | Operation::CipherDecrypt { key_name, .. }
        | Operation::MacCompute { key_name, .. }
        | Operation::MacVerify { key_name, .. } => key_name,
        Operation::RawKeyAgreement {
            private_key_name, ..
        } => private_key_name,
        _ => return None,
    })
}

/// The client's answer for a failed verification: a bad signature (or MAC, or hash) is
/// `Ok(false)`, everything else stays an error. Every verify-like method uses this.
pub(crate) fn verified(result: Result<()>) -> Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(ClientError::Service {
            status: ResponseStatus::PsaErrorInvalidSignature,
            ..
        }) => Ok(false),
        Err(err) => Err(err),
    }
}
