//! [`WasmConnection`]: the core as a JavaScript class. Every method is synchronous; the TypeScript driver
//! (`ts/driver.ts`) calls an input or a command, then drains `pollTransmit`, `pollEvent` and `pollTimeout`.

use core::time::Duration;

use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

use super::js::{
    error_to_js, get, get_bool, get_string, get_strings, get_u64, millis, option_error, reply_to_js, set,
    text, timestamp,
};
use crate::client::connection::{Connection, ConnectionOptions};
use crate::client::{
    BodyType, CommandId, Completion, Direction, DsnReturn, Envelope, Event, MailOptions, Notify, RcptOptions,
    RecipientOutcome, SessionConfig, Timeouts, TransactionReport,
};
use crate::error::{Error, Field, InputError, InputErrorReason};
use crate::sasl::{Credentials, Mechanism};
use crate::tls::{ClientCertificate, TlsOptions};

/// One SMTP (or LMTP) session: the TLS layer and the session state machine, driven from JavaScript.
#[wasm_bindgen]
pub struct WasmConnection {
    inner: Connection,
    /// The event taken by `nextEvent` and not yet read by `takeEvent` (kinds [`EVENT_OTHER`]).
    current: Option<Event>,
    /// The id of the event `nextEvent` took last.
    current_id: f64,
    /// For [`EVENT_SENT`]: the reply's code, its one line, and its enhanced code with the text's offset packed as
    /// `((class * 1000 + subject) * 1000 + detail) * 100 + offset` (-1: none).
    sent_code: u16,
    sent_line: String,
    sent_enhanced: f64,
}

/// `nextEvent`: no event.
const EVENT_NONE: u32 = 0;
/// `nextEvent`: the command `eventId` is ready for its content.
const EVENT_BODY_READY: u32 = 1;
/// `nextEvent`: the whole transaction `eventId` completed with every recipient accepted and a one-line reply
/// (`eventReplyCode`, `eventReplyLine`, `eventReplyEnhanced`): the common end of a message, without building objects.
const EVENT_SENT: u32 = 2;
/// `nextEvent`: any other event; `takeEvent` returns it as `pollEvent` would.
const EVENT_OTHER: u32 = 3;

fn js_error(error: Error) -> JsValue {
    error_to_js(&error)
}

fn syntax(field: Field, what: &'static str) -> JsValue {
    js_error(InputError::new(field, InputErrorReason::Syntax(what)).into())
}

fn id_of(id: f64) -> CommandId {
    CommandId::from_value(id as u64)
}

fn id_to_js(id: CommandId) -> f64 {
    id.value() as f64
}

/// Sets one deadline of [`Timeouts`].
type SetTimeout = fn(&mut Timeouts, Duration);

/// The deadlines the core keeps, by the names of the JavaScript API's `timeouts` option: the one list of those names
/// (TypeScript adds `connect`, the transport's). `WasmConnection.timeoutNames()` exports it, so a test can hold the
/// TypeScript checks to it.
const TIMEOUTS: [(&str, SetTimeout); 8] = [
    ("greeting", |t, d| t.greeting = d),
    ("command", |t, d| t.command = d),
    ("mail", |t, d| t.mail = d),
    ("rcpt", |t, d| t.rcpt = d),
    ("dataInit", |t, d| t.data_init = d),
    ("dataBlock", |t, d| t.data_block = d),
    ("dataEnd", |t, d| t.data_end = d),
    ("total", |t, d| t.whole_command = Some(d)),
];

#[wasm_bindgen]
impl WasmConnection {
    /// The names of the `timeouts` the core reads, in order.
    #[wasm_bindgen(js_name = timeoutNames)]
    pub fn timeout_names() -> Array {
        TIMEOUTS.iter().map(|(name, _)| JsValue::from_str(name)).collect()
    }

    /// A session waiting for the server's greeting. `options`: `{ serverName, implicitTls, localName?, lmtp,
    /// rootCertificates, dangerouslyAcceptInvalidCertificates, allowInsecureAuth, loopbackPeer, transcript,
    /// timeouts }` (`loopbackPeer`: the transport is a direct TCP connection to a loopback address).
    #[wasm_bindgen(constructor)]
    pub fn new(options: &JsValue, now: f64) -> Result<WasmConnection, JsValue> {
        let server_name =
            get_string(options, "serverName")?.ok_or_else(|| option_error("serverName", "is required"))?;
        let mut config = SessionConfig::new(server_name);
        if let Some(local_name) = get_string(options, "localName")? {
            config.local_name = local_name;
        }
        config.lmtp = get_bool(options, "lmtp")?;
        config.allow_insecure_auth = get_bool(options, "allowInsecureAuth")?;
        config.loopback_peer = get_bool(options, "loopbackPeer")?;
        config.transcript = get_bool(options, "transcript")?;
        if let Some(prefer) = get(options, "preferChunking").as_bool() {
            config.prefer_chunking = prefer;
        }
        let timeouts = get(options, "timeouts");
        for (name, set) in TIMEOUTS {
            if let Some(ms) = get_u64(&timeouts, name)? {
                set(&mut config.timeouts, Duration::from_millis(ms));
            }
        }
        let tls = TlsOptions {
            root_certificates_pem: get_strings(options, "rootCertificates")?,
            only_given_roots: get_bool(options, "onlyRootCertificates")?,
            dangerously_accept_invalid_certificates: get_bool(
                options,
                "dangerouslyAcceptInvalidCertificates",
            )?,
            client_certificate: client_certificate_from_js(options)?,
        };
        let options = ConnectionOptions {
            session: config,
            implicit_tls: get_bool(options, "implicitTls")?,
            tls,
        };
        let inner = Connection::new(options, timestamp(now)).map_err(js_error)?;
        Ok(WasmConnection {
            inner,
            current: None,
            current_id: 0.0,
            sent_code: 0,
            sent_line: String::new(),
            sent_enhanced: -1.0,
        })
    }

    // ----- inputs -----

    /// Bytes from the server.
    #[wasm_bindgen(js_name = handleInput)]
    pub fn handle_input(&mut self, bytes: &[u8], now: f64) {
        self.inner.handle_input(bytes, timestamp(now));
    }

    /// The server closed the connection.
    #[wasm_bindgen(js_name = handleEof)]
    pub fn handle_eof(&mut self, now: f64) {
        self.inner.handle_eof(timestamp(now));
    }

    /// The deadline from `pollTimeout` passed (calling it early is harmless).
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now: f64) {
        self.inner.handle_timeout(timestamp(now));
    }

    // ----- outputs -----

    /// Bytes to write to the transport, or `undefined`.
    #[wasm_bindgen(js_name = pollTransmit)]
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.inner.poll_transmit()
    }

    /// Copies the bytes to write into `buf` from `offset` on (as many as fit) and returns how many (0: nothing to
    /// write). The same bytes as `pollTransmit`, without a new array per call: the caller owns and reuses `buf`.
    #[wasm_bindgen(js_name = pollTransmitInto)]
    pub fn poll_transmit_into(&mut self, buf: &js_sys::Uint8Array, offset: u32) -> u32 {
        let room = buf.length().saturating_sub(offset) as usize;
        let pending = self.inner.pending_transmit();
        let n = pending.len().min(room);
        if n == 0 {
            return 0;
        }
        buf.subarray(offset, offset + n as u32).copy_from(&pending[..n]);
        self.inner.consume_transmit(n);
        n as u32
    }

    /// The next event as a plain object, or `undefined`.
    #[wasm_bindgen(js_name = pollEvent)]
    #[must_use]
    pub fn poll_event(&mut self) -> JsValue {
        match self.inner.poll_event() {
            Some(event) => event_to_js(event),
            None => JsValue::UNDEFINED,
        }
    }

    /// Takes the next event and returns its kind, so that the two events every message has (its content is wanted,
    /// it was accepted) cross to JavaScript as a few numbers and one string instead of nested objects:
    /// 0: none; 1: body-ready for `eventId()`; 2: the whole transaction `eventId()` completed with every recipient
    /// accepted and a one-line reply (`eventReplyCode()`, `eventReplyLine()`, `eventReplyEnhanced()`); 3: any other
    /// event, returned by `takeEvent()` as `pollEvent` would.
    #[wasm_bindgen(js_name = nextEvent)]
    pub fn next_event(&mut self) -> u32 {
        let Some(event) = self.inner.poll_event() else {
            return EVENT_NONE;
        };
        match event {
            Event::BodyReady { id } => {
                self.current_id = id_to_js(id);
                EVENT_BODY_READY
            }
            Event::Completed {
                id,
                result: Ok(Completion::Transaction(report)),
            } if report.rejected.is_empty() && report.reply.raw_lines().len() == 1 => {
                self.current_id = id_to_js(id);
                let reply = &report.reply;
                self.sent_code = reply.code();
                self.sent_line.clear();
                self.sent_line
                    .push_str(&String::from_utf8_lossy(&reply.raw_lines()[0]));
                self.sent_enhanced = match reply.enhanced_code() {
                    // `Reply::message` strips the first line's prefix exactly when the enhanced code came from it.
                    Some(code) => {
                        let used = crate::reply::EnhancedCode::parse_prefix(&reply.raw_lines()[0])
                            .map_or(0, |(_, used)| used);
                        ((f64::from(code.class) * 1000.0 + f64::from(code.subject)) * 1000.0
                            + f64::from(code.detail))
                            * 100.0
                            + used as f64
                    }
                    None => -1.0,
                };
                EVENT_SENT
            }
            other => {
                self.current = Some(other);
                EVENT_OTHER
            }
        }
    }

    /// The id of the event `nextEvent` took last (kinds 1 and 2).
    #[wasm_bindgen(js_name = eventId)]
    #[must_use]
    pub fn event_id(&self) -> f64 {
        self.current_id
    }

    /// Kind 2: the reply's code.
    #[wasm_bindgen(js_name = eventReplyCode)]
    #[must_use]
    pub fn event_reply_code(&self) -> u16 {
        self.sent_code
    }

    /// Kind 2: the reply's one line, decoded lossily.
    #[wasm_bindgen(js_name = eventReplyLine)]
    #[must_use]
    pub fn event_reply_line(&self) -> String {
        self.sent_line.clone()
    }

    /// Kind 2: the enhanced code and where the text starts in the line, packed as
    /// `((class * 1000 + subject) * 1000 + detail) * 100 + offset`; -1 when the reply has no enhanced code.
    #[wasm_bindgen(js_name = eventReplyEnhanced)]
    #[must_use]
    pub fn event_reply_enhanced(&self) -> f64 {
        self.sent_enhanced
    }

    /// Kind 3: the event `nextEvent` took, as a plain object (like `pollEvent`), or `undefined`.
    #[wasm_bindgen(js_name = takeEvent)]
    #[must_use]
    pub fn take_event(&mut self) -> JsValue {
        self.current.take().map_or(JsValue::UNDEFINED, event_to_js)
    }

    /// When to call `handleTimeout` (ms since the epoch), or `undefined`.
    #[wasm_bindgen(js_name = pollTimeout)]
    #[must_use]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.inner.poll_timeout().map(millis)
    }

    // ----- commands: each returns the command's id, or throws an error object (nothing written) -----

    /// EHLO/LHLO (HELO after 500/502).
    pub fn hello(&mut self, local_name: Option<String>, now: f64) -> Result<f64, JsValue> {
        self.inner
            .hello(local_name.as_deref(), timestamp(now))
            .map(id_to_js)
            .map_err(js_error)
    }

    /// STARTTLS; with `required` false, completes without TLS when the server does not offer it.
    #[wasm_bindgen(js_name = startTls)]
    pub fn start_tls(&mut self, required: bool, now: f64) -> Result<f64, JsValue> {
        self.inner
            .start_tls(required, timestamp(now))
            .map(id_to_js)
            .map_err(js_error)
    }

    /// AUTH. `credentials`: `{ username, password?, identity?, accessToken? }`.
    pub fn auth(
        &mut self,
        credentials: &JsValue,
        mechanism: Option<String>,
        now: f64,
    ) -> Result<f64, JsValue> {
        let credentials = credentials_from_js(credentials)?;
        let mechanism = match mechanism {
            None => None,
            Some(name) => Some(Mechanism::from_name(&name).ok_or_else(|| {
                syntax(
                    Field::Mechanism,
                    "must be PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER or EXTERNAL",
                )
            })?),
        };
        self.inner
            .auth(credentials, mechanism, timestamp(now))
            .map(id_to_js)
            .map_err(js_error)
    }

    /// AUTH with a mechanism the caller drives (`sasl-challenge` events, answered with `saslRespond`).
    #[wasm_bindgen(js_name = authCustom)]
    pub fn auth_custom(
        &mut self,
        mechanism: &str,
        initial_response: Option<Vec<u8>>,
        now: f64,
    ) -> Result<f64, JsValue> {
        self.inner
            .auth_custom(mechanism, initial_response, timestamp(now))
            .map(id_to_js)
            .map_err(js_error)
    }

    /// The answer to a `sasl-challenge` of command `id`: the response bytes, or `undefined` to cancel with `*`.
    #[wasm_bindgen(js_name = saslRespond)]
    pub fn sasl_respond(&mut self, id: f64, response: Option<Vec<u8>>, now: f64) -> Result<(), JsValue> {
        self.inner
            .sasl_respond(id_of(id), response.as_deref(), timestamp(now))
            .map_err(js_error)
    }

    /// MAIL FROM.
    pub fn mail(&mut self, from: &str, options: &JsValue, now: f64) -> Result<f64, JsValue> {
        let options = mail_options_from_js(options)?;
        self.inner
            .mail(from, &options, timestamp(now))
            .map(id_to_js)
            .map_err(js_error)
    }

    /// RCPT TO.
    pub fn rcpt(&mut self, to: &str, options: &JsValue, now: f64) -> Result<f64, JsValue> {
        let options = rcpt_options_from_js(options)?;
        self.inner
            .rcpt(to, &options, timestamp(now))
            .map(id_to_js)
            .map_err(js_error)
    }

    /// DATA (or BDAT): `body-ready` says when to send the content.
    pub fn data(&mut self, now: f64) -> Result<f64, JsValue> {
        self.inner.data(timestamp(now)).map(id_to_js).map_err(js_error)
    }

    /// Message content for `data` or `sendMail`.
    #[wasm_bindgen(js_name = sendBody)]
    pub fn send_body(&mut self, id: f64, bytes: &[u8], now: f64) -> Result<(), JsValue> {
        self.inner
            .send_body(id_of(id), bytes, timestamp(now))
            .map_err(js_error)
    }

    /// Ends the content.
    #[wasm_bindgen(js_name = finishBody)]
    pub fn finish_body(&mut self, id: f64, now: f64) -> Result<(), JsValue> {
        self.inner
            .finish_body(id_of(id), timestamp(now))
            .map_err(js_error)
    }

    /// Abandons the content: the message is never completed on the wire.
    #[wasm_bindgen(js_name = abortBody)]
    pub fn abort_body(&mut self, id: f64, reason: &str, now: f64) -> Result<(), JsValue> {
        self.inner
            .abort_body(id_of(id), reason, timestamp(now))
            .map_err(js_error)
    }

    /// A whole pipelined transaction. `envelope`: `{ from, to: string[], mailOptions?, rcptOptions? }`.
    #[wasm_bindgen(js_name = sendMail)]
    pub fn send_mail(&mut self, envelope: &JsValue, now: f64) -> Result<f64, JsValue> {
        let from = get_string(envelope, "from")?.ok_or_else(|| option_error("from", "is required"))?;
        let to = get_strings(envelope, "to")?;
        let envelope = Envelope {
            from,
            to,
            mail_options: mail_options_from_js(&get(envelope, "mailOptions"))?,
            rcpt_options: rcpt_options_from_js(&get(envelope, "rcptOptions"))?,
        };
        self.inner
            .send_mail(envelope, timestamp(now))
            .map(id_to_js)
            .map_err(js_error)
    }

    /// A whole pipelined transaction to one recipient without options: `sendMail({ from, to: [to] })` without
    /// reading an envelope object.
    #[wasm_bindgen(js_name = sendMailTo)]
    pub fn send_mail_to(&mut self, from: String, to: String, now: f64) -> Result<f64, JsValue> {
        let envelope = Envelope {
            from,
            to: vec![to],
            mail_options: MailOptions::default(),
            rcpt_options: RcptOptions::default(),
        };
        self.inner
            .send_mail(envelope, timestamp(now))
            .map(id_to_js)
            .map_err(js_error)
    }

    /// The last content of `sendMail`'s message and its end in one call (`sendBody` then `finishBody`).
    #[wasm_bindgen(js_name = sendLastBody)]
    pub fn send_last_body(&mut self, id: f64, bytes: &[u8], now: f64) -> Result<(), JsValue> {
        let id = id_of(id);
        let now = timestamp(now);
        if !bytes.is_empty() {
            self.inner.send_body(id, bytes, now).map_err(js_error)?;
        }
        self.inner.finish_body(id, now).map_err(js_error)
    }

    /// RSET.
    pub fn reset(&mut self, now: f64) -> Result<f64, JsValue> {
        self.inner.reset(timestamp(now)).map(id_to_js).map_err(js_error)
    }

    /// NOOP.
    pub fn noop(&mut self, now: f64) -> Result<f64, JsValue> {
        self.inner.noop(timestamp(now)).map(id_to_js).map_err(js_error)
    }

    /// VRFY.
    pub fn verify(&mut self, address: &str, now: f64) -> Result<f64, JsValue> {
        self.inner
            .verify(address, timestamp(now))
            .map(id_to_js)
            .map_err(js_error)
    }

    /// The recipients accepted in the open transaction (go-smtp's `GetRcpts`).
    #[must_use]
    pub fn recipients(&self) -> Vec<String> {
        self.inner.recipients().to_vec()
    }

    /// A raw command line (go-smtp's `Text`): completes with whatever the server replied.
    pub fn command(&mut self, line: &str, now: f64) -> Result<f64, JsValue> {
        self.inner
            .command(line, timestamp(now))
            .map(id_to_js)
            .map_err(js_error)
    }

    /// QUIT.
    pub fn quit(&mut self, now: f64) -> Result<f64, JsValue> {
        self.inner.quit(timestamp(now)).map(id_to_js).map_err(js_error)
    }

    /// Ends the session now (TLS close_notify when TLS is up); pending commands fail.
    pub fn close(&mut self, now: f64) {
        self.inner.close(timestamp(now));
    }

    // ----- getters -----

    /// An advertised extension's parameter (`""` when it has none), or `undefined`. Case-insensitive.
    #[must_use]
    pub fn extension(&self, name: &str) -> Option<String> {
        self.inner.extension(name).map(str::to_string)
    }

    /// What the server advertised in its last EHLO: `{ domain, greeting, extensions }` where `extensions` maps each
    /// upper-cased keyword to its parameters (`""` when it has none), in the server's order. `undefined` before the
    /// hello and right after STARTTLS (RFC 3207: what was learned before TLS is forgotten); empty extensions after a
    /// HELO fallback.
    #[must_use]
    pub fn capabilities(&self) -> JsValue {
        let Some(capabilities) = self.inner.session().capabilities() else {
            return JsValue::UNDEFINED;
        };
        let extensions = Object::new();
        for (keyword, params) in capabilities.iter() {
            let _ = js_sys::Reflect::set(
                &extensions,
                &JsValue::from_str(keyword),
                &JsValue::from_str(params),
            );
        }
        let obj = Object::new();
        set(&obj, "domain", capabilities.domain());
        set(&obj, "greeting", capabilities.greeting());
        set(&obj, "extensions", extensions);
        obj.into()
    }

    /// `{ protocolVersion, cipherSuite, peerCertificates, serverName }` once TLS is up, else `undefined`.
    #[wasm_bindgen(js_name = tlsInfo)]
    #[must_use]
    pub fn tls_info(&self) -> JsValue {
        let Some(info) = self.inner.tls_info() else {
            return JsValue::UNDEFINED;
        };
        let obj = Object::new();
        set(&obj, "protocolVersion", info.protocol_version);
        set(&obj, "cipherSuite", info.cipher_suite);
        set(&obj, "serverName", info.server_name);
        set(&obj, "subject", info.subject.map_or(JsValue::NULL, JsValue::from));
        set(&obj, "issuer", info.issuer.map_or(JsValue::NULL, JsValue::from));
        set(
            &obj,
            "notAfter",
            info.not_after
                .map_or(JsValue::NULL, |ms| JsValue::from(ms as f64)),
        );
        set(&obj, "resumed", info.resumed);
        let chain: Array = info
            .peer_certificates
            .iter()
            .map(|der| JsValue::from(js_sys::Uint8Array::from(der.as_slice())))
            .collect();
        set(&obj, "peerCertificates", chain);
        obj.into()
    }

    /// Bytes held by the core and not yet taken by `pollTransmit` (for backpressure).
    #[wasm_bindgen(js_name = transmitBuffered)]
    #[must_use]
    pub fn transmit_buffered(&self) -> f64 {
        self.inner.transmit_buffered() as f64
    }
}

/// `clientCertificate: { cert, key }` (PEM strings), or none.
fn client_certificate_from_js(options: &JsValue) -> Result<Option<ClientCertificate>, JsValue> {
    let value = get(options, "clientCertificate");
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let cert_pem =
        get_string(&value, "cert")?.ok_or_else(|| option_error("clientCertificate.cert", "is required"))?;
    let key_pem =
        get_string(&value, "key")?.ok_or_else(|| option_error("clientCertificate.key", "is required"))?;
    #[cfg(not(feature = "client-key-signing"))]
    super::client_key::install();
    Ok(Some(ClientCertificate { cert_pem, key_pem }))
}

fn credentials_from_js(value: &JsValue) -> Result<Credentials, JsValue> {
    if get_bool(value, "external")? {
        return Ok(Credentials::External {
            identity: get_string(value, "identity")?,
        });
    }
    let username = get_string(value, "username")?.unwrap_or_default();
    if let Some(access_token) = get_string(value, "accessToken")? {
        return Ok(Credentials::OAuth {
            username,
            access_token,
        });
    }
    let password = get_string(value, "password")?.ok_or_else(|| option_error("password", "is required"))?;
    let identity = get_string(value, "identity")?;
    Ok(Credentials::Password {
        username,
        password,
        identity,
    })
}

fn mail_options_from_js(value: &JsValue) -> Result<MailOptions, JsValue> {
    if value.is_undefined() {
        return Ok(MailOptions::default());
    }
    let body = match get_string(value, "body")?.as_deref() {
        None => None,
        Some("7BIT") => Some(BodyType::SevenBit),
        Some("8BITMIME") => Some(BodyType::EightBitMime),
        Some("BINARYMIME") => Some(BodyType::BinaryMime),
        Some(_) => return Err(syntax(Field::Body, "must be 7BIT, 8BITMIME or BINARYMIME")),
    };
    let ret = match get_string(value, "ret")?.as_deref() {
        None => None,
        Some("FULL") => Some(DsnReturn::Full),
        Some("HDRS") => Some(DsnReturn::Headers),
        Some(_) => return Err(option_error("ret", "must be FULL or HDRS")),
    };
    Ok(MailOptions {
        size: get_u64(value, "size")?,
        body,
        smtp_utf8: get_bool(value, "smtpUtf8")?,
        require_tls: get_bool(value, "requireTls")?,
        ret,
        envelope_id: get_string(value, "envelopeId")?,
        auth: get_string(value, "auth")?,
    })
}

fn rcpt_options_from_js(value: &JsValue) -> Result<RcptOptions, JsValue> {
    if value.is_undefined() {
        return Ok(RcptOptions::default());
    }
    let raw = get(value, "notify");
    let notify = if raw.is_undefined() || raw.is_null() {
        None
    } else if raw.as_string().as_deref() == Some("NEVER") {
        Some(Notify::Never)
    } else {
        let (mut success, mut failure, mut delay) = (false, false, false);
        let items = get_strings(value, "notify")?;
        for item in &items {
            match item.as_str() {
                "SUCCESS" => success = true,
                "FAILURE" => failure = true,
                "DELAY" => delay = true,
                _ => {
                    return Err(syntax(
                        Field::Notify,
                        "must be \"NEVER\" or a non-empty list of SUCCESS, FAILURE, DELAY",
                    ))
                }
            }
        }
        if items.is_empty() {
            return Err(syntax(
                Field::Notify,
                "must be \"NEVER\" or a non-empty list of SUCCESS, FAILURE, DELAY",
            ));
        }
        Some(Notify::On {
            success,
            failure,
            delay,
        })
    };
    Ok(RcptOptions {
        notify,
        original_recipient: get_string(value, "originalRecipient")?,
        original_recipient_type: get_string(value, "originalRecipientType")?,
    })
}

fn event_to_js(event: Event) -> JsValue {
    let obj = Object::new();
    match event {
        Event::Greeting(reply) => {
            set(&obj, "type", text("greeting"));
            set(&obj, "reply", reply_to_js(&reply));
        }
        Event::Completed { id, result } => {
            set(&obj, "type", text("completed"));
            set(&obj, "id", id_to_js(id));
            match result {
                Ok(completion) => set(&obj, "result", completion_to_js(completion)),
                Err(error) => set(&obj, "error", error_to_js(&error)),
            }
        }
        Event::BodyReady { id } => {
            set(&obj, "type", text("body-ready"));
            set(&obj, "id", id_to_js(id));
        }
        Event::Transcript(line) => {
            set(&obj, "type", text("transcript"));
            let direction = match line.direction {
                Direction::Client => "client",
                Direction::Server => "server",
            };
            set(&obj, "direction", direction);
            set(&obj, "text", line.text);
        }
        Event::TlsEstablished => set(&obj, "type", text("tls-established")),
        Event::SaslChallenge { id, challenge } => {
            set(&obj, "type", text("sasl-challenge"));
            set(&obj, "id", id_to_js(id));
            set(&obj, "challenge", js_sys::Uint8Array::from(challenge.as_slice()));
        }
        Event::Closed { error } => {
            set(&obj, "type", text("closed"));
            set(&obj, "error", error.as_ref().map_or(JsValue::NULL, error_to_js));
        }
    }
    obj.into()
}

fn completion_to_js(completion: Completion) -> JsValue {
    let obj = Object::new();
    match completion {
        Completion::Done => set(&obj, "kind", text("done")),
        Completion::Reply(reply) => {
            set(&obj, "kind", text("reply"));
            set(&obj, "reply", reply_to_js(&reply));
        }
        Completion::Transaction(report) => {
            set(&obj, "kind", text("transaction"));
            transaction_fields(&obj, &report);
        }
        Completion::Recipients(outcomes) => {
            set(&obj, "kind", text("recipients"));
            set(&obj, "results", outcomes_to_js(&outcomes));
        }
    }
    obj.into()
}

fn transaction_fields(obj: &Object, report: &TransactionReport) {
    let accepted: Array = report.accepted.iter().map(|r| JsValue::from_str(r)).collect();
    set(obj, "accepted", accepted);
    let rejected: Array = report
        .rejected
        .iter()
        .map(|(recipient, error)| {
            let item = Object::new();
            set(&item, "recipient", recipient.as_str());
            set(&item, "error", error_to_js(error));
            JsValue::from(item)
        })
        .collect();
    set(obj, "rejected", rejected);
    set(obj, "reply", reply_to_js(&report.reply));
}

fn outcomes_to_js(outcomes: &[RecipientOutcome]) -> Array {
    outcomes
        .iter()
        .map(|outcome| {
            let item = Object::new();
            set(&item, "recipient", outcome.recipient.as_str());
            match &outcome.result {
                Ok(reply) => set(&item, "reply", reply_to_js(reply)),
                Err(error) => set(&item, "error", error_to_js(error)),
            }
            JsValue::from(item)
        })
        .collect()
}
