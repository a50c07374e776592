//! The async client (feature `tokio`) against the real keywardd: the same answers as the
//! blocking client, and 64 concurrent tasks served over at most the configured number of
//! connections, counted on the daemon's side by the kernel.
// Test code: a panic with its location is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use keyward_client::protocol::ResponseStatus;
use keyward_client::{AsyncClient, Authentication, ClientError};
use keyward_e2e_tests::{socket_inodes, Daemon, DaemonOptions, Limits};

async fn client(daemon: &Daemon, max_connections: usize) -> AsyncClient {
    AsyncClient::builder()
        .endpoint(&daemon.socket)
        .max_connections(max_connections)
        .timeout(Some(Duration::from_secs(30)))
        .build_async()
        .await
        .unwrap()
}

#[tokio::test]
async fn async_client_answers_like_the_blocking_one() {
    let daemon = Daemon::start();
    let client = client(&daemon, 2).await;
    assert_eq!(
        client.auth().auth_type(),
        Authentication::UnixPeerCredentials.auth_type()
    );
    assert_eq!(client.ping().await.unwrap(), (1, 0));
    client.create_signing_key("k").await.unwrap();
    let signature = client.sign("k", b"m").await.unwrap();
    assert!(client.verify("k", b"m", &signature).await.unwrap());
    assert!(!client.verify("k", b"n", &signature).await.unwrap());
    // The blocking client agrees on the same key.
    let blocking = daemon.client();
    assert!(blocking.verify("k", b"m", &signature).unwrap());
    assert_eq!(
        client.public_key_pem("k").await.unwrap(),
        blocking.public_key_pem("k").unwrap()
    );
    client.create_aes_key("aes", 256).await.unwrap();
    let sealed = client
        .encrypt_with_aad("aes", b"secret", b"ad")
        .await
        .unwrap();
    assert_eq!(
        &blocking.decrypt_with_aad("aes", &sealed, b"ad").unwrap()[..],
        b"secret"
    );
    let err = client
        .decrypt_with_aad("aes", &sealed, b"other")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(ResponseStatus::PsaErrorInvalidSignature));
    assert_eq!(client.generate_random(16).await.unwrap().len(), 16);
    // One shape for a missing key, and the stale cache is looked up again.
    assert!(matches!(
        client.destroy_key("ghost").await,
        Err(ClientError::KeyNotFound(_))
    ));
    blocking.destroy_key("k").unwrap();
    blocking.create_rsa_pss_signing_key("k", 2048).unwrap();
    assert_eq!(client.sign("k", b"m").await.unwrap().len(), 256);
    client.destroy_key("k").await.unwrap();
    assert!(matches!(
        client.sign("k", b"m").await,
        Err(ClientError::KeyNotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_tasks_share_at_most_the_configured_connections() {
    const CAP: usize = 4;
    // keywardd refuses connections beyond the cap, so exceeding it would fail requests too.
    let daemon = Daemon::start_with(DaemonOptions {
        limits: Some(Limits {
            max_connections: CAP,
            max_connections_per_uid: CAP,
            ..Limits::default()
        }),
        ..DaemonOptions::default()
    });
    let pid = daemon.pid().unwrap();
    let before: BTreeSet<String> = socket_inodes(pid);
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(socket_inodes(pid).difference(&before).count());
                std::thread::sleep(Duration::from_micros(200));
            }
            peak
        })
    };
    let client = client(&daemon, CAP).await;
    client.create_signing_key("busy").await.unwrap();
    let start = Arc::new(tokio::sync::Barrier::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..64 {
        let (client, start) = (client.clone(), start.clone());
        tasks.spawn(async move {
            start.wait().await;
            for round in 0..10 {
                let message = format!("{task}/{round}");
                let signature = client.sign("busy", message.as_bytes()).await.unwrap();
                assert!(client
                    .verify("busy", message.as_bytes(), &signature)
                    .await
                    .unwrap());
            }
            client.open_connections()
        });
    }
    let mut client_side = 0;
    while let Some(open) = tasks.join_next().await {
        client_side = client_side.max(open.unwrap());
    }
    done.store(true, Ordering::Relaxed);
    let daemon_side = sampler.join().unwrap();
    assert!(
        client_side <= CAP,
        "client counted {client_side} connections"
    );
    assert!(daemon_side <= CAP, "daemon had {daemon_side} connections");
    assert!(
        daemon_side >= 2,
        "the tasks ran concurrently ({daemon_side} connection)"
    );
    assert!(!daemon.log().contains("connection limit reached"));
    let signed = daemon
        .log()
        .lines()
        .filter(|l| {
            l.contains("keyward::audit") && l.contains("PsaSignHash") && l.contains("Success")
        })
        .count();
    assert_eq!(
        signed, 640,
        "every task's every signature was made by keywardd"
    );
}
