//! Fuzz target: everything the service and the client do with untrusted bytes before any
//! provider sees them. Header decode and validation, frame reading (request and response),
//! and protobuf body decoding under every opcode; whatever decodes must re-encode to a body
//! that decodes to the same encoding again.
#![no_main]

use std::io::Cursor;

use keyward_protocol::codec::{decode_operation, decode_result, encode_operation, encode_result};
use keyward_protocol::frame::{read_request, read_response, FrameLimits};
use keyward_protocol::header::{WireHeader, HEADER_LEN};
use keyward_protocol::opcode::{Opcode, ALL_OPCODES};
use libfuzzer_sys::fuzz_target;

/// Small limits keep each run fast; the length checks themselves are what matters.
const LIMITS: FrameLimits = FrameLimits {
    max_body_len: 1 << 16,
    max_auth_len: 1 << 10,
};

fuzz_target!(|data: &[u8]| {
    if let Some(bytes) = data.first_chunk::<HEADER_LEN>() {
        if let Ok(header) = WireHeader::decode(bytes) {
            let _ = header.validate_request();
        }
    }

    if let Ok(request) = read_request(&mut Cursor::new(data), &LIMITS) {
        if let Ok(header) = request.header.validate_request() {
            check_body(header.opcode, &request.body);
        }
    }
    if let Ok(response) = read_response(&mut Cursor::new(data), LIMITS.max_body_len) {
        if let Some(opcode) = Opcode::from_u32(response.header.opcode) {
            check_body(opcode, &response.body);
        }
    }

    for &opcode in ALL_OPCODES {
        check_body(opcode, data);
    }
});

/// Decodes `body` as a request and as a result of `opcode`; a decoded value must reach a
/// fixed point after one encode/decode cycle.
fn check_body(opcode: Opcode, body: &[u8]) {
    if let Ok(operation) = decode_operation(opcode, body) {
        let encoded = encode_operation(&operation);
        let again = decode_operation(opcode, &encoded).expect("re-encoded request decodes");
        assert_eq!(encode_operation(&again), encoded, "request encoding is not stable");
    }
    if let Ok(result) = decode_result(opcode, body) {
        let encoded = encode_result(&result);
        let again = decode_result(opcode, &encoded).expect("re-encoded result decodes");
        assert_eq!(encode_result(&again), encoded, "result encoding is not stable");
    }
}
