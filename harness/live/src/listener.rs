//! The accept loop: HTTP/1.1 connections served with the limits a
//! production server keeps, so careless or hostile clients cannot hold the
//! platform hostage during a game day.
//!
//! - **Header read and idle timeout** ([`Limits::header_read_timeout`]):
//!   a connection must deliver a complete request head within this time of
//!   opening or of its last answer (hyper runs one timer for both: a
//!   slowloris client and a forgotten keep-alive connection are closed
//!   alike).
//! - **Body read timeout** ([`Limits::body_read_timeout`]): applied by the
//!   handlers that read bodies (see `server.rs`).
//! - **Connection cap** ([`Limits::max_connections`]): past it a new
//!   connection is answered `503 ServiceUnavailable` and closed, instead of
//!   waiting unserved while file descriptors run out.
//! - **File descriptors**: [`raise_fd_limit`] lifts the soft
//!   `RLIMIT_NOFILE` to the hard limit at start, and the cap is kept below
//!   what is left.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Connection limits of the embedded server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest wait for a complete request head, counted from the
    /// connection's start or its last answer.
    pub header_read_timeout: Duration,
    /// Longest time to read one request body.
    pub body_read_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 10_000,
        }
    }
}

/// File descriptors kept back from the connection cap (model-server
/// pipes, log files, the engine, the load generator in the same process).
const FD_RESERVE: u64 = 256;

/// Raises the soft open-file limit to the hard limit; returns the soft
/// limit now in force (`None` where it cannot be read).
pub fn raise_fd_limit() -> Option<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return Some(hard);
    }
    Some(soft)
}

/// The connection cap actually used: `wanted`, kept below the open-file
/// limit less a reserve.
pub fn effective_cap(wanted: usize, fd_limit: Option<u64>) -> usize {
    match fd_limit {
        Some(l) => wanted.min(l.saturating_sub(FD_RESERVE).max(16) as usize),
        None => wanted,
    }
}

/// What a connection past the cap is told.
const REFUSAL_BODY: &str =
    "{\"Message\":\"The server has too many open connections; try again later.\"}";

/// Serves `app` on `listener` until `stop` fires, then lets open
/// connections finish their current request.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    open: Arc<AtomicUsize>,
    stop: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of descriptors (EMFILE) or a reset before accept:
                    // back off instead of spinning, then carry on.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        if open.load(Ordering::Relaxed) >= limits.max_connections {
            tokio::spawn(refuse(stream));
            continue;
        }
        let guard = OpenGuard::new(open.clone());
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _guard = guard;
            let _ = conn.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Answers a connection past the cap with SageMaker's 503 and closes it.
async fn refuse(mut stream: TcpStream) {
    // Read what the client sent first (briefly), so closing does not reset
    // the connection before it sees the answer.
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nx-amzn-ErrorType: ServiceUnavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{REFUSAL_BODY}",
        REFUSAL_BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Counts a connection as open for as long as it lives.
struct OpenGuard(Arc<AtomicUsize>);

impl OpenGuard {
    fn new(open: Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(open)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_below_the_descriptor_limit() {
        assert_eq!(effective_cap(10_000, Some(1024)), 768);
        assert_eq!(effective_cap(10_000, Some(1_048_576)), 10_000);
        assert_eq!(effective_cap(10_000, None), 10_000);
        assert_eq!(effective_cap(10_000, Some(100)), 16);
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let now = raise_fd_limit().unwrap();
        let (soft, hard) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(now, soft);
        assert_eq!(soft, hard);
    }
}
