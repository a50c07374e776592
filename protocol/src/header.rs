//! The fixed 36-byte header of wire protocol 1.0 (reference §1.1), little endian.
//!
//! [`WireHeader`] holds raw numbers; enum-valued fields (provider, opcode, auth type, content
//! types) are checked by [`WireHeader::validate_request`] after the whole frame has been read,
//! so the stream stays in step and the connection can be reused after such an error.

use crate::auth::AuthType;
use crate::opcode::Opcode;
use crate::provider_id::ProviderId;
use crate::status::ResponseStatus;

/// Magic number at offset 0 (`10 A7 C0 5E` on the wire).
pub const MAGIC: u32 = 0x5EC0_A710;
/// Header size field: the bytes that follow it.
pub const HEADER_SIZE_FIELD: u16 = 30;
/// Magic (4) + header size (2).
pub const PREFIX_LEN: usize = 6;
/// Total header length on the wire.
pub const HEADER_LEN: usize = PREFIX_LEN + HEADER_SIZE_FIELD as usize;
/// The only wire protocol version: 1.0.
pub const VERSION_MAJOR: u8 = 1;
pub const VERSION_MINOR: u8 = 0;
/// Flags bit set by Keyward clients that understand Keyward's extensions (our opcodes and
/// statuses), and echoed by keywardd in its responses to them. Parsec ignores the flags field,
/// so stock clients and services are unaffected.
pub const FLAG_KEYWARD_EXTENSIONS: u16 = 0x8000;
/// The only body encoding: protobuf.
pub const CONTENT_TYPE_PROTOBUF: u8 = 0;

/// A header as numbers, exactly as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WireHeader {
    pub flags: u16,
    pub provider: u8,
    pub session: u64,
    pub content_type: u8,
    pub accept_type: u8,
    pub auth_type: u8,
    pub body_len: u32,
    pub auth_len: u16,
    pub opcode: u32,
    pub status: u16,
}

/// A request header whose enum fields were checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHeader {
    pub provider: ProviderId,
    pub session: u64,
    pub auth_type: AuthType,
    pub opcode: Opcode,
    /// The client set [`FLAG_KEYWARD_EXTENSIONS`].
    pub extensions: bool,
}

impl WireHeader {
    /// Checks magic and header size, the only fields read before anything else.
    pub fn check_prefix(prefix: &[u8; PREFIX_LEN]) -> Result<(), ResponseStatus> {
        let magic = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        let size = u16::from_le_bytes([prefix[4], prefix[5]]);
        if magic != MAGIC || size != HEADER_SIZE_FIELD {
            return Err(ResponseStatus::InvalidHeader);
        }
        Ok(())
    }

    /// Decodes a full header, checking magic, size, version and reserved bytes.
    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Result<WireHeader, ResponseStatus> {
        let mut prefix = [0u8; PREFIX_LEN];
        prefix.copy_from_slice(&bytes[..PREFIX_LEN]);
        Self::check_prefix(&prefix)?;
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        if bytes[34] != 0 || bytes[35] != 0 {
            return Err(ResponseStatus::InvalidHeader);
        }
        if bytes[6] != VERSION_MAJOR || bytes[7] != VERSION_MINOR {
            return Err(ResponseStatus::WireProtocolVersionNotSupported);
        }
        let mut session = [0u8; 8];
        session.copy_from_slice(&bytes[11..19]);
        Ok(WireHeader {
            flags: u16_at(8),
            provider: bytes[10],
            session: u64::from_le_bytes(session),
            content_type: bytes[19],
            accept_type: bytes[20],
            auth_type: bytes[21],
            body_len: u32_at(22),
            auth_len: u16_at(26),
            opcode: u32_at(28),
            status: u16_at(32),
        })
    }

    /// Encodes the header into its 36 wire bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        out[4..6].copy_from_slice(&HEADER_SIZE_FIELD.to_le_bytes());
        out[6] = VERSION_MAJOR;
        out[7] = VERSION_MINOR;
        out[8..10].copy_from_slice(&self.flags.to_le_bytes());
        out[10] = self.provider;
        out[11..19].copy_from_slice(&self.session.to_le_bytes());
        out[19] = self.content_type;
        out[20] = self.accept_type;
        out[21] = self.auth_type;
        out[22..26].copy_from_slice(&self.body_len.to_le_bytes());
        out[26..28].copy_from_slice(&self.auth_len.to_le_bytes());
        out[28..32].copy_from_slice(&self.opcode.to_le_bytes());
        out[32..34].copy_from_slice(&self.status.to_le_bytes());
        out
    }

    /// Checks the enum-valued fields of a request header in Parsec's order (reference §1.5).
    pub fn validate_request(&self) -> Result<RequestHeader, ResponseStatus> {
        let provider =
            ProviderId::from_u8(self.provider).ok_or(ResponseStatus::ProviderDoesNotExist)?;
        if self.content_type != CONTENT_TYPE_PROTOBUF {
            return Err(ResponseStatus::ContentTypeNotSupported);
        }
        if self.accept_type != CONTENT_TYPE_PROTOBUF {
            return Err(ResponseStatus::AcceptTypeNotSupported);
        }
        let extensions = self.flags & FLAG_KEYWARD_EXTENSIONS != 0;
        let auth_type = AuthType::from_u8(self.auth_type)
            // As for opcodes: a stock request cannot name our auth type.
            .filter(|auth| extensions || auth.is_parsec_standard())
            .ok_or(ResponseStatus::AuthenticatorDoesNotExist)?;
        let opcode = Opcode::from_u32(self.opcode)
            // A stock client cannot name our opcodes: to it they do not exist.
            .filter(|op| extensions || op.is_parsec_standard())
            .ok_or(ResponseStatus::OpcodeDoesNotExist)?;
        Ok(RequestHeader {
            provider,
            session: self.session,
            auth_type,
            opcode,
            extensions,
        })
    }

    /// The header of a response to `request` carrying `status` and a body of `body_len` bytes.
    pub fn response_to(request: &RequestHeader, status: ResponseStatus, body_len: u32) -> Self {
        let status = if request.extensions {
            status
        } else {
            status.for_stock_client()
        };
        WireHeader {
            flags: if request.extensions {
                FLAG_KEYWARD_EXTENSIONS
            } else {
                0
            },
            provider: request.provider as u8,
            session: request.session,
            body_len,
            opcode: request.opcode as u32,
            status: status as u16,
            ..WireHeader::default()
        }
    }

    /// Parsec's reply when a request could not be read or its header was invalid: provider 0,
    /// session 0, opcode Ping, empty body (reference §1.5).
    pub fn response_from_status(status: ResponseStatus) -> Self {
        WireHeader {
            opcode: Opcode::Ping as u32,
            status: status.for_stock_client() as u16,
            ..WireHeader::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn header_of(frame: &str) -> WireHeader {
        let bytes = hex(frame);
        let mut h = [0u8; HEADER_LEN];
        h.copy_from_slice(&bytes[..HEADER_LEN]);
        WireHeader::decode(&h).expect("valid header")
    }

    #[test]
    fn decodes_real_parsec_tool_requests() {
        // parsec-tool create-ecc-key request (reference parsec-frames.txt).
        let h = header_of("10a7c05e1e00010000000100000000000000000000032a000000040002000000000000000a077665632d656363");
        assert_eq!(h.provider, 1);
        assert_eq!(h.auth_type, 3);
        assert_eq!(h.body_len, 0x2a);
        assert_eq!(h.auth_len, 4);
        assert_eq!(h.opcode, 2);
        let req = h.validate_request().expect("valid");
        assert_eq!(req.opcode, Opcode::PsaGenerateKey);
        assert_eq!(req.auth_type, AuthType::UnixPeerCredentials);
        assert!(!req.extensions);
    }

    #[test]
    fn encodes_byte_identical_ping_response() {
        let expected =
            hex("10a7c05e1e000100000000000000000000000000000002000000000001000000000000000801");
        let request =
            header_of("10a7c05e1e00010000000000000000000000000000000000000000000100000000000000")
                .validate_request()
                .expect("valid");
        let response = WireHeader::response_to(&request, ResponseStatus::Success, 2);
        assert_eq!(&response.encode()[..], &expected[..HEADER_LEN]);
    }

    #[test]
    fn header_errors_table() {
        let good = hex("10a7c05e1e00010000000000000000000000000000000000000000000100000000000000");
        let cases: &[(usize, u8, ResponseStatus)] = &[
            (0, 0x11, ResponseStatus::InvalidHeader),
            (4, 0x1f, ResponseStatus::InvalidHeader),
            (6, 2, ResponseStatus::WireProtocolVersionNotSupported),
            (7, 1, ResponseStatus::WireProtocolVersionNotSupported),
            (34, 1, ResponseStatus::InvalidHeader),
            (35, 1, ResponseStatus::InvalidHeader),
        ];
        for (offset, value, status) in cases {
            let mut bytes = [0u8; HEADER_LEN];
            bytes.copy_from_slice(&good);
            bytes[*offset] = *value;
            assert_eq!(WireHeader::decode(&bytes), Err(*status), "offset {offset}");
        }
        let validate_cases: &[(usize, u8, ResponseStatus)] = &[
            (10, 6, ResponseStatus::ProviderDoesNotExist),
            (19, 1, ResponseStatus::ContentTypeNotSupported),
            (20, 1, ResponseStatus::AcceptTypeNotSupported),
            (21, 5, ResponseStatus::AuthenticatorDoesNotExist),
            (28, 0x1d, ResponseStatus::OpcodeDoesNotExist),
            (28, 0x16, ResponseStatus::OpcodeDoesNotExist),
        ];
        for (offset, value, status) in validate_cases {
            let mut bytes = [0u8; HEADER_LEN];
            bytes.copy_from_slice(&good);
            bytes[*offset] = *value;
            let header = WireHeader::decode(&bytes).expect("decodes");
            assert_eq!(header.validate_request(), Err(*status), "offset {offset}");
        }
    }

    #[test]
    fn extension_opcodes_need_the_flag() {
        let mut header = WireHeader {
            opcode: Opcode::PsaMacCompute as u32,
            ..WireHeader::default()
        };
        assert_eq!(
            header.validate_request(),
            Err(ResponseStatus::OpcodeDoesNotExist)
        );
        header.flags = FLAG_KEYWARD_EXTENSIONS;
        let req = header.validate_request().expect("extension-aware");
        assert_eq!(req.opcode, Opcode::PsaMacCompute);
        let resp = WireHeader::response_to(&req, ResponseStatus::LimitExceeded, 0);
        assert_eq!(resp.status, ResponseStatus::LimitExceeded as u16);
        assert_eq!(resp.flags, FLAG_KEYWARD_EXTENSIONS);
    }

    #[test]
    fn stock_responses_never_carry_extension_status() {
        // Opcode 0 does not exist, so the request needs a real one to validate.
        let header = WireHeader {
            opcode: Opcode::Ping as u32,
            ..WireHeader::default()
        };
        let req = header.validate_request().expect("valid");
        let resp = WireHeader::response_to(&req, ResponseStatus::RootAlreadyShared, 0);
        assert_eq!(resp.status, ResponseStatus::PsaErrorAlreadyExists as u16);
        assert_eq!(resp.flags, 0);
    }

    #[test]
    fn encode_decode_round_trip() {
        let h = WireHeader {
            flags: 0x8001,
            provider: 3,
            session: 0x0102_0304_0506_0708,
            content_type: 0,
            accept_type: 0,
            auth_type: 4,
            body_len: 0xdead_beef,
            auth_len: 0xffff,
            opcode: 0x4b05,
            status: 1149,
        };
        assert_eq!(WireHeader::decode(&h.encode()), Ok(h));
    }
}
