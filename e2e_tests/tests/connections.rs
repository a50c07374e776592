//! Connection handling: liveness with 1,000 idle connections and a stalled client, the idle
//! time-out, the connection cap, graceful shutdown (with a request in flight) and refusing to
//! start on a socket another daemon serves.
// Test code: a panic with its location is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keyward_client::protocol::frame::read_response;
use keyward_client::protocol::{Opcode, ProviderId};
use keyward_e2e_tests::{
    binary, config_text, ping_frame, raise_fd_limit, raw_exchange, raw_ping, read_to_close,
    request_header, Daemon, DaemonOptions, Limits,
};

/// A ping on an existing connection (connection reuse); panics unless answered.
#[track_caller]
fn ping_on(stream: &mut UnixStream) {
    stream.write_all(&ping_frame()).unwrap();
    let response = read_response(stream, 1 << 20).expect("ping answered on this connection");
    assert_eq!(response.header.status, 0);
    assert_eq!(response.body, [0x08, 0x01]);
}

fn timed_ping(daemon: &Daemon) -> Duration {
    let started = Instant::now();
    raw_ping(&daemon.socket).expect("ping answered");
    started.elapsed()
}

fn connect(daemon: &Daemon) -> UnixStream {
    let stream = UnixStream::connect(&daemon.socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// A client that sent a header announcing 1000 body bytes, then 10 of them, then nothing.
fn stalled_client(daemon: &Daemon) -> UnixStream {
    let mut stream = connect(daemon);
    let header = request_header(0, Opcode::Ping as u32, 0, 1000, 0);
    stream.write_all(&header.encode()).unwrap();
    stream.write_all(&[0u8; 10]).unwrap();
    stream
}

#[test]
fn new_clients_are_served_quickly_beside_1000_idle_connections_and_a_stalled_one() {
    const IDLE: usize = 1000;
    raise_fd_limit(IDLE as u64 + 200);
    // One UID opens them all: lift the per-user share above them (the fairness tests cover it).
    let daemon = Daemon::start_with(DaemonOptions {
        limits: Some(Limits {
            max_connections_per_uid: 2 * IDLE,
            ..Limits::default()
        }),
        ..DaemonOptions::default()
    });
    let client = daemon.client();
    client.create_signing_key("busy-day").unwrap();

    let mut idle: Vec<UnixStream> = Vec::with_capacity(IDLE);
    let opened = Instant::now();
    for _ in 0..IDLE {
        idle.push(connect(&daemon));
    }
    // Each of these has been accepted and is being served: it answers on its own connection.
    for index in [0, IDLE / 2, IDLE - 1] {
        ping_on(&mut idle[index]);
    }
    let opening = opened.elapsed();
    let stalled = stalled_client(&daemon);

    let latencies: Vec<Duration> = (0..10).map(|_| timed_ping(&daemon)).collect();
    let signed = Instant::now();
    let signature = client.sign("busy-day", b"still fast").unwrap();
    assert!(client
        .verify("busy-day", b"still fast", &signature)
        .unwrap());
    let sign_latency = signed.elapsed();
    let worst = latencies.iter().max().copied().unwrap();
    eprintln!(
        "opened {IDLE} idle connections in {opening:?}; ping latency beside them: \
         worst {worst:?}, all {latencies:?}; sign+verify {sign_latency:?}"
    );
    // A liveness bound, not a benchmark: generous for a debug build on a loaded 2-core box.
    assert!(
        worst < Duration::from_millis(500),
        "ping took {worst:?} beside {IDLE} idle connections"
    );
    assert!(
        sign_latency < Duration::from_millis(500),
        "{sign_latency:?}"
    );
    // The idle ones are still there and still served.
    ping_on(&mut idle[1]);
    ping_on(&mut idle[IDLE - 2]);
    drop(stalled);
    drop(idle);
}

#[test]
fn idle_connections_are_closed_after_the_idle_timeout() {
    let daemon = Daemon::start_with(DaemonOptions {
        limits: Some(Limits {
            idle_timeout_ms: 300,
            ..Limits::default()
        }),
        ..DaemonOptions::default()
    });
    let mut quiet = connect(&daemon);
    let started = Instant::now();
    assert!(read_to_close(&mut quiet).unwrap().is_empty());
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(3),
        "idle connection closed after {elapsed:?} (idle_timeout_ms = 300)"
    );
    // The time-out is for silence between requests: a connection in use stays open well past
    // it, and is closed once it falls silent.
    let mut busy = connect(&daemon);
    for _ in 0..8 {
        ping_on(&mut busy);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(read_to_close(&mut busy).unwrap().is_empty());
    assert!(daemon.wait_for_log("closing idle connection", Duration::from_secs(2)));
    raw_ping(&daemon.socket).unwrap();
}

/// Opens a connection the daemon accepts and serves (retrying while a slot frees up).
fn served_connection(daemon: &Daemon) -> UnixStream {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut stream = connect(daemon);
        if stream.write_all(&ping_frame()).is_ok() {
            if let Ok(response) = read_response(&mut stream, 1 << 20) {
                assert_eq!(response.header.status, 0);
                return stream;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no connection slot became free within 5 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn connections_past_the_cap_are_closed_until_slots_free_up() {
    let daemon = Daemon::start_with(DaemonOptions {
        limits: Some(Limits {
            max_connections: 8,
            max_connections_per_uid: 8,
            ..Limits::default()
        }),
        ..DaemonOptions::default()
    });
    let mut held: Vec<UnixStream> = (0..8).map(|_| served_connection(&daemon)).collect();
    for extra in 0..3 {
        match raw_exchange(&daemon.socket, &ping_frame()) {
            Ok(None) | Err(_) => {}
            Ok(Some(response)) => {
                panic!(
                    "connection {} past the cap was served: {response:?}",
                    9 + extra
                )
            }
        }
    }
    assert!(
        daemon.wait_for_log("connection limit reached", Duration::from_secs(2)),
        "the cap is logged:\n{}",
        daemon.log()
    );
    // The held connections are unaffected.
    for stream in &mut held {
        ping_on(stream);
    }
    // Closing one frees a slot for a newcomer.
    held.pop();
    let mut newcomer = served_connection(&daemon);
    ping_on(&mut newcomer);
    // ...and the cap applies again.
    assert!(matches!(
        raw_exchange(&daemon.socket, &ping_frame()),
        Ok(None) | Err(_)
    ));
    // All closed: ordinary service resumes (slots are freed as the daemon notices the closes).
    drop(held);
    drop(newcomer);
    let deadline = Instant::now() + Duration::from_secs(5);
    while raw_ping(&daemon.socket).is_err() {
        assert!(Instant::now() < deadline, "service did not resume");
        std::thread::sleep(Duration::from_millis(20));
    }
    let client = daemon.client();
    client.create_signing_key("after-the-rush").unwrap();
}

#[test]
fn sigterm_finishes_in_flight_work_exits_0_and_removes_the_socket() {
    let mut daemon = Daemon::start();
    let client = daemon.client();
    // The one RSA-4096 generation of the suite: slow enough to be in flight at SIGTERM and to
    // show the accept loop is not blocked by provider work.
    let generation = std::thread::spawn(move || {
        let started = Instant::now();
        let result = client.create_rsa_signing_key("rsa-4096", 4096);
        (result, started.elapsed(), Instant::now())
    });
    std::thread::sleep(Duration::from_millis(100));
    let during = timed_ping(&daemon);
    let still_running = !generation.is_finished();
    eprintln!("ping while RSA-4096 generation runs (running: {still_running}): {during:?}");
    assert!(
        during < Duration::from_millis(500),
        "ping took {during:?} during key generation"
    );
    // An idle connection the daemon has accepted and served (one still in the listen queue
    // would merely be reset when the listener closes).
    let mut idle = connect(&daemon);
    ping_on(&mut idle);
    let socket = daemon.socket.clone();
    let stopping = Instant::now();
    let status = daemon.terminate().expect("keywardd exited within 15 s");
    let exited = Instant::now();
    let stop_time = exited - stopping;
    let (result, generation_time, generated) = generation.join().unwrap();
    eprintln!("RSA-4096 generation took {generation_time:?}; shutdown took {stop_time:?}");
    assert_eq!(status.code(), Some(0), "exit status {status}");
    assert!(!socket.exists(), "socket file left behind");
    result.expect("the in-flight request was answered before exit");
    // Shutdown waited for the generation only: the idle connection did not hold up the exit
    // (the grace period is 5 s), and it is closed.
    let after_generation = exited.saturating_duration_since(generated);
    assert!(
        after_generation < Duration::from_millis(1500),
        "exit came {after_generation:?} after the last in-flight request finished"
    );
    assert!(read_to_close(&mut idle).unwrap().is_empty());
    assert!(
        daemon.log().contains("keywardd stopped"),
        "{}",
        daemon.log()
    );

    // The key made during shutdown is durable.
    daemon.spawn();
    let client = daemon.client();
    let key = client.key_info("rsa-4096").unwrap();
    assert_eq!(key.attributes.bits, 4096);
    assert_eq!(key.provider_id, ProviderId::Software as u8);
    let signature = client.sign("rsa-4096", b"made at shutdown").unwrap();
    assert_eq!(signature.len(), 512);
    assert!(client
        .verify("rsa-4096", b"made at shutdown", &signature)
        .unwrap());
}

#[test]
fn a_second_daemon_refuses_a_socket_in_use() {
    let daemon = Daemon::start();
    let other_state = daemon.dir.path().join("state-2");
    let config = daemon.dir.path().join("config-2.toml");
    std::fs::write(
        &config,
        config_text(&daemon.socket, &other_state, &DaemonOptions::default()),
    )
    .unwrap();
    let mut second = Command::new(binary("keywardd"))
        .arg("--config")
        .arg(&config)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            let _ = second.wait();
            panic!("the second keywardd kept running on a socket in use");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = second.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!status.success(), "second daemon exited with {status}");
    assert!(
        stderr.contains("already listening") && stderr.contains(&*daemon.socket.to_string_lossy()),
        "unclear error: {stderr}"
    );
    // The first one is untouched.
    assert!(daemon.socket.exists());
    raw_ping(&daemon.socket).unwrap();
    daemon
        .client()
        .create_signing_key("first-still-works")
        .unwrap();
}
