//! A transcript harness: a scenario is written as the RFCs write their examples (`S:` lines the test feeds, `C:`
//! lines the client must have sent), and every scenario runs several times: with each server chunk fed whole, byte by
//! byte, and split in two at every position. The session must behave the same way every time.

#![allow(dead_code)]

use smtp_wasm::{ClientSession, CommandId, Completion, Error, Event, SessionConfig, Timestamp};

/// How server bytes are cut before they reach the session.
#[derive(Debug, Clone, Copy)]
pub enum Split {
    Whole,
    ByteByByte,
    At(usize),
}

pub struct T {
    pub session: ClientSession,
    pub now: Timestamp,
    split: Split,
    sent: Vec<u8>,
    events: Vec<Event>,
    pub transcript: Vec<String>,
}

pub const T0: u64 = 1_700_000_000_000;

impl T {
    pub fn new(config: SessionConfig, split: Split) -> T {
        let now = Timestamp::from_unix_millis(T0);
        let session = ClientSession::new(config, now).expect("valid config");
        let mut t = T {
            session,
            now,
            split,
            sent: Vec::new(),
            events: Vec::new(),
            transcript: Vec::new(),
        };
        t.drain();
        t
    }

    /// Drains every poll, as the sans-IO rule says.
    pub fn drain(&mut self) {
        while let Some(bytes) = self.session.poll_transmit() {
            self.sent.extend_from_slice(&bytes);
        }
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::Transcript(line) => {
                    let prefix = match line.direction {
                        smtp_wasm::Direction::Client => "C: ",
                        smtp_wasm::Direction::Server => "S: ",
                    };
                    self.transcript.push(format!("{prefix}{}", line.text));
                }
                other => self.events.push(other),
            }
        }
        let _ = self.session.poll_timeout();
    }

    /// `S:` — the server sends these lines (each gets CRLF).
    pub fn server(&mut self, lines: &str) {
        let mut bytes = Vec::new();
        for line in lines.lines() {
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        self.server_raw(&bytes);
    }

    /// The server sends exactly these bytes.
    pub fn server_raw(&mut self, bytes: &[u8]) {
        match self.split {
            Split::Whole => self.feed(bytes),
            Split::ByteByByte => {
                for byte in bytes {
                    self.feed(std::slice::from_ref(byte));
                }
            }
            Split::At(at) if at < bytes.len() => {
                self.feed(&bytes[..at]);
                self.feed(&bytes[at..]);
            }
            Split::At(_) => self.feed(bytes),
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.session.handle_input(bytes, self.now);
        self.drain();
    }

    /// `C:` — the client must have sent exactly these lines since the last check.
    pub fn client(&mut self, lines: &str) {
        let mut expected = Vec::new();
        for line in lines.lines() {
            expected.extend_from_slice(line.as_bytes());
            expected.extend_from_slice(b"\r\n");
        }
        self.client_raw(&expected);
    }

    /// The client must have sent exactly these bytes since the last check.
    pub fn client_raw(&mut self, expected: &[u8]) {
        self.drain();
        let sent = std::mem::take(&mut self.sent);
        assert_eq!(
            String::from_utf8_lossy(&sent),
            String::from_utf8_lossy(expected),
            "client bytes differ (split {:?})",
            self.split
        );
    }

    /// Nothing was sent since the last check.
    pub fn client_silent(&mut self) {
        self.client_raw(b"");
    }

    /// Takes the next event (transcript lines are collected separately).
    pub fn event(&mut self) -> Event {
        self.drain();
        assert!(
            !self.events.is_empty(),
            "expected an event (split {:?})",
            self.split
        );
        self.events.remove(0)
    }

    pub fn no_event(&mut self) {
        self.drain();
        assert!(
            self.events.is_empty(),
            "unexpected events {:?} (split {:?})",
            self.events,
            self.split
        );
    }

    /// The next event must be the completion of `id`; returns its result.
    pub fn completed(&mut self, id: CommandId) -> Result<Completion, Error> {
        match self.event() {
            Event::Completed { id: got, result } => {
                assert_eq!(got, id, "completion for another operation: {result:?}");
                result
            }
            other => panic!(
                "expected completion of {id:?}, got {other:?} (split {:?})",
                self.split
            ),
        }
    }

    pub fn ok(&mut self, id: CommandId) -> Completion {
        match self.completed(id) {
            Ok(done) => done,
            Err(error) => panic!("operation failed: {error} (split {:?})", self.split),
        }
    }

    pub fn err(&mut self, id: CommandId) -> Error {
        match self.completed(id) {
            Ok(done) => panic!("operation succeeded: {done:?} (split {:?})", self.split),
            Err(error) => error,
        }
    }

    pub fn greeting(&mut self) {
        self.server("220 mx.example.org ESMTP ready");
        assert!(matches!(self.event(), Event::Greeting(_)));
    }

    pub fn closed(&mut self) -> Option<Error> {
        match self.event() {
            Event::Closed { error } => error,
            other => panic!("expected Closed, got {other:?}"),
        }
    }

    pub fn body_ready(&mut self, id: CommandId) {
        match self.event() {
            Event::BodyReady { id: got } => assert_eq!(got, id),
            other => panic!("expected BodyReady, got {other:?} (split {:?})", self.split),
        }
    }

    pub fn advance(&mut self, millis: u64) {
        self.now = Timestamp::from_unix_millis(self.now.as_unix_millis() + millis);
        self.session.handle_timeout(self.now);
        self.drain();
    }
}

/// A scenario must account for everything: an event nobody took or bytes nobody checked fail the test (a transcript
/// that stops looking early proves less than it seems to).
impl Drop for T {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        self.drain();
        assert!(
            self.events.is_empty(),
            "the scenario left events unread: {:?} (split {:?})",
            self.events,
            self.split
        );
        assert!(
            self.sent.is_empty(),
            "the scenario left client bytes unchecked: {:?} (split {:?})",
            String::from_utf8_lossy(&self.sent),
            self.split
        );
    }
}

/// Runs `scenario` whole, byte by byte, and split in two at every position up to `max_split`.
pub fn each_split(config: impl Fn() -> SessionConfig, max_split: usize, scenario: impl Fn(&mut T)) {
    let mut splits = vec![Split::Whole, Split::ByteByByte];
    splits.extend((1..max_split).map(Split::At));
    for split in splits {
        let mut t = T::new(config(), split);
        scenario(&mut t);
    }
}

/// A configuration for a server known as `mx.example.org` (not localhost), transcript on.
pub fn remote() -> SessionConfig {
    let mut config = SessionConfig::new("mx.example.org");
    config.transcript = true;
    config
}

/// A configuration for `localhost` over a loopback connection (cleartext AUTH allowed), transcript on.
pub fn local() -> SessionConfig {
    let mut config = SessionConfig::new("localhost");
    config.loopback_peer = true;
    config.transcript = true;
    config
}

pub fn now(t: &T) -> Timestamp {
    t.now
}

/// Cuts `input` at the given points (taken modulo its length, sorted), so proptest can shrink them; the pieces
/// concatenate back to `input`.
pub fn cut<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|&c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for point in points {
        pieces.push(&input[start..point]);
        start = point;
    }
    pieces.push(&input[start..]);
    pieces
}
