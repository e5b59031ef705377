//! [`WasmServerConnection`]: the server core as a JavaScript class, for `smtp-wasm/server`. Every method is
//! synchronous; the TypeScript driver (`ts/server/conn.ts`) feeds input, answers decisions, then drains
//! `pollTransmit`, `pollEvent` and `pollTimeout`. [`WasmServerConfig`] is made once per server, so the certificate
//! and key are parsed once and every connection shares the rustls configuration (and its resumption cache).
//! The value shapes are mirrored by hand in `ts/server/core.ts` and `ts/server/smtp_wasm_server.d.ts`.

use std::net::IpAddr;
use std::sync::Arc;

use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::prelude::*;

use super::js::{
    error_to_js, get, get_bool, get_string, get_strings, get_u64, millis, option_error, set, text, timestamp,
};
use crate::codec::params::{
    DeliverBy, DeliverByMode, DsnRet, MailBody, MtPriorityProfile, RrvsAction, ServerRcptOptions,
};
use crate::codec::proxy::ProxyParse;
use crate::sasl::{Credentials, Mechanism};
use crate::server::{
    CloseReason, Decision, HelloKind, MessageAbort, PeerInfo, RequestId, ServerConfig, ServerConnection,
    ServerEvent, XclientAttribute,
};
use crate::tls::{TlsAcceptor, TlsServerOptions};
use crate::ServerReply;

/// Reads a PROXY protocol header (version 1 or 2) from the start of `input` (src/codec/proxy.rs): `undefined` while
/// incomplete; `{ consumed, sourceAddress?, sourcePort?, destinationAddress?, destinationPort? }` once read (no
/// addresses for a health check); throws `{ kind: "proxy", message }` when it is not one.
#[wasm_bindgen(js_name = parseProxyHeader)]
pub fn parse_proxy_header(input: &[u8]) -> Result<JsValue, JsValue> {
    match crate::codec::proxy::parse_proxy_header(input) {
        ProxyParse::Incomplete => Ok(JsValue::UNDEFINED),
        ProxyParse::Invalid(why) => {
            let error = Object::new();
            set(&error, "kind", text("proxy"));
            set(&error, "message", text(why));
            Err(error.into())
        }
        ProxyParse::Done { header, consumed } => {
            let o = Object::new();
            set(&o, "consumed", consumed as f64);
            if let Some(source) = header.source {
                set(&o, "sourceAddress", source.ip().to_string());
                set(&o, "sourcePort", f64::from(source.port()));
            }
            if let Some(destination) = header.destination {
                set(&o, "destinationAddress", destination.ip().to_string());
                set(&o, "destinationPort", f64::from(destination.port()));
            }
            Ok(o.into())
        }
    }
}

/// A server's configuration, parsed once: the session settings and the TLS acceptor (certificate and key).
#[wasm_bindgen]
pub struct WasmServerConfig {
    /// Shared by every connection (`tls_available` already matches `acceptor`, so it is never copied).
    config: Arc<ServerConfig>,
    acceptor: Option<TlsAcceptor>,
}

#[wasm_bindgen]
impl WasmServerConfig {
    /// `config`: `{ domain, lmtp, tls: { cert, key } | null, maxRecipients, maxMessageBytes, maxLineLength,
    /// allowInsecureAuth, authDisabled, strict, enableSmtpUtf8, enableRequireTls, enableBinaryMime, enableDsn,
    /// readTimeout, transcript, authMechanisms, secureNets, xclient }`. Throws `{ kind, message }` for a certificate
    /// or key that cannot be used, or a bad CIDR.
    #[wasm_bindgen(constructor)]
    pub fn new(config: &JsValue) -> Result<WasmServerConfig, JsValue> {
        let domain = get_string(config, "domain")?.ok_or_else(|| option_error("domain", "is required"))?;
        let mut c = ServerConfig::new(&domain);
        c.lmtp = get_bool(config, "lmtp")?;
        if let Some(n) = get_u64(config, "maxRecipients")? {
            c.max_recipients = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = get_u64(config, "maxMessageBytes")? {
            c.max_message_bytes = n;
        }
        if let Some(n) = get_u64(config, "maxLineLength")? {
            if n > 0 {
                c.max_line_length = usize::try_from(n).unwrap_or(usize::MAX);
            }
        }
        c.allow_insecure_auth = get_bool(config, "allowInsecureAuth")?;
        c.auth_disabled = get_bool(config, "authDisabled")?;
        c.strict = get_bool(config, "strict")?;
        c.enable_smtputf8 = get_bool(config, "enableSmtpUtf8")?;
        c.enable_requiretls = get_bool(config, "enableRequireTls")?;
        c.enable_binarymime = get_bool(config, "enableBinaryMime")?;
        c.enable_dsn = get_bool(config, "enableDsn")?;
        c.enable_rrvs = get_bool(config, "enableRrvs")?;
        c.enable_deliver_by = get_bool(config, "enableDeliverBy")?;
        if let Some(ms) = get_u64(config, "minimumDeliverByTime")? {
            c.minimum_deliver_by_time = core::time::Duration::from_millis(ms);
        }
        c.enable_mt_priority = get_bool(config, "enableMtPriority")?;
        if let Some(name) = get_string(config, "mtPriorityProfile")? {
            let profile = MtPriorityProfile::from_name(&name)
                .ok_or_else(|| option_error("mtPriorityProfile", "must be MIXER, STANAG4406 or NSEP"))?;
            c.mt_priority_profile = Some(profile);
        }
        c.transcript = get_bool(config, "transcript")?;
        c.xclient_allowed = get_bool(config, "xclient")?;
        c.read_timeout = match get_u64(config, "readTimeout")? {
            Some(0) => None,
            Some(ms) => Some(core::time::Duration::from_millis(ms)),
            None => c.read_timeout,
        };
        let mechanisms = get(config, "authMechanisms");
        if !mechanisms.is_undefined() {
            c.auth_mechanisms = get_strings(config, "authMechanisms")?
                .iter()
                .filter_map(|name| Mechanism::from_name(name))
                .collect();
        }
        c.secure_nets = get_strings(config, "secureNets")?;
        let tls = get(config, "tls");
        let acceptor = if tls.is_object() {
            let cert = get_string(&tls, "cert")?.ok_or_else(|| option_error("tls.cert", "is required"))?;
            let key = get_string(&tls, "key")?.ok_or_else(|| option_error("tls.key", "is required"))?;
            let mut options = TlsServerOptions::new(cert, key);
            let sni = get(&tls, "sni");
            if sni.is_object() {
                for entry in Object::entries(sni.unchecked_ref::<Object>()).iter() {
                    let pair: Array = entry.unchecked_into();
                    let name = pair.get(0).as_string().unwrap_or_default();
                    let value = pair.get(1);
                    let cert =
                        get_string(&value, "cert")?.ok_or_else(|| option_error("tls.sni", "needs cert"))?;
                    let key =
                        get_string(&value, "key")?.ok_or_else(|| option_error("tls.sni", "needs key"))?;
                    options = options.with_sni_certificate(name, cert, key);
                }
            }
            Some(TlsAcceptor::new(&options).map_err(|error| error_to_js(&error))?)
        } else {
            None
        };
        c.tls_available = acceptor.is_some();
        let config = Arc::new(c);
        // A bad CIDR (or another refused setting) is reported now, not at the first connection.
        crate::server::ServerSession::new(Arc::clone(&config), PeerInfo::default(), timestamp(0.0))
            .map_err(|error| error_to_js(&error))?;
        Ok(WasmServerConfig { config, acceptor })
    }
}

/// One client connection: the TLS layer and the server session.
#[wasm_bindgen]
pub struct WasmServerConnection {
    inner: ServerConnection,
    /// The event `nextEvent` took last, as numbers and one value (see [`WasmServerConnection::next_event`]).
    event_id: f64,
    event_number: f64,
    event_flags: u32,
    event_value: JsValue,
}

// `nextEvent` kinds: the events every message has cross as a number, a few numbers and at most one string or
// chunk; `ts/server/wasm.ts` builds the same objects `pollEvent` would (`event_to_js`), as object literals.
/// No event.
const EVENT_NONE: u32 = 0;
/// `content`: `eventValue()` is the chunk.
const EVENT_CONTENT: u32 = 1;
/// `mail` without AUTH=, RET= or ENVID=: `eventId()`, `eventValue()` the address, `eventNumber()` SIZE= (-1:
/// none), `eventFlags()` SMTPUTF8 (1), REQUIRETLS (2) and BODY= (bits 2-3: 0 none, 1 7BIT, 2 8BITMIME, 3 BINARYMIME).
const EVENT_MAIL: u32 = 2;
/// `rcpt` without parameters: `eventId()`, `eventValue()` the address.
const EVENT_RCPT: u32 = 3;
/// `hello`: `eventId()`, `eventValue()` the name, `eventFlags()` 0 HELO, 1 EHLO, 2 LHLO.
const EVENT_HELLO: u32 = 4;
/// `data-start`: `eventFlags()` 1 for BDAT.
const EVENT_DATA_START: u32 = 5;
/// `data-end`: `eventId()`, `eventNumber()` the size.
const EVENT_DATA_END: u32 = 6;
/// `quit` (no id).
const EVENT_QUIT: u32 = 7;
/// `reset` (no id).
const EVENT_RESET: u32 = 8;
/// `closed`: `eventValue()` the reason.
const EVENT_CLOSED: u32 = 9;
/// Any other event: `eventValue()` is the object `pollEvent` returns.
const EVENT_OTHER: u32 = 10;

/// An address as the session wants it: IPv4-mapped IPv6 (what a dual-stack listener reports) as IPv4.
fn ip(text: &str) -> Option<IpAddr> {
    let trimmed = text.trim_start_matches('[').trim_end_matches(']');
    let addr: IpAddr = trimmed.split('%').next()?.parse().ok()?;
    Some(match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    })
}

/// A port number from JavaScript; `None` for 0 (unknown) or anything that is not a port.
fn port(value: f64) -> Option<u16> {
    (1.0..=65535.0).contains(&value).then_some(value as u16)
}

/// `{ code, enhancedCode: [c, s, d] | null, text }` as a reply; `None` for undefined/null.
fn reply_of(value: &JsValue) -> Result<Option<ServerReply>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let code = get_u64(value, "code")?.ok_or_else(|| option_error("code", "is required"))?;
    let code = u16::try_from(code)
        .ok()
        .filter(|c| (200..600).contains(c))
        .ok_or_else(|| option_error("code", "must be a reply code (200-599)"))?;
    let message = get_string(value, "text")?.unwrap_or_default();
    let enhanced = get(value, "enhancedCode");
    let enhanced = if Array::is_array(&enhanced) {
        let parts = Array::from(&enhanced);
        let n = |i: u32| parts.get(i).as_f64().unwrap_or(0.0) as u16;
        Some((u8::try_from(n(0)).unwrap_or(0), n(1), n(2)))
    } else {
        None
    };
    Ok(Some(ServerReply::new(code, enhanced, &message)))
}

fn decision(value: &JsValue) -> Result<Decision, JsValue> {
    Ok(reply_of(value)?.map_or(Decision::Accept, Decision::Reply))
}

fn abort_name(reason: MessageAbort) -> &'static str {
    match reason {
        MessageAbort::TooBig => "too-big",
        MessageAbort::BareLf => "bare-lf",
        MessageAbort::Reset => "reset",
        MessageAbort::PeerClosed => "peer-closed",
        MessageAbort::Timeout => "timeout",
        MessageAbort::Shutdown => "shutdown",
    }
}

fn close_name(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::Quit => "quit",
        CloseReason::PeerClosed => "peer-closed",
        CloseReason::Timeout => "timeout",
        CloseReason::TooManyErrors => "too-many-errors",
        CloseReason::Shutdown => "shutdown",
        CloseReason::TlsFailed => "tls-failed",
        CloseReason::InputOverflow => "input-overflow",
    }
}

fn id_of(id: f64) -> RequestId {
    RequestId(id as u64)
}

/// `deliverBy: { time, mode, trace }` (go-smtp's `DeliverByOptions`, time in seconds) and `mtPriority`, where given.
fn set_deliver_by_and_priority(o: &Object, deliver_by: Option<DeliverBy>, mt_priority: Option<i8>) {
    if let Some(by) = deliver_by {
        let d = Object::new();
        set(&d, "time", by.seconds as f64);
        set(
            &d,
            "mode",
            text(if by.mode == DeliverByMode::Return {
                "R"
            } else {
                "N"
            }),
        );
        set(&d, "trace", by.trace);
        set(o, "deliverBy", d);
    }
    if let Some(priority) = mt_priority {
        set(o, "mtPriority", f64::from(priority));
    }
}

fn event_to_js(event: ServerEvent) -> JsValue {
    let obj = Object::new();
    let kind = |name: &'static str| set(&obj, "type", text(name));
    match event {
        ServerEvent::Hello {
            id,
            kind: hello,
            name,
        } => {
            kind("hello");
            set(&obj, "id", id.get() as f64);
            let verb = match hello {
                HelloKind::Helo => "HELO",
                HelloKind::Ehlo => "EHLO",
                HelloKind::Lhlo => "LHLO",
            };
            set(&obj, "kind", text(verb));
            set(&obj, "name", name);
        }
        ServerEvent::Auth {
            id,
            mechanism,
            credentials,
        } => {
            kind("auth");
            set(&obj, "id", id.get() as f64);
            set(&obj, "mechanism", text(mechanism.name()));
            match credentials {
                Credentials::Password {
                    username,
                    password,
                    identity,
                } => {
                    set(&obj, "username", username);
                    set(&obj, "password", password);
                    if let Some(identity) = identity {
                        set(&obj, "identity", identity);
                    }
                }
                Credentials::OAuth {
                    username,
                    access_token,
                } => {
                    set(&obj, "username", username);
                    set(&obj, "token", access_token);
                }
                // Never produced by the server (SaslServer::supports refuses EXTERNAL).
                Credentials::External { identity } => {
                    set(&obj, "username", identity.unwrap_or_default());
                }
            }
        }
        ServerEvent::Mail { id, from, options } => {
            kind("mail");
            set(&obj, "id", id.get() as f64);
            set(&obj, "from", from);
            let o = Object::new();
            if let Some(size) = options.size {
                set(&o, "size", size as f64);
            }
            if let Some(body) = options.body {
                let name = match body {
                    MailBody::SevenBit => "7BIT",
                    MailBody::EightBitMime => "8BITMIME",
                    MailBody::BinaryMime => "BINARYMIME",
                };
                set(&o, "body", text(name));
            }
            set(&o, "utf8", options.utf8);
            set(&o, "requireTls", options.require_tls);
            if let Some(auth) = options.auth {
                set(
                    &o,
                    "auth",
                    if auth.is_empty() {
                        JsValue::NULL
                    } else {
                        JsValue::from(auth)
                    },
                );
            }
            if let Some(ret) = options.ret {
                set(&o, "ret", text(if ret == DsnRet::Full { "FULL" } else { "HDRS" }));
            }
            if let Some(envid) = options.envelope_id {
                set(&o, "envelopeId", envid);
            }
            set_deliver_by_and_priority(&o, options.deliver_by, options.mt_priority);
            set(&obj, "options", o);
        }
        ServerEvent::Rcpt { id, to, options } => {
            kind("rcpt");
            set(&obj, "id", id.get() as f64);
            set(&obj, "to", to);
            let o = Object::new();
            if let Some(notify) = options.notify {
                if notify.never {
                    set(&o, "notify", text("NEVER"));
                } else {
                    let list = Array::new();
                    for (on, name) in [
                        (notify.success, "SUCCESS"),
                        (notify.failure, "FAILURE"),
                        (notify.delay, "DELAY"),
                    ] {
                        if on {
                            list.push(&text(name));
                        }
                    }
                    set(&o, "notify", list);
                }
            }
            if let Some(orcpt) = options.original_recipient {
                set(&o, "originalRecipient", orcpt);
            }
            if let Some(kind) = options.original_recipient_type {
                set(&o, "originalRecipientType", kind);
            }
            if let Some(rrvs) = options.require_recipient_valid_since {
                let since = js_sys::Date::new(&JsValue::from_f64(rrvs.unix_millis as f64));
                set(&o, "requireRecipientValidSince", since);
                if let Some(action) = rrvs.action {
                    set(
                        &o,
                        "rrvsAction",
                        text(if action == RrvsAction::Reject { "R" } else { "C" }),
                    );
                }
            }
            set_deliver_by_and_priority(&o, options.deliver_by, options.mt_priority);
            set(&obj, "options", o);
        }
        ServerEvent::MessageStart { bdat } => {
            kind("data-start");
            set(&obj, "bdat", bdat);
        }
        ServerEvent::Content(bytes) => {
            kind("content");
            set(&obj, "chunk", Uint8Array::from(bytes.as_slice()));
        }
        ServerEvent::MessageEnd { id, size } => {
            kind("data-end");
            set(&obj, "id", id.get() as f64);
            set(&obj, "size", size as f64);
        }
        ServerEvent::LmtpMessageEnd { id, size, recipients } => {
            kind("lmtp-data-end");
            set(&obj, "id", id.get() as f64);
            set(&obj, "size", size as f64);
            set(
                &obj,
                "recipients",
                recipients.into_iter().map(JsValue::from).collect::<Array>(),
            );
        }
        ServerEvent::MessageAborted { reason } => {
            kind("data-aborted");
            set(&obj, "reason", text(abort_name(reason)));
        }
        ServerEvent::Reset => kind("reset"),
        ServerEvent::Xclient { id, attributes } => {
            kind("xclient");
            set(&obj, "id", id.get() as f64);
            let o = Object::new();
            for (attribute, value) in attributes {
                let key = match attribute {
                    XclientAttribute::Addr => "addr",
                    XclientAttribute::Port => "port",
                    XclientAttribute::Proto => "proto",
                    XclientAttribute::Helo => "helo",
                    XclientAttribute::Login => "login",
                    XclientAttribute::Name => "name",
                    XclientAttribute::DestAddr => "destaddr",
                    XclientAttribute::DestPort => "destport",
                };
                let js = match (attribute, value) {
                    (_, None) => JsValue::NULL,
                    (XclientAttribute::Port | XclientAttribute::DestPort, Some(v)) => v
                        .parse::<u16>()
                        .map_or(JsValue::NULL, |p| JsValue::from(f64::from(p))),
                    (XclientAttribute::Addr | XclientAttribute::DestAddr, Some(v)) => {
                        // Postfix sends IPv6 as "IPV6:2001:db8::1".
                        let bare = v
                            .strip_prefix("IPV6:")
                            .or_else(|| v.strip_prefix("ipv6:"))
                            .unwrap_or(&v);
                        JsValue::from(ip(bare).map_or_else(|| bare.to_string(), |a| a.to_string()))
                    }
                    (_, Some(v)) => JsValue::from(v),
                };
                set(&o, key, js);
            }
            set(&obj, "attributes", o);
        }
        ServerEvent::StartTls => kind("starttls"),
        ServerEvent::TlsEstablished { info } => {
            kind("tls-established");
            let o = Object::new();
            set(&o, "protocolVersion", info.protocol_version);
            set(&o, "cipherSuite", info.cipher_suite);
            set(
                &o,
                "serverName",
                if info.server_name.is_empty() {
                    JsValue::NULL
                } else {
                    JsValue::from(info.server_name)
                },
            );
            let certs: Array = info
                .peer_certificates
                .iter()
                .map(|der| JsValue::from(Uint8Array::from(der.as_slice())))
                .collect();
            set(&o, "peerCertificates", certs);
            set(&o, "resumed", info.resumed);
            set(&obj, "info", o);
        }
        ServerEvent::Quit => kind("quit"),
        ServerEvent::Closed { reason } => {
            kind("closed");
            set(&obj, "reason", text(close_name(reason)));
        }
        ServerEvent::Transcript(line) => {
            kind("transcript");
            set(
                &obj,
                "direction",
                text(if line.from_client { "client" } else { "server" }),
            );
            set(&obj, "text", line.text);
        }
    }
    obj.into()
}

#[wasm_bindgen]
impl WasmServerConnection {
    /// A connection from `remote_address:remote_port` to `local_address:local_port` (TLS from the first byte with
    /// `implicit_tls`). The fields are arguments, not an object: reading five properties cost five calls out of the
    /// wasm per connection.
    #[wasm_bindgen(constructor)]
    pub fn new(
        config: &WasmServerConfig,
        remote_address: &str,
        remote_port: f64,
        local_address: &str,
        local_port: f64,
        implicit_tls: bool,
        now: f64,
    ) -> Result<WasmServerConnection, JsValue> {
        let info = PeerInfo {
            remote_ip: ip(remote_address),
            remote_port: port(remote_port),
            local_ip: ip(local_address),
            local_port: port(local_port),
            tls: implicit_tls,
            ..PeerInfo::default()
        };
        let inner = ServerConnection::new(
            config.config.clone(),
            info,
            config.acceptor.clone(),
            timestamp(now),
        )
        .map_err(|error| error_to_js(&error))?;
        Ok(WasmServerConnection {
            inner,
            event_id: 0.0,
            event_number: 0.0,
            event_flags: 0,
            event_value: JsValue::UNDEFINED,
        })
    }

    // ----- inputs -----

    /// Bytes from the client (ciphertext once TLS is up).
    #[wasm_bindgen(js_name = handleInput)]
    pub fn handle_input(&mut self, bytes: &[u8], now: f64) {
        self.inner.handle_input(bytes, timestamp(now));
    }

    /// The client closed the connection.
    #[wasm_bindgen(js_name = handleEof)]
    pub fn handle_eof(&mut self, now: f64) {
        self.inner.handle_eof(timestamp(now));
    }

    /// The deadline from `pollTimeout` passed.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now: f64) {
        self.inner.handle_timeout(timestamp(now));
    }

    // ----- answers (false: the id is not the decision waited for, e.g. the session closed meanwhile) -----

    /// Accepts decision `id`, with the session's usual reply or `reply` (a 2xx).
    pub fn accept(&mut self, id: f64, reply: &JsValue, now: f64) -> Result<bool, JsValue> {
        let decision = decision(reply)?;
        Ok(self.inner.answer(id_of(id), decision, timestamp(now)).is_ok())
    }

    /// Accepts decision `id` with the session's usual reply: `accept(id, undefined, now)` without looking at a reply.
    #[wasm_bindgen(js_name = acceptDefault)]
    pub fn accept_default(&mut self, id: f64, now: f64) -> bool {
        self.inner
            .answer(id_of(id), Decision::Accept, timestamp(now))
            .is_ok()
    }

    /// Refuses decision `id` with `reply`.
    pub fn reject(&mut self, id: f64, reply: &JsValue, now: f64) -> Result<bool, JsValue> {
        let reply = reply_of(reply)?.ok_or_else(|| option_error("reply", "is required"))?;
        Ok(self.inner.reject(id_of(id), reply, timestamp(now)).is_ok())
    }

    /// LMTP: one reply per recipient of the message end `id` (`null`: delivered).
    #[wasm_bindgen(js_name = answerRecipients)]
    pub fn answer_recipients(&mut self, id: f64, replies: &JsValue, now: f64) -> Result<bool, JsValue> {
        let mut per_recipient = Vec::new();
        if Array::is_array(replies) {
            for item in Array::from(replies).iter() {
                per_recipient.push(reply_of(&item)?.map(Decision::Reply));
            }
        }
        Ok(self
            .inner
            .answer_lmtp(id_of(id), Decision::Accept, per_recipient, timestamp(now))
            .is_ok())
    }

    /// Refuses the message being received, before its end: the rest is read and dropped, then `reply` is sent
    /// (no `data-end` event follows). `false` when no message is being received.
    #[wasm_bindgen(js_name = refuseMessage)]
    pub fn refuse_message(&mut self, reply: &JsValue, now: f64) -> Result<bool, JsValue> {
        let reply = reply_of(reply)?.ok_or_else(|| option_error("reply", "is required"))?;
        Ok(self.inner.refuse_message(reply, timestamp(now)).is_ok())
    }

    /// The application consumed `n` bytes of content.
    #[wasm_bindgen(js_name = contentRead)]
    pub fn content_read(&mut self, n: f64, now: f64) {
        self.inner.content_read(n as usize, timestamp(now));
    }

    /// `421` (the core's `4.3.2 Service shutting down`, or `reply`) and close.
    pub fn shutdown(&mut self, now: f64, reply: &JsValue) -> Result<(), JsValue> {
        match reply_of(reply)? {
            Some(reply) => self.inner.shutdown_with(reply, timestamp(now)),
            None => self.inner.shutdown(timestamp(now)),
        }
        Ok(())
    }

    // ----- outputs -----

    /// Bytes to write to the client, or `undefined`. Made as a `Uint8Array` here: returning the `Vec` made the glue
    /// copy it out and then call back into the wasm to free it.
    #[wasm_bindgen(js_name = pollTransmit)]
    #[must_use]
    pub fn poll_transmit(&mut self) -> JsValue {
        self.inner.poll_transmit().map_or(JsValue::UNDEFINED, |bytes| {
            Uint8Array::from(bytes.as_slice()).into()
        })
    }

    /// Takes the next event and returns its kind (the `EVENT_*` constants above: 0 none, 1 content, 2 mail, 3 rcpt,
    /// 4 hello, 5 data-start, 6 data-end, 7 quit, 8 reset, 9 closed, 10 other); its fields are read with
    /// `eventId`, `eventNumber`, `eventFlags` and `eventValue`. Building the event object here cost a call out of the
    /// wasm per property (and one per nested object); the numbers cost none.
    #[wasm_bindgen(js_name = nextEvent)]
    pub fn next_event(&mut self) -> u32 {
        let Some(event) = self.inner.poll_event() else {
            return EVENT_NONE;
        };
        match event {
            ServerEvent::Content(bytes) => {
                self.event_value = Uint8Array::from(bytes.as_slice()).into();
                EVENT_CONTENT
            }
            ServerEvent::Mail { id, from, options } if options.has_only_common_parameters() => {
                self.event_id = id.get() as f64;
                self.event_value = JsValue::from(from);
                self.event_number = options.size.map_or(-1.0, |size| size as f64);
                let body = match options.body {
                    None => 0,
                    Some(MailBody::SevenBit) => 1,
                    Some(MailBody::EightBitMime) => 2,
                    Some(MailBody::BinaryMime) => 3,
                };
                self.event_flags = u32::from(options.utf8) | u32::from(options.require_tls) << 1 | body << 2;
                EVENT_MAIL
            }
            // No parameter at all (compared whole: a new one cannot slip through).
            ServerEvent::Rcpt { id, to, options } if options == ServerRcptOptions::default() => {
                self.event_id = id.get() as f64;
                self.event_value = JsValue::from(to);
                EVENT_RCPT
            }
            ServerEvent::Hello { id, kind, name } => {
                self.event_id = id.get() as f64;
                self.event_value = JsValue::from(name);
                self.event_flags = match kind {
                    HelloKind::Helo => 0,
                    HelloKind::Ehlo => 1,
                    HelloKind::Lhlo => 2,
                };
                EVENT_HELLO
            }
            ServerEvent::MessageStart { bdat } => {
                self.event_flags = u32::from(bdat);
                EVENT_DATA_START
            }
            ServerEvent::MessageEnd { id, size } => {
                self.event_id = id.get() as f64;
                self.event_number = size as f64;
                EVENT_DATA_END
            }
            ServerEvent::Quit => EVENT_QUIT,
            ServerEvent::Reset => EVENT_RESET,
            ServerEvent::Closed { reason } => {
                self.event_value = text(close_name(reason));
                EVENT_CLOSED
            }
            other => {
                self.event_value = event_to_js(other);
                EVENT_OTHER
            }
        }
    }

    /// The id of the event `nextEvent` took last (mail, rcpt, hello, data-end).
    #[wasm_bindgen(js_name = eventId)]
    #[must_use]
    pub fn event_id(&self) -> f64 {
        self.event_id
    }

    /// SIZE= of a mail event (-1: none), or the size of a data-end.
    #[wasm_bindgen(js_name = eventNumber)]
    #[must_use]
    pub fn event_number(&self) -> f64 {
        self.event_number
    }

    /// The flags of a mail, hello or data-start event (see `nextEvent`).
    #[wasm_bindgen(js_name = eventFlags)]
    #[must_use]
    pub fn event_flags(&self) -> u32 {
        self.event_flags
    }

    /// The value of the event `nextEvent` took last (an address, a name, a chunk, a reason, or the whole event),
    /// handed over once: the connection keeps no reference to it.
    #[wasm_bindgen(js_name = eventValue)]
    #[must_use]
    pub fn event_value(&mut self) -> JsValue {
        core::mem::replace(&mut self.event_value, JsValue::UNDEFINED)
    }

    /// When to call `handleTimeout` (ms since the epoch), or `undefined`.
    #[wasm_bindgen(js_name = pollTimeout)]
    #[must_use]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.inner.poll_timeout().map(millis)
    }

    /// Whether to read more from the client now.
    #[wasm_bindgen(js_name = wantsInput)]
    #[must_use]
    pub fn wants_input(&self) -> bool {
        self.inner.wants_input()
    }

    /// Whether the session is over.
    #[wasm_bindgen(js_name = isClosed)]
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}
