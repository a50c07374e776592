//! Raw frames on the socket: broken headers, lying lengths, unknown values, bad bodies and bad
//! credentials each get Parsec's status (or a close), and after every case the daemon still
//! answers and earlier keys still work. Also pipelined requests and one-request connections.
// Test code: a panic with its location is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use keyward_client::protocol::frame::{encode_frame, read_response};
use keyward_client::protocol::header::WireHeader;
use keyward_client::protocol::ops::{KeyInfo, Operation};
use keyward_client::protocol::{Opcode, ProviderId, RawResponse, ResponseStatus};
use keyward_client::{Authentication, BasicClient, ConnectionMode};
use keyward_e2e_tests::{
    operation_frame, peer_auth, ping_frame, raw_ping, read_to_close, request_header, Daemon,
    DaemonOptions, Limits, PEER_AUTH,
};

const READ_TIMEOUT_MS: u64 = 1000;

fn daemon() -> Daemon {
    Daemon::start_with(DaemonOptions {
        limits: Some(Limits {
            read_timeout_ms: READ_TIMEOUT_MS,
            ..Limits::default()
        }),
        ..DaemonOptions::default()
    })
}

fn connect(daemon: &Daemon) -> UnixStream {
    let stream = UnixStream::connect(&daemon.socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

fn read_one(stream: &mut UnixStream) -> RawResponse {
    read_response(stream, 1 << 24).expect("a response frame")
}

/// The daemon answers pings and `key` still signs and verifies.
#[track_caller]
fn assert_healthy(daemon: &Daemon, client: &BasicClient, key: &str, case: &str) {
    raw_ping(&daemon.socket).unwrap_or_else(|err| panic!("no ping after {case}: {err}"));
    let signature = client
        .sign(key, case.as_bytes())
        .unwrap_or_else(|err| panic!("key unusable after {case}: {err}"));
    assert!(client.verify(key, case.as_bytes(), &signature).unwrap());
}

fn header_bytes(header: &WireHeader) -> [u8; 36] {
    header.encode()
}

/// Frames whose header cannot be trusted: answered with Parsec's "from status" reply
/// (provider 0, opcode Ping, empty body), then the connection is closed.
#[test]
fn broken_headers_get_a_status_and_a_close() {
    let daemon = daemon();
    let client = daemon.client();
    client.create_signing_key("survivor").unwrap();
    let ping = ping_frame();

    let mut bad_magic = ping.clone();
    bad_magic[0] = 0x11;
    let mut size_29 = ping.clone();
    size_29[4] = 29;
    let mut size_31 = ping.clone();
    size_31[4] = 31;
    let mut version_2 = ping.clone();
    version_2[6] = 2;
    let mut version_1_1 = ping.clone();
    version_1_1[7] = 1;
    let mut reserved = ping.clone();
    reserved[35] = 1;
    let cases: [(&str, Vec<u8>, ResponseStatus); 6] = [
        ("bad magic", bad_magic, ResponseStatus::InvalidHeader),
        ("header size 29", size_29, ResponseStatus::InvalidHeader),
        ("header size 31", size_31, ResponseStatus::InvalidHeader),
        (
            "version 2.0",
            version_2,
            ResponseStatus::WireProtocolVersionNotSupported,
        ),
        (
            "version 1.1",
            version_1_1,
            ResponseStatus::WireProtocolVersionNotSupported,
        ),
        (
            "reserved bytes set",
            reserved,
            ResponseStatus::InvalidHeader,
        ),
    ];
    for (case, frame, status) in cases {
        let mut stream = connect(&daemon);
        stream.write_all(&frame).unwrap();
        let response = read_one(&mut stream);
        assert_eq!(response.header.status, status as u16, "{case}");
        assert_eq!(response.header.opcode, Opcode::Ping as u32, "{case}");
        assert_eq!(response.header.provider, 0, "{case}");
        assert!(response.body.is_empty(), "{case}");
        assert!(
            read_to_close(&mut stream).unwrap().is_empty(),
            "{case}: the connection must be closed after the reply"
        );
        assert_healthy(&daemon, &client, "survivor", case);
    }
}

#[test]
fn oversized_lengths_are_refused_before_the_body_is_read() {
    let daemon = daemon();
    let client = daemon.client();
    client.create_signing_key("survivor").unwrap();
    for (case, body_len, auth_len) in [
        ("body over max_body_len", (1usize << 20) + 1, 0usize),
        ("body of 4 GiB", u32::MAX as usize, 0),
        ("auth over max_auth_len", 10, 16385),
    ] {
        let header = request_header(
            ProviderId::Software as u8,
            Opcode::PsaGenerateKey as u32,
            PEER_AUTH,
            body_len,
            auth_len,
        );
        let mut stream = connect(&daemon);
        let started = Instant::now();
        // Only the header: the daemon must answer without waiting for the announced bytes.
        stream.write_all(&header_bytes(&header)).unwrap();
        let response = read_one(&mut stream);
        let elapsed = started.elapsed();
        assert_eq!(
            response.header.status,
            ResponseStatus::BodySizeExceedsLimit as u16,
            "{case}"
        );
        assert!(
            elapsed < Duration::from_millis(READ_TIMEOUT_MS / 2),
            "{case}: answered after {elapsed:?}, as if it waited for the body"
        );
        assert!(read_to_close(&mut stream).unwrap().is_empty(), "{case}");
        assert_healthy(&daemon, &client, "survivor", case);
    }
}

#[test]
fn stalled_requests_are_cut_off_after_the_read_timeout() {
    let daemon = daemon();
    let client = daemon.client();
    client.create_signing_key("survivor").unwrap();
    let lying = {
        let header = request_header(ProviderId::Core as u8, Opcode::Ping as u32, 0, 1000, 0);
        let mut bytes = header_bytes(&header).to_vec();
        bytes.extend_from_slice(&[0u8; 10]);
        bytes
    };
    let half_header = ping_frame()[..20].to_vec();
    for (case, bytes) in [
        ("declares 1000 body bytes, sends 10", lying),
        ("half a header", half_header),
    ] {
        let mut stream = connect(&daemon);
        stream.write_all(&bytes).unwrap();
        let started = Instant::now();
        // Like Parsec: a ConnectionError (15) answer in Parsec's "from status" form, then the
        // close. (The exact time-out is tested in-process with paused time, in keyward-server.)
        let answer = read_response(&mut stream, 1 << 20).expect("an answer before the close");
        let elapsed = started.elapsed();
        assert_eq!(
            answer.header.status,
            ResponseStatus::ConnectionError as u16,
            "{case}"
        );
        assert_eq!(answer.header.opcode, Opcode::Ping as u32, "{case}");
        let rest = read_to_close(&mut stream).unwrap();
        assert!(
            rest.is_empty(),
            "{case}: nothing after the answer, got {rest:?}"
        );
        assert!(
            elapsed >= Duration::from_millis(READ_TIMEOUT_MS * 8 / 10),
            "{case}: closed after {elapsed:?}, before the read time-out"
        );
        assert!(
            elapsed < Duration::from_millis(READ_TIMEOUT_MS * 5),
            "{case}: still open after {elapsed:?}"
        );
        assert_healthy(&daemon, &client, "survivor", case);
    }
    assert!(
        daemon.log().contains("read_timeout_ms"),
        "the cut-off is logged:\n{}",
        daemon.log()
    );
}

fn frame(provider: u8, opcode: u32, auth_type: u8, body: &[u8], auth: &[u8]) -> Vec<u8> {
    let header = request_header(provider, opcode, auth_type, body.len(), auth.len());
    encode_frame(&header, body, auth)
}

/// Requests whose frame is intact but whose content is wrong: a status, and the connection
/// stays in step (a ping on the same connection is answered afterwards).
#[test]
fn bad_values_get_parsec_statuses_and_keep_the_connection_usable() {
    let daemon = daemon();
    let client = daemon.client();
    client.create_signing_key("survivor").unwrap();
    let uid = nix::unistd::getuid().as_raw();
    let list_keys_body = keyward_client::protocol::codec::encode_operation(&Operation::ListKeys);
    let generate = keyward_client::protocol::codec::encode_operation(&Operation::GenerateKey {
        key_name: "new".into(),
        attributes: keyward_client::keys::ecc_signing_key(keyward_client::EccCurve::P256),
    });
    let sw = ProviderId::Software as u8;
    let gen = Opcode::PsaGenerateKey as u32;
    // (case, frame, accepted statuses, whether the reply echoes the request's opcode)
    let cases: Vec<(&str, Vec<u8>, Vec<ResponseStatus>, bool)> = vec![
        (
            "unknown opcode",
            frame(0, 0x99, 0, &[], &[]),
            vec![ResponseStatus::OpcodeDoesNotExist],
            false,
        ),
        (
            "opcode 0",
            frame(0, 0, 0, &[], &[]),
            vec![ResponseStatus::OpcodeDoesNotExist],
            false,
        ),
        (
            "Keyward opcode without the extension flag",
            frame(0, 0x4B05, 0, &[], &[]),
            vec![ResponseStatus::OpcodeDoesNotExist],
            false,
        ),
        (
            "unknown provider",
            frame(9, Opcode::Ping as u32, 0, &[], &[]),
            vec![ResponseStatus::ProviderDoesNotExist],
            false,
        ),
        (
            "unknown auth type",
            frame(0, Opcode::Ping as u32, 7, &[], &[]),
            vec![ResponseStatus::AuthenticatorDoesNotExist],
            false,
        ),
        (
            "content type 1",
            {
                let mut f = ping_frame();
                f[19] = 1;
                f
            },
            vec![ResponseStatus::ContentTypeNotSupported],
            false,
        ),
        (
            "accept type 1",
            {
                let mut f = ping_frame();
                f[20] = 1;
                f
            },
            vec![ResponseStatus::AcceptTypeNotSupported],
            false,
        ),
        (
            "garbage protobuf body",
            frame(
                sw,
                gen,
                PEER_AUTH,
                &[0xff, 0xff, 0xff, 0x0f, 0x42],
                &peer_auth(),
            ),
            vec![
                ResponseStatus::DeserializingBodyFailed,
                ResponseStatus::InvalidEncoding,
            ],
            true,
        ),
        (
            "wrong UID in peer-credential auth",
            frame(sw, gen, PEER_AUTH, &generate, &(uid + 1).to_le_bytes()),
            vec![ResponseStatus::AuthenticationError],
            true,
        ),
        (
            "peer-credential auth of 3 bytes",
            frame(sw, gen, PEER_AUTH, &generate, &[0, 0, 0]),
            vec![ResponseStatus::AuthenticationError],
            true,
        ),
        (
            "ping with a bad token is authenticated too",
            frame(
                0,
                Opcode::Ping as u32,
                PEER_AUTH,
                &[],
                &(uid + 1).to_le_bytes(),
            ),
            vec![ResponseStatus::AuthenticationError],
            true,
        ),
        (
            "crypto operation without auth",
            frame(sw, gen, 0, &generate, &[]),
            vec![ResponseStatus::NotAuthenticated],
            true,
        ),
        (
            "ListKeys without auth",
            frame(0, Opcode::ListKeys as u32, 0, &list_keys_body, &[]),
            vec![ResponseStatus::NotAuthenticated],
            true,
        ),
        (
            "direct auth while disabled",
            frame(sw, gen, 1, &generate, b"alice"),
            vec![ResponseStatus::AuthenticatorNotRegistered],
            true,
        ),
        (
            "JWT auth (no such authenticator)",
            frame(sw, gen, 2, &generate, b"a.b.c"),
            vec![ResponseStatus::AuthenticatorNotRegistered],
            true,
        ),
        (
            "provider not configured",
            frame(
                ProviderId::Tpm as u8,
                gen,
                PEER_AUTH,
                &generate,
                &peer_auth(),
            ),
            vec![ResponseStatus::ProviderNotRegistered],
            true,
        ),
        (
            "core operation sent to a crypto provider",
            frame(
                sw,
                Opcode::ListKeys as u32,
                PEER_AUTH,
                &list_keys_body,
                &peer_auth(),
            ),
            vec![ResponseStatus::PsaErrorNotSupported],
            true,
        ),
        (
            "crypto operation sent to the core provider",
            frame(0, gen, PEER_AUTH, &generate, &peer_auth()),
            vec![ResponseStatus::PsaErrorNotSupported],
            true,
        ),
        (
            "opcode the provider does not implement (AttestKey)",
            frame(sw, Opcode::AttestKey as u32, PEER_AUTH, &[], &peer_auth()),
            vec![ResponseStatus::PsaErrorNotSupported],
            true,
        ),
    ];
    for (case, bytes, statuses, echoes) in cases {
        let sent = WireHeader::decode(&bytes[..36].try_into().unwrap()).unwrap();
        let mut stream = connect(&daemon);
        stream.write_all(&bytes).unwrap();
        let response = read_one(&mut stream);
        let status = ResponseStatus::from_u16(response.header.status);
        assert!(
            status.is_some_and(|s| statuses.contains(&s)),
            "{case}: got status {} ({status:?}), expected one of {statuses:?}",
            response.header.status
        );
        assert!(
            response.body.is_empty(),
            "{case}: error replies have no body"
        );
        if echoes {
            assert_eq!(response.header.opcode, sent.opcode, "{case}: opcode echoed");
            assert_eq!(
                response.header.provider, sent.provider,
                "{case}: provider echoed"
            );
        } else {
            assert_eq!(response.header.opcode, Opcode::Ping as u32, "{case}");
        }
        // The stream is still in step: the same connection answers a ping.
        stream.write_all(&ping_frame()).unwrap();
        let pong = read_one(&mut stream);
        assert_eq!(pong.header.status, 0, "{case}: ping on the same connection");
        assert_eq!(pong.body, [0x08, 0x01]);
        assert_healthy(&daemon, &client, "survivor", case);
    }
    // None of the refused GenerateKey requests created the key.
    let names: Vec<String> = client
        .list_keys()
        .unwrap()
        .into_iter()
        .map(|k: KeyInfo| k.name)
        .collect();
    assert_eq!(names, vec!["survivor".to_owned()]);
}

#[test]
fn abrupt_disconnects_do_not_hurt() {
    let daemon = daemon();
    let client = daemon.client();
    client.create_signing_key("survivor").unwrap();
    // Connect and leave at once; leave after half a header; leave before reading a reply
    // to a slow request (RSA generation).
    drop(connect(&daemon));
    {
        let mut stream = connect(&daemon);
        stream.write_all(&ping_frame()[..10]).unwrap();
    }
    {
        let attributes = keyward_client::keys::rsa_signing_key(2048);
        let op = Operation::GenerateKey {
            key_name: "orphan-reply".into(),
            attributes,
        };
        let mut stream = connect(&daemon);
        stream
            .write_all(&operation_frame(
                ProviderId::Software,
                &op,
                &Authentication::UnixPeerCredentials,
            ))
            .unwrap();
    }
    assert_healthy(&daemon, &client, "survivor", "abrupt disconnects");
    // The abandoned generation either completed (and is then a usable key) or did not.
    std::thread::sleep(Duration::from_millis(200));
    let keys = client.list_keys().unwrap();
    assert!(keys.iter().any(|k| k.name == "survivor"));
}

#[test]
fn pipelined_requests_on_one_connection_are_all_answered_in_order() {
    let daemon = daemon();
    let auth = Authentication::UnixPeerCredentials;
    let mut batch = ping_frame();
    batch.extend(operation_frame(
        ProviderId::Core,
        &Operation::ListProviders,
        &auth,
    ));
    batch.extend(operation_frame(
        ProviderId::Core,
        &Operation::ListAuthenticators,
        &auth,
    ));
    batch.extend(operation_frame(
        ProviderId::Software,
        &Operation::GenerateRandom { size: 8 },
        &auth,
    ));
    let mut stream = connect(&daemon);
    stream.write_all(&batch).unwrap();
    for opcode in [
        Opcode::Ping,
        Opcode::ListProviders,
        Opcode::ListAuthenticators,
        Opcode::PsaGenerateRandom,
    ] {
        let response = read_one(&mut stream);
        assert_eq!(response.header.status, 0, "{opcode:?}");
        assert_eq!(response.header.opcode, opcode as u32);
        assert!(!response.body.is_empty(), "{opcode:?}");
    }
    // And the connection is reused for more, request after request.
    for _ in 0..3 {
        stream.write_all(&ping_frame()).unwrap();
        assert_eq!(read_one(&mut stream).header.status, 0);
    }
}

#[test]
fn one_request_per_connection_clients_work() {
    let daemon = daemon();
    // Our client in Parsec's style: a new connection for every request.
    let client = BasicClient::builder()
        .endpoint(&daemon.socket)
        .auth(Authentication::UnixPeerCredentials)
        .connection_mode(ConnectionMode::PerRequest)
        .stock_mode(true)
        .build()
        .unwrap();
    client.create_signing_key("per-request").unwrap();
    let signature = client.sign("per-request", b"hello").unwrap();
    assert!(client.verify("per-request", b"hello", &signature).unwrap());
    assert_eq!(client.list_keys().unwrap().len(), 1);
    client.destroy_key("per-request").unwrap();
    // Raw: connect, one request, read the reply, close, many times over.
    for _ in 0..20 {
        raw_ping(&daemon.socket).unwrap();
    }
}
