//! A server transcript harness: a scenario is written as the RFCs write their examples (`C:` what the client sends,
//! `S:` what the server must have answered), against a recording backend that answers every decision by its rules
//! (go-smtp's `server_test.go` shape). Every scenario runs with the client's bytes whole, byte by byte, and split in
//! two at every position; the server must behave the same way every time.

#![allow(dead_code)]

use smtp_wasm::{
    Credentials, Decision, HelloKind, PeerInfo, RequestId, ServerConfig, ServerEvent, ServerMailOptions,
    ServerRcptOptions, ServerSession, Timestamp, XclientAttribute,
};

/// How client bytes are cut before they reach the session.
#[derive(Debug, Clone, Copy)]
pub enum Split {
    Whole,
    ByteByByte,
    At(usize),
}

pub const T0: u64 = 1_700_000_000_000;

/// One message as the backend received it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
    pub mail: ServerMailOptions,
    pub rcpt: Vec<ServerRcptOptions>,
}

impl Message {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

type Rule<T> = Box<dyn Fn(&T) -> Decision>;
type LmtpRule = Box<dyn Fn(&Message) -> (Decision, Vec<Option<Decision>>)>;
type Attributes = Vec<(XclientAttribute, Option<String>)>;

/// The recording backend: accepts everything unless a rule says otherwise.
#[derive(Default)]
pub struct Backend {
    pub hello: Option<Rule<String>>,
    pub auth: Option<Rule<Credentials>>,
    pub mail: Option<Rule<String>>,
    pub rcpt: Option<Rule<String>>,
    pub data: Option<Rule<Message>>,
    /// LMTP: (overall, per recipient).
    pub lmtp: Option<LmtpRule>,
    pub xclient: Option<Rule<Attributes>>,
    /// Leave decisions unanswered (the test answers by hand).
    pub manual: bool,
    /// Do not confirm content (backpressure tests).
    pub hold_content: bool,
}

pub struct H {
    pub session: ServerSession,
    pub now: Timestamp,
    pub split: Split,
    pub backend: Backend,
    sent: Vec<u8>,
    pub log: Vec<String>,
    pub transcript: Vec<String>,
    pub current: Message,
    pub messages: Vec<Message>,
    pub auths: Vec<Credentials>,
    pub hellos: Vec<(HelloKind, String)>,
    pub pending: Vec<(RequestId, String)>,
    pub closed: Option<smtp_wasm::CloseReason>,
    pub start_tls: bool,
    pub held_content: usize,
}

impl H {
    pub fn new(config: ServerConfig, peer: PeerInfo, backend: Backend, split: Split) -> H {
        let now = Timestamp::from_unix_millis(T0);
        let session = ServerSession::new(config, peer, now).expect("valid config");
        let mut h = H {
            session,
            now,
            split,
            backend,
            sent: Vec::new(),
            log: Vec::new(),
            transcript: Vec::new(),
            current: Message::default(),
            messages: Vec::new(),
            auths: Vec::new(),
            hellos: Vec::new(),
            pending: Vec::new(),
            closed: None,
            start_tls: false,
            held_content: 0,
        };
        h.drain();
        h
    }

    /// Drains every poll, answering decisions through the backend.
    pub fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(bytes) = self.session.poll_transmit() {
                self.sent.extend_from_slice(&bytes);
                progressed = true;
            }
            while let Some(event) = self.session.poll_event() {
                progressed = true;
                self.on_event(event);
            }
            if self.session.poll_start_tls() {
                self.start_tls = true;
            }
            let _ = self.session.poll_timeout();
            if !progressed {
                return;
            }
        }
    }

    fn on_event(&mut self, event: ServerEvent) {
        let now = self.now;
        let name = event_name(&event);
        match &event {
            ServerEvent::Transcript(line) => {
                let prefix = if line.from_client { "C: " } else { "S: " };
                self.transcript.push(format!("{prefix}{}", line.text));
                return;
            }
            ServerEvent::Content(chunk) => {
                self.current.data.extend_from_slice(chunk);
                if self.backend.hold_content {
                    self.held_content += chunk.len();
                } else {
                    self.session.content_read(chunk.len(), now);
                }
                return;
            }
            _ => {}
        }
        self.log.push(name.clone());
        if self.backend.manual {
            if let Some(id) = event.request_id() {
                self.pending.push((id, name));
            }
            return;
        }
        let answer = match event {
            ServerEvent::Hello { id, kind, name } => {
                self.hellos.push((kind, name.clone()));
                Some((
                    id,
                    self.backend.hello.as_ref().map_or(Decision::Accept, |r| r(&name)),
                ))
            }
            ServerEvent::Auth { id, credentials, .. } => {
                let decision = self
                    .backend
                    .auth
                    .as_ref()
                    .map_or(Decision::Accept, |r| r(&credentials));
                self.auths.push(credentials);
                Some((id, decision))
            }
            ServerEvent::Mail { id, from, options } => {
                let decision = self.backend.mail.as_ref().map_or(Decision::Accept, |r| r(&from));
                if decision == Decision::Accept {
                    self.current = Message {
                        from,
                        mail: options,
                        ..Default::default()
                    };
                }
                Some((id, decision))
            }
            ServerEvent::Rcpt { id, to, options } => {
                let decision = self.backend.rcpt.as_ref().map_or(Decision::Accept, |r| r(&to));
                if decision == Decision::Accept {
                    self.current.to.push(to);
                    self.current.rcpt.push(options);
                }
                Some((id, decision))
            }
            ServerEvent::MessageEnd { id, size } => {
                assert_eq!(
                    size,
                    self.current.data.len() as u64,
                    "size counts the content handed out"
                );
                let decision = self
                    .backend
                    .data
                    .as_ref()
                    .map_or(Decision::Accept, |r| r(&self.current));
                if decision == Decision::Accept {
                    self.messages.push(self.current.clone());
                }
                self.current.data.clear();
                Some((id, decision))
            }
            ServerEvent::LmtpMessageEnd { id, recipients, .. } => {
                assert_eq!(recipients, self.current.to);
                let (overall, per) = match &self.backend.lmtp {
                    Some(rule) => rule(&self.current),
                    None => (Decision::Accept, Vec::new()),
                };
                self.messages.push(self.current.clone());
                self.current.data.clear();
                self.session.answer_lmtp(id, overall, per, now).expect("pending");
                None
            }
            ServerEvent::MessageAborted { .. } => {
                self.current.data.clear();
                None
            }
            ServerEvent::Xclient { id, attributes } => Some((
                id,
                self.backend
                    .xclient
                    .as_ref()
                    .map_or(Decision::Accept, |r| r(&attributes)),
            )),
            ServerEvent::Closed { reason } => {
                self.closed = Some(reason);
                None
            }
            _ => None,
        };
        if let Some((id, decision)) = answer {
            self.session
                .answer(id, decision, now)
                .expect("the decision is pending");
        }
    }

    /// `C:` — the client sends these lines (each gets CRLF).
    pub fn client(&mut self, lines: &str) {
        self.client_raw(&crlf(lines));
    }

    /// The client sends exactly these bytes, cut as the split says.
    pub fn client_raw(&mut self, bytes: &[u8]) {
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

    pub fn feed(&mut self, bytes: &[u8]) {
        self.session.handle_input(bytes, self.now);
        self.drain();
    }

    /// `S:` — the server must have sent exactly these lines since the last check.
    pub fn server(&mut self, lines: &str) {
        self.server_raw(&crlf(lines));
    }

    pub fn server_raw(&mut self, expected: &[u8]) {
        self.drain();
        let sent = std::mem::take(&mut self.sent);
        assert_eq!(
            String::from_utf8_lossy(&sent),
            String::from_utf8_lossy(expected),
            "server bytes differ (split {:?})",
            self.split
        );
    }

    /// The server's replies since the last check, as lines, only their first 3 or more characters compared:
    /// each expected line is a prefix of the actual one (`"250 "`, `"552 5.3.4"`).
    pub fn server_prefixes(&mut self, prefixes: &[&str]) {
        self.drain();
        let sent = String::from_utf8_lossy(&std::mem::take(&mut self.sent)).into_owned();
        let lines: Vec<&str> = sent.split_terminator("\r\n").collect();
        assert_eq!(
            lines.len(),
            prefixes.len(),
            "replies {lines:?} (split {:?})",
            self.split
        );
        for (line, prefix) in lines.iter().zip(prefixes) {
            assert!(
                line.starts_with(prefix),
                "{line:?} does not start with {prefix:?} (split {:?})",
                self.split
            );
        }
    }

    /// Moves whatever the server sent since the last check into `out`.
    pub fn server_prefixes_take(&mut self, out: &mut Vec<u8>) {
        self.drain();
        out.append(&mut self.sent);
    }

    /// Drops whatever the server sent since the last check.
    pub fn discard(&mut self) {
        self.drain();
        self.sent.clear();
    }

    pub fn silent(&mut self) {
        self.server_raw(b"");
    }

    pub fn advance(&mut self, millis: u64) {
        self.now = Timestamp::from_unix_millis(self.now.as_unix_millis() + millis);
        self.session.handle_timeout(self.now);
        self.drain();
    }

    /// Greeting then `EHLO client.example` accepted; the replies are dropped.
    pub fn ehlo(&mut self) {
        self.client("EHLO client.example");
        self.drain();
        self.sent.clear();
    }
}

pub fn crlf(lines: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    for line in lines.lines() {
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes
}

/// A short name for the event log (`"Mail <a@b>"`, `"Reset"`).
pub fn event_name(event: &ServerEvent) -> String {
    match event {
        ServerEvent::Hello { kind, name, .. } => format!("Hello {kind:?} {name}"),
        ServerEvent::Auth { mechanism, .. } => format!("Auth {}", mechanism.name()),
        ServerEvent::Mail { from, .. } => format!("Mail <{from}>"),
        ServerEvent::Rcpt { to, .. } => format!("Rcpt <{to}>"),
        ServerEvent::MessageStart { bdat } => format!("MessageStart bdat={bdat}"),
        ServerEvent::Content(chunk) => format!("Content {}", chunk.len()),
        ServerEvent::MessageEnd { size, .. } => format!("MessageEnd {size}"),
        ServerEvent::LmtpMessageEnd { size, .. } => format!("LmtpMessageEnd {size}"),
        ServerEvent::MessageAborted { reason } => format!("MessageAborted {reason:?}"),
        ServerEvent::Reset => "Reset".into(),
        ServerEvent::Xclient { .. } => "Xclient".into(),
        ServerEvent::StartTls => "StartTls".into(),
        ServerEvent::TlsEstablished { .. } => "TlsEstablished".into(),
        ServerEvent::Quit => "Quit".into(),
        ServerEvent::Closed { reason } => format!("Closed {reason:?}"),
        ServerEvent::Transcript(line) => format!("Transcript {}", line.text),
    }
}

/// Runs `scenario` whole, byte by byte, and split in two at every position up to `max_split`.
pub fn each_split(
    config: impl Fn() -> ServerConfig,
    peer: impl Fn() -> PeerInfo,
    backend: impl Fn() -> Backend,
    max_split: usize,
    scenario: impl Fn(&mut H),
) {
    let mut splits = vec![Split::Whole, Split::ByteByByte];
    splits.extend((1..max_split).map(Split::At));
    for split in splits {
        let mut h = H::new(config(), peer(), backend(), split);
        scenario(&mut h);
    }
}

/// `mx.example.org`, defaults otherwise.
pub fn config() -> ServerConfig {
    ServerConfig::new("mx.example.org")
}

/// [`config`] with some settings changed, made anew for every run of a scenario.
pub fn config_with(change: impl Fn(&mut ServerConfig) + Copy) -> impl Fn() -> ServerConfig + Copy {
    move || {
        let mut c = config();
        change(&mut c);
        c
    }
}

/// A remote peer at 192.0.2.10:40000 without TLS.
pub fn remote() -> PeerInfo {
    PeerInfo {
        remote_ip: Some("192.0.2.10".parse().unwrap()),
        remote_port: Some(40000),
        local_ip: Some("198.51.100.1".parse().unwrap()),
        local_port: Some(25),
        ..Default::default()
    }
}

/// The same peer under implicit TLS.
pub fn remote_tls() -> PeerInfo {
    PeerInfo {
        tls: true,
        ..remote()
    }
}

pub fn accept_all() -> Backend {
    Backend::default()
}
