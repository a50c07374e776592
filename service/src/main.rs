//! The `keywardd` binary: command line, logging, resource limits, then [`keywardd::run`].
#![forbid(unsafe_code)]

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use keyward_server::config::LogFormat;
use keywardd::config::Config;

/// Keyward security service: PSA Crypto over the Parsec wire protocol on a Unix socket.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Configuration file (TOML). Without it the embedded defaults (config.toml) apply.
    #[arg(long, short = 'c', value_name = "PATH")]
    config: Option<PathBuf>,
    /// Print the embedded default configuration and exit.
    #[arg(long)]
    print_default_config: bool,
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(config.service.log_level.as_filter())
    });
    // Colour codes only for a terminal: in journald or a log file they are noise that breaks
    // grepping (found by the e2e tests, which read the log file).
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match config.service.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Raises the open-file limit to its hard maximum: each client connection needs a descriptor.
fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            if let Err(err) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                tracing::warn!(error = %err, "cannot raise the open-file limit");
            }
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.print_default_config {
        print!("{}", keywardd::config::DEFAULT_CONFIG);
        return Ok(());
    }
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::embedded()?,
    };
    init_logging(&config);
    raise_fd_limit();
    if nix::unistd::geteuid().is_root() {
        tracing::warn!("running as root: prefer a dedicated user (see systemd/keywardd.service)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(keywardd::run(
        config,
        tokio_util::sync::CancellationToken::new(),
    ))
}
