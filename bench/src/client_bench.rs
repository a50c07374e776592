//! `keyward-client-bench`: what an application pays through keyward-client. Sign (ECDSA
//! P-256 over a short message) with the async client, the blocking client and the stock
//! `parsec-client` 0.16 against the same keywardd, at 1 and 8 concurrent callers; a TLS 1.3
//! handshake with the server's (and client's) key in keywardd vs in memory; and how long a
//! 1 ms ticker on a current-thread runtime is held up by signing inline vs with the async
//! client. Ratios in the same run are what to watch.

// The daemon module is shared with keyward-bench, which uses all of it.
#[allow(dead_code)]
#[path = "daemon.rs"]
mod daemon;
#[allow(dead_code)]
#[path = "wire.rs"]
mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;
use keyward_client::{AsyncClient, Authentication, BasicClient, EccCurve};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::sign::{CertifiedKey, SingleCertAndKey};

use crate::daemon::{Daemon, DaemonSettings};

/// Client-side benchmarks against a keywardd this program starts.
#[derive(Debug, Parser)]
#[command(name = "keyward-client-bench")]
struct Args {
    /// The keywardd binary to start.
    #[arg(long, default_value = "target/release/keywardd")]
    binary: PathBuf,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 3.0)]
    duration: f64,
    /// Runs per line; the median run is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Concurrent callers for the sign lines.
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    tasks: Vec<usize>,
}

const KEY: &str = "bench-sign";
const WARM_UP: Duration = Duration::from_millis(300);

/// One measurement: operations and every latency.
#[derive(Debug, Default)]
struct Run {
    ops: usize,
    wall: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn merge(runs: Vec<Run>, wall: Duration) -> Run {
        let mut all = Run {
            wall,
            ..Run::default()
        };
        for run in runs {
            all.ops += run.ops;
            all.latencies.extend(run.latencies);
        }
        all.latencies.sort();
        all
    }

    fn per_second(&self) -> f64 {
        self.ops as f64 / self.wall.as_secs_f64()
    }

    fn percentile_us(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[index].as_secs_f64() * 1e6
    }
}

/// Calls `op` in a loop until `until`, timing each call.
fn timed_loop(until: Instant, mut op: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Run> {
    let mut run = Run::default();
    while Instant::now() < until {
        let start = Instant::now();
        op()?;
        run.latencies.push(start.elapsed());
        run.ops += 1;
    }
    Ok(run)
}

/// `threads` threads calling `op` for `duration` after a warm-up.
fn threaded<F>(threads: usize, duration: Duration, op: F) -> anyhow::Result<Run>
where
    F: Fn() -> anyhow::Result<()> + Sync,
{
    let warm = Instant::now() + WARM_UP;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| timed_loop(warm, &op));
        }
    });
    let start = Instant::now();
    let until = start + duration;
    let runs = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| timed_loop(until, &op)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow::anyhow!("a thread panicked"))?)
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    Ok(Run::merge(runs, start.elapsed()))
}

/// `tasks` tokio tasks signing with one AsyncClient for `duration` after a warm-up.
fn async_sign(
    runtime: &tokio::runtime::Runtime,
    client: &AsyncClient,
    tasks: usize,
    duration: Duration,
) -> anyhow::Result<Run> {
    runtime.block_on(async {
        let phase = |until: Instant| {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..tasks {
                let client = client.clone();
                set.spawn(async move {
                    let mut run = Run::default();
                    while Instant::now() < until {
                        let start = Instant::now();
                        client.sign(KEY, b"benchmark message").await?;
                        run.latencies.push(start.elapsed());
                        run.ops += 1;
                    }
                    Ok::<_, keyward_client::ClientError>(run)
                });
            }
            set
        };
        let mut warm = phase(Instant::now() + WARM_UP);
        while let Some(done) = warm.join_next().await {
            done??;
        }
        let start = Instant::now();
        let mut set = phase(start + duration);
        let mut runs = Vec::new();
        while let Some(done) = set.join_next().await {
            runs.push(done??);
        }
        Ok(Run::merge(runs, start.elapsed()))
    })
}

/// The median (by throughput) of some runs.
fn median_of(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    let middle = runs.len() / 2;
    runs.swap_remove(middle)
}

fn line(label: &str, callers: usize, run: &Run, baseline: Option<&Run>) {
    let ratio = baseline
        .map(|base| format!("{:.2}", run.per_second() / base.per_second()))
        .unwrap_or_else(|| "-".to_owned());
    println!(
        "| {label} | {callers} | {:.0} | {:.1} | {:.1} | {ratio} |",
        run.per_second(),
        run.percentile_us(0.5),
        run.percentile_us(0.99)
    );
}

fn sign_lines(args: &Args, daemon: &Daemon) -> anyhow::Result<()> {
    let duration = Duration::from_secs_f64(args.duration);
    let blocking = BasicClient::builder()
        .endpoint(&daemon.socket)
        .auth(Authentication::UnixPeerCredentials)
        .build()?;
    blocking.create_ecc_signing_key(KEY, EccCurve::P256)?;
    // The same client opening a connection per request, as parsec-client does: separates
    // the connection mode from the client's own cost.
    let per_request = BasicClient::builder()
        .endpoint(&daemon.socket)
        .auth(Authentication::UnixPeerCredentials)
        .connection_mode(keyward_client::ConnectionMode::PerRequest)
        .build()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let asynchronous = runtime.block_on(
        AsyncClient::builder()
            .endpoint(&daemon.socket)
            .auth(Authentication::UnixPeerCredentials)
            .build_async(),
    )?;
    // parsec-client reads its endpoint from the environment; set before any thread starts.
    std::env::set_var(
        "PARSEC_SERVICE_ENDPOINT",
        format!("unix:{}", daemon.socket.display()),
    );
    let parsec = parsec_client::BasicClient::new(Some("bench".to_owned()))
        .map_err(|err| anyhow::anyhow!("parsec-client: {err}"))?;
    let parsec_alg =
        parsec_client::core::interface::operations::psa_algorithm::AsymmetricSignature::Ecdsa {
            hash_alg: parsec_client::core::interface::operations::psa_algorithm::Hash::Sha256
                .into(),
        };
    println!("| client | tasks | sign/s | p50 µs | p99 µs | × blocking |");
    println!("|---|---:|---:|---:|---:|---:|");
    let parsec_sign = || {
        // parsec-client hashes nothing itself: a local digest, as keyward-client does.
        let digest = {
            use sha2::Digest;
            sha2::Sha256::digest(b"benchmark message").to_vec()
        };
        parsec
            .psa_sign_hash(KEY, &digest, parsec_alg)
            .map_err(|err| anyhow::anyhow!("parsec-client: {err}"))?;
        Ok(())
    };
    const LABELS: [&str; 4] = [
        "keyward-client blocking (persistent)",
        "keyward-client async (persistent)",
        "keyward-client blocking (per request)",
        "parsec-client 0.16 (per request)",
    ];
    for &tasks in &args.tasks {
        // Round-robin: every client's n-th run comes before any client's (n+1)-th, so a
        // change in the machine's load during the run touches all of them alike.
        let mut runs: [Vec<Run>; 4] = Default::default();
        for _ in 0..args.repeat.max(1) {
            runs[0].push(threaded(tasks, duration, || {
                blocking.sign(KEY, b"benchmark message")?;
                Ok(())
            })?);
            runs[1].push(async_sign(&runtime, &asynchronous, tasks, duration)?);
            runs[2].push(threaded(tasks, duration, || {
                per_request.sign(KEY, b"benchmark message")?;
                Ok(())
            })?);
            runs[3].push(threaded(tasks, duration, parsec_sign)?);
        }
        let medians: Vec<Run> = runs.into_iter().map(median_of).collect();
        for (index, (label, run)) in LABELS.iter().zip(&medians).enumerate() {
            line(label, tasks, run, (index > 0).then(|| &medians[0]));
        }
    }
    blocking.destroy_key(KEY)?;
    Ok(())
}

/// Moves TLS records between two in-memory connections until both finish the handshake.
fn handshake(
    client: &mut rustls::ClientConnection,
    server: &mut rustls::ServerConnection,
) -> anyhow::Result<()> {
    let mut buffer = Vec::new();
    for _ in 0..32 {
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
        buffer.clear();
        while client.wants_write() {
            client.write_tls(&mut buffer)?;
        }
        let mut slice = &buffer[..];
        while !slice.is_empty() {
            server.read_tls(&mut slice)?;
            server.process_new_packets()?;
        }
        buffer.clear();
        while server.wants_write() {
            server.write_tls(&mut buffer)?;
        }
        let mut slice = &buffer[..];
        while !slice.is_empty() {
            client.read_tls(&mut slice)?;
            client.process_new_packets()?;
        }
    }
    bail!("the handshake did not finish")
}

fn tls_lines(args: &Args, daemon: &Daemon) -> anyhow::Result<()> {
    let duration = Duration::from_secs_f64(args.duration);
    let keyward = BasicClient::builder()
        .endpoint(&daemon.socket)
        .auth(Authentication::UnixPeerCredentials)
        .build()?;
    keyward.create_ecc_signing_key("bench-tls-server", EccCurve::P256)?;
    keyward.create_ecc_signing_key("bench-tls-client", EccCurve::P256)?;
    let server_remote = keyward.signing_key("bench-tls-server")?;
    let client_remote = keyward.signing_key("bench-tls-client")?;

    // A local CA issues every certificate: only the end-entity keys differ between the lines.
    let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);
    let certificate = |public: &dyn rcgen::PublicKeyData, name: &str| {
        rcgen::CertificateParams::new(vec![name.to_owned()])
            .and_then(|params| params.signed_by(&public, &issuer))
            .map(|cert| cert.der().clone())
    };
    let local_server = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let local_client = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let load = |key: &rcgen::KeyPair| -> anyhow::Result<Arc<dyn rustls::sign::SigningKey>> {
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok(provider.key_provider.load_private_key(der)?)
    };
    let identities = [
        (
            "keywardd",
            CertifiedKey::new(
                vec![certificate(server_remote.public_key(), "localhost")?],
                Arc::new(server_remote) as Arc<dyn rustls::sign::SigningKey>,
            ),
            CertifiedKey::new(
                vec![certificate(client_remote.public_key(), "client")?],
                Arc::new(client_remote) as Arc<dyn rustls::sign::SigningKey>,
            ),
        ),
        (
            "in memory",
            CertifiedKey::new(
                vec![certificate(&local_server, "localhost")?],
                load(&local_server)?,
            ),
            CertifiedKey::new(
                vec![certificate(&local_client, "client")?],
                load(&local_client)?,
            ),
        ),
    ];
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca_cert.der().clone())?;
    let roots = Arc::new(roots);

    println!();
    println!(
        "| TLS 1.3 handshake (ECDSA P-256) | keys in keywardd: p50 µs | in memory: p50 µs | extra µs | × in memory (p50) |"
    );
    println!("|---|---:|---:|---:|---:|");
    for mutual in [false, true] {
        let mut configs = Vec::new();
        for (_, server_identity, client_identity) in &identities {
            let server_resolver = Arc::new(SingleCertAndKey::from(server_identity.clone()));
            let server_builder = rustls::ServerConfig::builder_with_provider(provider.clone())
                .with_protocol_versions(&[&rustls::version::TLS13])?;
            let server = if mutual {
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    roots.clone(),
                    provider.clone(),
                )
                .build()?;
                server_builder
                    .with_client_cert_verifier(verifier)
                    .with_cert_resolver(server_resolver)
            } else {
                server_builder
                    .with_no_client_auth()
                    .with_cert_resolver(server_resolver)
            };
            let client_builder = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_protocol_versions(&[&rustls::version::TLS13])?
                .with_root_certificates(roots.clone());
            let mut client = if mutual {
                client_builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(
                    client_identity.clone(),
                )))
            } else {
                client_builder.with_no_client_auth()
            };
            // Full handshakes only: no resumption.
            client.resumption = rustls::client::Resumption::disabled();
            configs.push((Arc::new(server), Arc::new(client)));
        }
        type Configs = (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>);
        let one = |(server, client): &Configs| -> anyhow::Result<Duration> {
            let name = ServerName::try_from("localhost")?;
            let mut c = rustls::ClientConnection::new(client.clone(), name)?;
            let mut s = rustls::ServerConnection::new(server.clone())?;
            let start = Instant::now();
            handshake(&mut c, &mut s)?;
            Ok(start.elapsed())
        };
        // Alternating handshakes, so both kinds of key see the same machine.
        for config in &configs {
            one(config)?;
        }
        let mut remote = Run::default();
        let mut local = Run::default();
        let until = Instant::now() + duration * args.repeat.max(1) as u32;
        while Instant::now() < until {
            remote.latencies.push(one(&configs[0])?);
            local.latencies.push(one(&configs[1])?);
        }
        remote.latencies.sort();
        local.latencies.sort();
        let (r, l) = (remote.percentile_us(0.5), local.percentile_us(0.5));
        println!(
            "| {} ({} each) | {r:.1} | {l:.1} | {:.1} | {:.2} |",
            if mutual { "mutual" } else { "server only" },
            remote.latencies.len(),
            r - l,
            r / l
        );
    }
    keyward.destroy_key("bench-tls-server")?;
    keyward.destroy_key("bench-tls-client")?;
    Ok(())
}

/// How late a 1 ms ticker runs on a current-thread runtime while another task signs 200 times
/// in a row: inline with the blocking client (never yielding), or awaiting the async client.
fn ticker_lines(daemon: &Daemon) -> anyhow::Result<()> {
    let blocking = BasicClient::builder()
        .endpoint(&daemon.socket)
        .auth(Authentication::UnixPeerCredentials)
        .build()?;
    blocking.create_ecc_signing_key(KEY, EccCurve::P256)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let asynchronous = runtime.block_on(
        AsyncClient::builder()
            .endpoint(&daemon.socket)
            .auth(Authentication::UnixPeerCredentials)
            .build_async(),
    )?;
    println!();
    println!("| 1 ms ticker on a current-thread runtime, 200 signs beside it | worst lateness ms | signs took ms |");
    println!("|---|---:|---:|");
    for inline in [true, false] {
        let (late, took) = runtime.block_on(async {
            let ticker = tokio::spawn(async {
                let mut interval = tokio::time::interval(Duration::from_millis(1));
                interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut worst = Duration::ZERO;
                let mut last = Instant::now();
                while !TICKER_STOP.load(std::sync::atomic::Ordering::Relaxed) {
                    interval.tick().await;
                    let now = Instant::now();
                    let gap = now.duration_since(last);
                    worst = worst.max(gap.saturating_sub(Duration::from_millis(1)));
                    last = now;
                }
                worst
            });
            tokio::time::sleep(Duration::from_millis(20)).await;
            let start = Instant::now();
            for _ in 0..200 {
                if inline {
                    blocking.sign(KEY, b"tick")?;
                } else {
                    asynchronous.sign(KEY, b"tick").await?;
                }
            }
            let took = start.elapsed();
            TICKER_STOP.store(true, std::sync::atomic::Ordering::Relaxed);
            let late = ticker.await?;
            TICKER_STOP.store(false, std::sync::atomic::Ordering::Relaxed);
            Ok::<_, anyhow::Error>((late, took))
        })?;
        let label = if inline {
            "blocking client, inline"
        } else {
            "async client"
        };
        println!(
            "| {label} | {:.2} | {:.0} |",
            late.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e3
        );
    }
    blocking.destroy_key(KEY)?;
    Ok(())
}

static TICKER_STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let daemon = Daemon::start(&DaemonSettings {
        binary: args.binary.clone(),
        log_level: "info".to_owned(),
        direct: false,
    })?;
    println!(
        "keyward-client-bench: {} s per line, median of {}, keywardd {}",
        args.duration,
        args.repeat,
        args.binary.display()
    );
    println!();
    sign_lines(&args, &daemon)?;
    tls_lines(&args, &daemon)?;
    ticker_lines(&daemon)?;
    Ok(())
}
