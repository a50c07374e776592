//! Moving frames over the service's Unix socket with tokio (feature `tokio`): the async
//! counterpart of [`crate::transport::Connection`], with the same pool, resend and cap rules.
//!
//! A semaphore with [`TransportConfig::max_connections`] permits bounds the connections: a
//! request holds a permit while it uses a stream, and a new stream is opened only when no
//! idle one is left, so open streams never outnumber the permits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use keyward_protocol::frame::{encode_frame, read_response_async};
use keyward_protocol::{RawResponse, WireHeader};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::error::{ClientError, Result};
use crate::transport::{ConnectionMode, ExchangeError, TransportConfig};

/// A pool of tokio connections to the service.
#[derive(Debug)]
pub(crate) struct AsyncConnection {
    config: TransportConfig,
    permits: Semaphore,
    idle: Mutex<Vec<Counted>>,
    /// Streams open right now, counted by the streams themselves.
    open: Arc<AtomicUsize>,
}

/// A stream that counts itself in [`AsyncConnection::open`] while it exists.
#[derive(Debug)]
struct Counted {
    stream: UnixStream,
    open: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// True when an idle stream was not closed by the service meanwhile: nothing to read is the
/// healthy state; EOF, an error or stray bytes mean it must not be reused.
fn still_open(stream: &UnixStream) -> bool {
    let mut probe = [0u8; 1];
    matches!(stream.try_read(&mut probe), Err(err) if err.kind() == std::io::ErrorKind::WouldBlock)
}

impl AsyncConnection {
    pub fn new(config: TransportConfig) -> Self {
        AsyncConnection {
            permits: Semaphore::new(config.max_connections.max(1)),
            config,
            idle: Mutex::new(Vec::new()),
            open: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn endpoint(&self) -> &std::path::Path {
        &self.config.endpoint
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Counted>> {
        // Single pushes and pops only: a panic elsewhere cannot leave the list inconsistent.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Open connections: idle ones plus those used by requests in flight.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Runs `future` under the configured time-out.
    async fn timed<T>(
        &self,
        what: &'static str,
        future: impl std::future::Future<Output = T>,
    ) -> Result<T> {
        match self.config.effective_timeout() {
            None => Ok(future.await),
            Some(limit) => tokio::time::timeout(limit, future)
                .await
                .map_err(|_| ClientError::Timeout(limit, what)),
        }
    }

    async fn connect(&self) -> Result<Counted> {
        let path = &self.config.endpoint;
        let stream = self
            .timed("connecting", UnixStream::connect(path))
            .await?
            .map_err(|err| ClientError::io(format!("connecting to {}", path.display()), err))?;
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(Counted {
            stream,
            open: self.open.clone(),
        })
    }

    async fn exchange(
        &self,
        stream: &mut Counted,
        frame: &[u8],
    ) -> Result<std::result::Result<RawResponse, ExchangeError>> {
        let stream = &mut stream.stream;
        self.timed("waiting for the response", async {
            stream
                .write_all(frame)
                .await
                .map_err(ExchangeError::Write)?;
            read_response_async(stream, self.config.max_body_len)
                .await
                .map_err(ExchangeError::Read)
        })
        .await
    }

    /// Sends one request frame and reads its response frame.
    pub async fn round_trip(
        &self,
        header: &WireHeader,
        body: &[u8],
        auth: &[u8],
    ) -> Result<RawResponse> {
        let frame = Zeroizing::new(encode_frame(header, body, auth));
        let _permit = self
            .timed("waiting for a free connection", self.permits.acquire())
            .await?
            // The semaphore is never closed.
            .map_err(|_| ClientError::Timeout(Default::default(), "the connection pool closed"))?;
        if self.config.mode == ConnectionMode::PerRequest {
            let mut stream = self.connect().await?;
            return self
                .exchange(&mut stream, &frame)
                .await?
                .map_err(|err| err.into_client_error(&self.config));
        }
        let pooled = loop {
            let Some(stream) = self.idle().pop() else {
                break None;
            };
            if still_open(&stream.stream) {
                break Some(stream);
            }
        };
        let reused = pooled.is_some();
        let mut stream = match pooled {
            Some(stream) => stream,
            None => self.connect().await?,
        };
        let response = match self.exchange(&mut stream, &frame).await? {
            Ok(response) => response,
            Err(err) if reused && err.peer_closed() => {
                stream = self.connect().await?;
                self.exchange(&mut stream, &frame)
                    .await?
                    .map_err(|err| err.into_client_error(&self.config))?
            }
            Err(err) => return Err(err.into_client_error(&self.config)),
        };
        if response.header.opcode == header.opcode {
            self.idle().push(stream);
        }
        Ok(response)
    }
}
