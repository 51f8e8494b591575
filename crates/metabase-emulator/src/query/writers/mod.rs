//! Response writers for query results: the 202 JSON body of `/api/dataset` and card queries, and
//! the csv, json and xlsx export bodies. Each runs on a blocking thread and sends bytes through a
//! bounded channel, so a slow client slows the query and memory stays flat.

mod api;
mod export;
mod xlsx;

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use bytes::Bytes;
use tokio::sync::mpsc;

pub use self::api::{ApiResponse, write_api_response};
pub use self::export::{ExportFormat, ExportRequest, write_export};

/// How many bytes a chunk collects before it is sent.
const CHUNK_BYTES: usize = 64 * 1024;

/// A channel item: body bytes, or an error that aborts the connection.
pub type BodyChunk = Result<Bytes, io::Error>;

/// Collects bytes into chunks and sends them to the response body; writes fail once the client
/// has gone, which stops the query.
pub struct ChunkSender {
    sender: mpsc::Sender<BodyChunk>,
    buffer: Vec<u8>,
    closed: bool,
}

impl ChunkSender {
    /// Returns a sender feeding the given channel.
    pub fn new(sender: mpsc::Sender<BodyChunk>) -> Self {
        ChunkSender { sender, buffer: Vec::with_capacity(CHUNK_BYTES * 2), closed: false }
    }

    /// Returns the buffer to write into directly; call [`ChunkSender::maybe_flush`] after.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buffer
    }

    /// Sends the buffer if it is full; returns false when the client has gone.
    pub fn maybe_flush(&mut self) -> bool {
        if self.buffer.len() < CHUNK_BYTES {
            return !self.closed;
        }
        self.send()
    }

    /// Sends whatever is buffered; returns false when the client has gone.
    pub fn send(&mut self) -> bool {
        if self.closed {
            self.buffer.clear();
            return false;
        }
        if self.buffer.is_empty() {
            return true;
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES * 2)));
        if self.sender.blocking_send(Ok(chunk)).is_err() {
            self.closed = true;
        }
        !self.closed
    }

    /// Discards everything written from now on.
    pub fn close(&mut self) {
        self.send();
        self.closed = true;
    }
}

impl Write for ChunkSender {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "client went away"));
        }
        self.buffer.extend_from_slice(bytes);
        if self.maybe_flush() {
            Ok(bytes.len())
        } else {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A [`ChunkSender`] shared between a format writer and the code that may need to write raw
/// bytes (an error object) around it.
#[derive(Clone)]
pub struct SharedSender(pub Rc<RefCell<ChunkSender>>);

impl Write for SharedSender {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Returns a bounded channel for a streamed body and the stream side for axum.
pub fn body_channel() -> (mpsc::Sender<BodyChunk>, tokio_stream::wrappers::ReceiverStream<BodyChunk>) {
    let (sender, receiver) = mpsc::channel(8);
    (sender, tokio_stream::wrappers::ReceiverStream::new(receiver))
}
