//! The record plumbing both TLS roles share: ciphertext in (with the framing followed, to tell a peer that does not
//! speak TLS and a stream cut inside a record), plaintext out, plaintext written during the handshake held until it
//! completes, close_notify, and a connection that stays dead after its first error. The client's
//! [`super::TlsLayer`] and the server's `TlsServerLayer` wrap one each and add what differs: how rustls errors and
//! a first flight that is not TLS are explained, and what a completed handshake reports.

use std::io::{Read, Write};
use std::ops::DerefMut;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustls::ConnectionCommon;

use crate::error::{TlsError, TlsErrorKind};
use crate::time::Timestamp;

/// How many of the peer's first bytes are kept to quote in a "not TLS" message.
const FIRST_BYTES_KEPT: usize = 64;

/// What the role says in its messages: the other side's name, and the two ways an EOF can end a handshake.
#[derive(Debug)]
pub(super) struct Peer {
    /// `"server"` or `"client"`.
    pub(super) name: &'static str,
    /// The EOF came before any TLS record.
    pub(super) eof_before_handshake: &'static str,
    /// The EOF came in the middle of the handshake.
    pub(super) eof_during_handshake: &'static str,
}

/// One rustls connection (`ClientConnection` or `ServerConnection`) with its clock and buffers.
#[derive(Debug)]
pub(super) struct TlsStream<C> {
    pub(super) conn: C,
    clock: Arc<AtomicU64>,
    peer: &'static Peer,
    /// Plaintext written during the handshake, encrypted once it completes.
    early_plaintext: Vec<u8>,
    early_limit: usize,
    failed: Option<TlsError>,
    records: RecordTracker,
    first_bytes: Vec<u8>,
    peer_closed: bool,
    close_notify_sent: bool,
}

impl<C, D> TlsStream<C>
where
    C: DerefMut<Target = ConnectionCommon<D>>,
{
    /// `clock` is the one the connection's configuration reads; `early_limit` bounds the plaintext held during the
    /// handshake.
    pub(super) fn new(conn: C, clock: Arc<AtomicU64>, peer: &'static Peer, early_limit: usize) -> Self {
        TlsStream {
            conn,
            clock,
            peer,
            early_plaintext: Vec::new(),
            early_limit,
            failed: None,
            records: RecordTracker::default(),
            first_bytes: Vec::new(),
            peer_closed: false,
            close_notify_sent: false,
        }
    }

    /// Whether the handshake is still under way (false once it completed, or failed).
    pub(super) fn is_handshaking(&self) -> bool {
        self.failed.is_none() && self.conn.is_handshaking()
    }

    /// Whether the handshake completed and nothing failed since.
    pub(super) fn is_established(&self) -> bool {
        !self.is_handshaking() && self.failed.is_none()
    }

    /// Whether the peer sent close_notify.
    pub(super) fn is_closed_by_peer(&self) -> bool {
        self.peer_closed
    }

    /// Feeds ciphertext; decrypted plaintext is appended to `plaintext`. `not_tls` explains a first flight that is
    /// not TLS (from the bytes received), `from_rustls` an error of rustls.
    pub(super) fn handle_ciphertext(
        &mut self,
        bytes: &[u8],
        now: Timestamp,
        plaintext: &mut Vec<u8>,
        not_tls: fn(&[u8]) -> TlsError,
        from_rustls: impl FnOnce(&rustls::Error) -> TlsError,
    ) -> Result<(), TlsError> {
        self.check_alive()?;
        self.clock.store(now.as_unix_millis(), Ordering::Relaxed);
        if self.records.records == 0 && self.first_bytes.len() < FIRST_BYTES_KEPT {
            let keep = bytes.len().min(FIRST_BYTES_KEPT - self.first_bytes.len());
            self.first_bytes
                .extend_from_slice(bytes.get(..keep).unwrap_or_default());
        }
        if self.records.feed(bytes).is_err() {
            return Err(self.fail(not_tls(&self.first_bytes)));
        }
        let mut input = bytes;
        while !input.is_empty() {
            match self.conn.read_tls(&mut input) {
                // After close_notify rustls reads nothing more; whatever follows it is ignored.
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    let message = format!("cannot buffer TLS data from the {}: {e}", self.peer.name);
                    return Err(self.fail(other(message)));
                }
            }
            match self.conn.process_new_packets() {
                Ok(state) => self.peer_closed |= state.peer_has_closed(),
                Err(e) => return Err(self.fail(from_rustls(&e))),
            }
            // Drained after every record batch so rustls' own plaintext buffer never fills.
            match self.conn.reader().read_to_end(plaintext) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(self.fail(other(format!("cannot read decrypted data: {e}")))),
            }
        }
        self.flush_early_plaintext()
    }

    /// The peer closed the transport: an error during the handshake or inside a record. A close without
    /// close_notify between records is accepted: many SMTP peers close that way, and SMTP's own framing detects
    /// truncation.
    pub(super) fn handle_eof(&mut self) -> Result<(), TlsError> {
        self.check_alive()?;
        if self.conn.is_handshaking() {
            let message = if self.records.records == 0 && !self.records.mid_record() {
                self.peer.eof_before_handshake
            } else {
                self.peer.eof_during_handshake
            };
            return Err(self.fail(TlsError {
                kind: TlsErrorKind::ClosedDuringHandshake,
                message: message.into(),
            }));
        }
        if !self.peer_closed && self.records.mid_record() {
            return Err(self.fail(other(
                "the connection closed in the middle of a TLS record: data was truncated",
            )));
        }
        Ok(())
    }

    /// Queues plaintext to encrypt; during the handshake it is held (up to the early limit) until it completes.
    pub(super) fn write_plaintext(&mut self, bytes: &[u8]) -> Result<(), TlsError> {
        self.check_alive()?;
        if self.close_notify_sent {
            return Err(other("cannot write after close_notify was sent"));
        }
        if self.conn.is_handshaking() {
            if self.early_plaintext.len().saturating_add(bytes.len()) > self.early_limit {
                return Err(other(format!(
                    "more than {} bytes written before the TLS handshake completed",
                    self.early_limit
                )));
            }
            self.early_plaintext.extend_from_slice(bytes);
            return Ok(());
        }
        self.encrypt(bytes)
    }

    /// Drops the plaintext held for the end of the handshake; returns how many bytes were dropped.
    #[cfg(feature = "server")]
    pub(super) fn discard_early_plaintext(&mut self) -> usize {
        std::mem::take(&mut self.early_plaintext).len()
    }

    /// Queues a close_notify alert once.
    pub(super) fn send_close_notify(&mut self) {
        if !self.close_notify_sent {
            self.close_notify_sent = true;
            self.conn.send_close_notify();
        }
    }

    /// Moves the pending ciphertext to the end of `out`.
    pub(super) fn poll_ciphertext(&mut self, out: &mut Vec<u8>) {
        while self.conn.wants_write() {
            match self.conn.write_tls(out) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }

    fn check_alive(&self) -> Result<(), TlsError> {
        match &self.failed {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    fn fail(&mut self, error: TlsError) -> TlsError {
        self.failed = Some(error.clone());
        error
    }

    fn flush_early_plaintext(&mut self) -> Result<(), TlsError> {
        if self.early_plaintext.is_empty() || self.conn.is_handshaking() {
            return Ok(());
        }
        let early = std::mem::take(&mut self.early_plaintext);
        self.encrypt(&early)
    }

    fn encrypt(&mut self, bytes: &[u8]) -> Result<(), TlsError> {
        // With no buffer limit rustls takes everything; an error here means the connection is unusable.
        self.conn
            .writer()
            .write_all(bytes)
            .map_err(|e| self.fail(other(format!("cannot encrypt data: {e}"))))
    }
}

/// A [`TlsErrorKind::Other`] error.
pub(super) fn other(message: impl Into<String>) -> TlsError {
    TlsError {
        kind: TlsErrorKind::Other,
        message: message.into(),
    }
}

/// Follows the TLS record framing of what the peer sends, without interpreting it: enough to tell a peer that does
/// not speak TLS at all, and a connection cut in the middle of a record.
#[derive(Debug, Default)]
struct RecordTracker {
    header: [u8; 5],
    header_len: usize,
    body_left: usize,
    records: u64,
}

impl RecordTracker {
    /// Follows `bytes`; `Err` if the very first record header is not TLS.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), ()> {
        while let Some((&byte, rest)) = bytes.split_first() {
            if self.body_left > 0 {
                let take = self.body_left.min(bytes.len());
                self.body_left -= take;
                bytes = bytes.get(take..).unwrap_or_default();
                continue;
            }
            bytes = rest;
            if let Some(slot) = self.header.get_mut(self.header_len) {
                *slot = byte;
            }
            self.header_len += 1;
            if self.records == 0 {
                // ContentType change_cipher_spec(20), alert(21), handshake(22), application_data(23); then the
                // major version, 3 for every SSL 3.0+/TLS record.
                let plausible = match self.header_len {
                    1 => (20..=23).contains(&byte),
                    2 => byte == 3,
                    _ => true,
                };
                if !plausible {
                    return Err(());
                }
            }
            if self.header_len == self.header.len() {
                self.body_left = usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
                self.header_len = 0;
                self.records += 1;
            }
        }
        Ok(())
    }

    fn mid_record(&self) -> bool {
        self.header_len > 0 || self.body_left > 0
    }
}

#[cfg(test)]
mod tests {
    use super::RecordTracker;

    #[test]
    fn record_tracker_follows_framing() {
        let mut tracker = RecordTracker::default();
        assert!(tracker.feed(&[22, 3, 3, 0, 2, 1]).is_ok());
        assert!(tracker.mid_record());
        assert!(tracker.feed(&[2, 23, 3]).is_ok());
        assert!(tracker.mid_record());
        assert!(tracker.feed(&[3, 0, 0]).is_ok());
        assert!(!tracker.mid_record());
        // Garbage after the first record is for rustls to refuse, not for the tracker.
        assert!(tracker.feed(b"220 ").is_ok());
        assert!(RecordTracker::default().feed(b"220 mail").is_err());
        assert!(RecordTracker::default().feed(&[22, 2]).is_err());
    }
}
