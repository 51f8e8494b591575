//! Bounds the connections the gateway holds, so idle or silent sockets cannot use up its file
//! descriptors and lock callers out.
//!
//! Every accepted connection counts against `max_connections`. A connection is *silent* until it
//! carries its first HTTP/2 request; a silent connection is closed when `first_request_timeout`
//! passes. A connection becomes a *caller's* only when one of its requests passes the identity
//! check; until then (silent, or carrying only health checks, reflection or refused requests) it
//! is *evictable*: when the gateway is full the oldest evictable connection is closed to make way
//! for the new one. A caller's connection is never evicted, and a new connection that finds
//! every slot held by callers is closed at once.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::AtomicWaker;
use futures::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming};

/// How many connections the gateway holds and how long a silent one may stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections held at once; keep it well below the process's file limit.
    pub max_connections: usize,
    /// How long a new connection may stay open without carrying a gRPC request.
    pub first_request_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits { max_connections: 4096, first_request_timeout: Duration::from_secs(10) }
    }
}

/// One connection's standing, shared by its socket and the registry.
#[derive(Debug, Default)]
struct Standing {
    /// It carried a request, so the first-request timeout no longer applies.
    spoke: AtomicBool,
    /// One of its requests was identified: it is a caller's and never evicted.
    caller: AtomicBool,
    evicted: AtomicBool,
    waker: AtomicWaker,
}

/// The connections the gateway holds, and which of them may still be evicted.
#[derive(Debug)]
pub(crate) struct Connections {
    limits: ConnectionLimits,
    open: AtomicUsize,
    sequence: AtomicU64,
    silent: Mutex<HashMap<SocketAddr, (u64, Arc<Standing>)>>,
}

impl Connections {
    /// Returns an empty registry under `limits`.
    pub(crate) fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Connections {
            limits,
            open: AtomicUsize::new(0),
            sequence: AtomicU64::new(0),
            silent: Mutex::new(HashMap::new()),
        })
    }

    fn silent(&self) -> MutexGuard<'_, HashMap<SocketAddr, (u64, Arc<Standing>)>> {
        self.silent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns how many connections are open.
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Notes that the connection from `peer` carried a request: the first-request timeout no
    /// longer applies, but it stays evictable until a request of it is identified.
    pub(crate) fn heard_from(&self, peer: SocketAddr) {
        if let Some((_, standing)) = self.silent().get(&peer) {
            standing.spoke.store(true, Ordering::SeqCst);
        }
    }

    /// Marks the connection from `peer` as a caller's: a request of it passed the identity check.
    pub(crate) fn identified(&self, peer: SocketAddr) {
        if let Some((_, standing)) = self.silent().remove(&peer) {
            standing.spoke.store(true, Ordering::SeqCst);
            standing.caller.store(true, Ordering::SeqCst);
        }
    }

    /// Returns the handle a request of the connection from `peer` carries, for the identity
    /// layer to mark the connection a caller's.
    pub(crate) fn handle(self: &Arc<Self>, peer: SocketAddr) -> RequestConnection {
        RequestConnection { registry: self.clone(), peer }
    }

    /// Admits a new connection, closing the oldest silent one when full; `None` when every
    /// slot is held by a caller, or when too many evicted connections are still closing.
    fn admit(self: &Arc<Self>, stream: TcpStream) -> Option<Guarded> {
        let peer = stream.peer_addr().ok()?;
        let standing = Arc::new(Standing::default());
        let mut silent = self.silent();
        let open = self.open.load(Ordering::SeqCst);
        // An evicted connection holds its socket until its task sees the eviction; under a flood
        // those are bounded too, and past that a new connection is refused.
        let max = self.limits.max_connections;
        if open >= max.saturating_add((max / 8).max(1)) {
            return None;
        }
        if open >= max {
            let oldest = silent.iter().min_by_key(|(_, (sequence, _))| *sequence).map(|(peer, _)| *peer)?;
            if let Some((_, evicted)) = silent.remove(&oldest) {
                evicted.evicted.store(true, Ordering::SeqCst);
                evicted.waker.wake();
            }
            tracing::warn!(
                max_connections = self.limits.max_connections,
                "the gateway is full: closed its oldest silent connection"
            );
        }
        let sequence = self.sequence.fetch_add(1, Ordering::SeqCst);
        silent.insert(peer, (sequence, standing.clone()));
        self.open.fetch_add(1, Ordering::SeqCst);
        drop(silent);
        Some(Guarded {
            stream,
            peer,
            standing,
            registry: self.clone(),
            first_request: Box::pin(tokio::time::sleep(self.limits.first_request_timeout)),
        })
    }

    /// Returns the accepted connections of `incoming`, each counted and watched until it carries
    /// a request; connections that find the gateway full of callers are closed at once.
    pub(crate) fn guard(self: &Arc<Self>, incoming: TcpIncoming) -> impl Stream<Item = io::Result<Guarded>> + use<> {
        let registry = self.clone();
        incoming.filter_map(move |accepted| {
            let admitted = match accepted {
                Ok(stream) => match registry.admit(stream) {
                    Some(guarded) => Some(Ok(guarded)),
                    None => {
                        tracing::warn!(
                            max_connections = registry.limits.max_connections,
                            "the gateway is full of callers: refused a new connection"
                        );
                        None
                    }
                },
                Err(error) => Some(Err(error)),
            };
            std::future::ready(admitted)
        })
    }
}

/// The connection a request came on, carried in the request's extensions so that the identity
/// layer can mark it a caller's once the request is identified.
#[derive(Debug, Clone)]
pub(crate) struct RequestConnection {
    registry: Arc<Connections>,
    peer: SocketAddr,
}

impl RequestConnection {
    /// Marks the connection a caller's.
    pub(crate) fn identified(&self) {
        self.registry.identified(self.peer);
    }
}

/// An accepted connection, counted while open and closed when it stays silent too long or is
/// evicted.
#[derive(Debug)]
pub(crate) struct Guarded {
    stream: TcpStream,
    peer: SocketAddr,
    standing: Arc<Standing>,
    registry: Arc<Connections>,
    first_request: Pin<Box<Sleep>>,
}

impl Guarded {
    /// Returns an error when the connection must close: evicted, or silent past its timeout.
    fn check(&mut self, context: &mut Context<'_>) -> io::Result<()> {
        if self.standing.caller.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.standing.waker.register(context.waker());
        if self.standing.evicted.load(Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "closed to make way for a new connection"));
        }
        if !self.standing.spoke.load(Ordering::SeqCst) && self.first_request.as_mut().poll(context).is_ready() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no request within the first-request timeout"));
        }
        Ok(())
    }
}

/// Returns the address of the peer a request came from, over TCP or TLS.
pub(crate) fn peer<B>(request: &http::Request<B>) -> Option<SocketAddr> {
    use tonic::transport::server::TlsConnectInfo;
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| extensions.get::<TlsConnectInfo<TcpConnectInfo>>().and_then(|info| info.get_ref().remote_addr()))
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let mut silent = self.registry.silent();
        if silent.get(&self.peer).is_some_and(|(_, standing)| Arc::ptr_eq(standing, &self.standing)) {
            silent.remove(&self.peer);
        }
        self.registry.open.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Connected for Guarded {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check(context)?;
        Pin::new(&mut self.stream).poll_read(context, buffer)
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(mut self: Pin<&mut Self>, context: &mut Context<'_>, buffer: &[u8]) -> Poll<io::Result<usize>> {
        self.check(context)?;
        Pin::new(&mut self.stream).poll_write(context, buffer)
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(context)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check(context)?;
        Pin::new(&mut self.stream).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
