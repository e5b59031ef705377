//! [`WasmComposer`] and [`WasmDkimSigner`]: the message builder and the DKIM signer for JavaScript, in their own
//! wasm (features `compose` and `dkim`, without the client), loaded by `ts/compose.ts` only when a message is
//! composed or signed.

use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::prelude::*;

use super::js::{get, get_string, get_strings, get_u64, option_error, set};
use crate::compose::{Address, Attachment, ComposeError, Composer, Content, Disposition, Message, Step};
use crate::dkim::{DkimConfig, DkimError, DkimKey, Signer, Unsigned};

use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    /// Parsed keys by PEM text: parsing (and ring's consistency checks of an RSA key) costs more than signing, and
    /// a sender signs every message with the same few keys.
    static KEYS: RefCell<Vec<(String, Arc<DkimKey>)>> = const { RefCell::new(Vec::new()) };
}

fn cached_key(pem: &str) -> Result<Arc<DkimKey>, DkimError> {
    if let Some(key) = KEYS.with(|k| {
        k.borrow()
            .iter()
            .find(|(p, _)| p == pem)
            .map(|(_, key)| Arc::clone(key))
    }) {
        return Ok(key);
    }
    let key = Arc::new(DkimKey::from_pem(pem)?);
    KEYS.with(|k| {
        let mut keys = k.borrow_mut();
        if keys.len() >= 8 {
            keys.remove(0);
        }
        keys.push((pem.to_string(), Arc::clone(&key)));
    });
    Ok(key)
}

fn compose_error(error: &ComposeError) -> JsValue {
    let obj = Object::new();
    set(&obj, "kind", "invalid-input");
    set(&obj, "message", format!("invalid input: {error}"));
    set(&obj, "temporary", false);
    let field = match error {
        ComposeError::LineBreak { field } | ComposeError::Invalid { field, .. } => field.clone(),
        ComposeError::Stream(_) => "attachments".into(),
    };
    set(&obj, "field", field);
    obj.into()
}

fn dkim_error(error: &DkimError) -> JsValue {
    let obj = Object::new();
    set(&obj, "kind", "invalid-input");
    set(&obj, "message", format!("invalid input: {error}"));
    set(&obj, "temporary", false);
    set(&obj, "field", "dkim");
    obj.into()
}

/// One address: a string (`"Name <addr>"`, possibly a comma-separated list) or `{ name?, address }`.
fn addresses(value: &JsValue, key: &'static str, out: &mut Vec<Address>) -> Result<(), JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(());
    }
    if let Some(text) = value.as_string() {
        out.extend(Address::parse_list(&text).map_err(|e| compose_error(&e))?);
        return Ok(());
    }
    if Array::is_array(value) {
        for item in Array::from(value).iter() {
            addresses(&item, key, out)?;
        }
        return Ok(());
    }
    if value.is_object() {
        let address = get_string(value, "address")?.ok_or_else(|| option_error(key, "needs an address"))?;
        let name = get_string(value, "name")?.unwrap_or_default();
        out.push(Address::new(name, address).map_err(|e| compose_error(&e))?);
        return Ok(());
    }
    Err(option_error(
        key,
        "must be an address string, { name, address }, or an array of them",
    ))
}

fn address_list(options: &JsValue, key: &'static str) -> Result<Vec<Address>, JsValue> {
    let mut out = Vec::new();
    addresses(&get(options, key), key, &mut out)?;
    Ok(out)
}

fn message_from_js(options: &JsValue) -> Result<Message, JsValue> {
    let mut from = address_list(options, "from")?;
    if from.len() != 1 {
        return Err(option_error("from", "must be exactly one address"));
    }
    let mut message = Message {
        from: from.pop(),
        ..Message::default()
    };
    message.to = address_list(options, "to")?;
    message.cc = address_list(options, "cc")?;
    message.bcc = address_list(options, "bcc")?;
    message.reply_to = address_list(options, "replyTo")?;
    message.subject = get_string(options, "subject")?;
    message.text = get_string(options, "text")?;
    message.html = get_string(options, "html")?;
    message.message_id = get_string(options, "messageId")?;
    message.in_reply_to = get_string(options, "inReplyTo")?;
    message.references = get_strings(options, "references")?;
    message.date = get_u64(options, "date")?;
    let headers = get(options, "headers");
    if Array::is_array(&headers) {
        for pair in Array::from(&headers).iter() {
            let pair = Array::from(&pair);
            let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) else {
                return Err(option_error("headers", "must map names to string values"));
            };
            message.headers.push((name, value));
        }
    }
    let attachments = get(options, "attachments");
    if Array::is_array(&attachments) {
        for item in Array::from(&attachments).iter() {
            let content = get(&item, "content");
            let content = if content.is_undefined() || content.is_null() {
                Content::Stream
            } else if content.is_instance_of::<Uint8Array>() {
                Content::Bytes(Uint8Array::from(content).to_vec())
            } else {
                return Err(option_error(
                    "attachments",
                    "content must be bytes here (streams are pushed)",
                ));
            };
            let disposition = match get_string(&item, "disposition")?.as_deref() {
                None => None,
                Some("inline") => Some(Disposition::Inline),
                Some("attachment") => Some(Disposition::Attachment),
                Some(_) => {
                    return Err(option_error(
                        "attachments",
                        "disposition must be \"inline\" or \"attachment\"",
                    ))
                }
            };
            message.attachments.push(Attachment {
                filename: get_string(&item, "filename")?,
                content,
                content_type: get_string(&item, "contentType")?,
                cid: get_string(&item, "cid")?,
                disposition,
            });
        }
    }
    Ok(message)
}

/// A message being composed. `next()` gives the output piece by piece: bytes, or the index of a streamed attachment
/// whose content is needed (`push` it, then `end`), or `null` at the end.
#[wasm_bindgen]
pub struct WasmComposer {
    inner: Composer,
    from: String,
    to: Vec<String>,
    smtputf8: bool,
    utf8_header: bool,
    /// The output of the last `pushView`/`endView`, read by JavaScript in place (no copy, no garbage per chunk).
    out: Vec<u8>,
}

#[wasm_bindgen]
impl WasmComposer {
    /// Checks and plans the message. `options` as `ComposeOptions` in `ts/compose.ts`, with attachment contents as
    /// bytes or absent (streamed); `now` is Unix milliseconds; `random` 16 random bytes.
    #[wasm_bindgen(constructor)]
    pub fn new(options: &JsValue, now: f64, random: &[u8]) -> Result<WasmComposer, JsValue> {
        let message = message_from_js(options)?;
        let mut seed = [0u8; 16];
        for (d, s) in seed.iter_mut().zip(random) {
            *d = *s;
        }
        let inner = message.compose(now as u64, seed).map_err(|e| compose_error(&e))?;
        let (from, to) = message.envelope();
        Ok(WasmComposer {
            inner,
            from,
            to,
            smtputf8: message.needs_smtputf8(),
            utf8_header: message.has_utf8_header(),
            out: Vec::new(),
        })
    }

    /// The envelope sender (the From address).
    #[wasm_bindgen(js_name = envelopeFrom)]
    #[must_use]
    pub fn envelope_from(&self) -> String {
        self.from.clone()
    }

    /// The envelope recipients (To, Cc and Bcc, each once).
    #[wasm_bindgen(js_name = envelopeTo)]
    #[must_use]
    pub fn envelope_to(&self) -> Vec<String> {
        self.to.clone()
    }

    /// Whether the message needs SMTPUTF8 (a non-ASCII address in a header or the envelope).
    #[wasm_bindgen(js_name = needsSmtpUtf8)]
    #[must_use]
    pub fn needs_smtputf8(&self) -> bool {
        self.smtputf8
    }

    /// Whether the header holds raw UTF-8 (the message is not 7-bit).
    #[wasm_bindgen(js_name = utf8Header)]
    #[must_use]
    pub fn utf8_header(&self) -> bool {
        self.utf8_header
    }

    /// The next output: a `Uint8Array`, a number (the attachment whose content is needed now), or `null` (done).
    #[wasm_bindgen(js_name = next)]
    #[must_use]
    pub fn next_output(&mut self) -> JsValue {
        match self.inner.poll() {
            Step::Output(bytes) => Uint8Array::from(bytes.as_slice()).into(),
            Step::NeedData(index) => JsValue::from(index as u32),
            Step::Done => JsValue::NULL,
        }
    }

    /// Encodes the next chunk of the streamed attachment.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, JsValue> {
        self.inner.push(chunk).map_err(|e| compose_error(&e))
    }

    /// Ends the streamed attachment.
    pub fn end(&mut self) -> Result<Vec<u8>, JsValue> {
        self.inner.end().map_err(|e| compose_error(&e))
    }

    /// `push`, with the output left in this composer's memory: returns its length; `outputPtr` is where it starts.
    /// Valid until the next call on this composer (a streamed attachment then makes no garbage per chunk).
    #[wasm_bindgen(js_name = pushView)]
    pub fn push_view(&mut self, chunk: &[u8]) -> Result<u32, JsValue> {
        self.out.clear();
        self.inner
            .push_into(chunk, &mut self.out)
            .map_err(|e| compose_error(&e))?;
        Ok(self.out.len() as u32)
    }

    /// Where the output of the last `pushView` starts in the wasm memory.
    #[wasm_bindgen(js_name = outputPtr)]
    #[must_use]
    pub fn output_ptr(&self) -> u32 {
        self.out.as_ptr() as u32
    }
}

/// DKIM signatures over one message. `update` with its bytes in order, then `finish` for the fields to prepend.
#[wasm_bindgen]
pub struct WasmDkimSigner {
    inner: Option<Signer>,
    /// After `finishUnsigned`: the signatures waiting for their `b=`.
    pending: Vec<Unsigned>,
}

#[wasm_bindgen]
impl WasmDkimSigner {
    /// `keys`: an array of `{ domainName, keySelector, privateKey, headerFieldNames?, canonicalization? }`; `now`
    /// Unix milliseconds (for `t=`).
    #[wasm_bindgen(constructor)]
    pub fn new(keys: &JsValue, now: f64) -> Result<WasmDkimSigner, JsValue> {
        let mut configs = Vec::new();
        for item in Array::from(keys).iter() {
            let domain = get_string(&item, "domainName")?
                .ok_or_else(|| option_error("dkim.domainName", "is required"))?;
            let selector = get_string(&item, "keySelector")?
                .ok_or_else(|| option_error("dkim.keySelector", "is required"))?;
            let pem = get_string(&item, "privateKey")?
                .ok_or_else(|| option_error("dkim.privateKey", "is required"))?;
            let key = cached_key(&pem).map_err(|e| dkim_error(&e))?;
            let mut config = DkimConfig::new(domain, selector, key).map_err(|e| dkim_error(&e))?;
            if let Some(canon) = get_string(&item, "canonicalization")? {
                config.set_canonicalization(&canon).map_err(|e| dkim_error(&e))?;
            }
            let names = get(&item, "headerFieldNames");
            if !names.is_undefined() && !names.is_null() {
                config
                    .set_header_field_names(get_strings(&item, "headerFieldNames")?)
                    .map_err(|e| dkim_error(&e))?;
            }
            configs.push(config);
        }
        if configs.is_empty() {
            return Err(option_error("dkim", "needs at least one key"));
        }
        Ok(WasmDkimSigner {
            inner: Some(Signer::new(configs, (now / 1000.0) as u64)),
            pending: Vec::new(),
        })
    }

    /// The next bytes of the message.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), JsValue> {
        let signer = self
            .inner
            .as_mut()
            .ok_or_else(|| option_error("dkim", "signer already finished"))?;
        signer.update(chunk).map_err(|e| dkim_error(&e))
    }

    /// The `DKIM-Signature` fields (CRLF-terminated) to put before the message.
    pub fn finish(&mut self) -> Result<String, JsValue> {
        let signer = self
            .inner
            .take()
            .ok_or_else(|| option_error("dkim", "signer already finished"))?;
        signer.finish().map_err(|e| dkim_error(&e))
    }

    /// Ends the message; returns, per key, `{ algorithm, data }`: the bytes its signature covers, for JavaScript to
    /// sign natively (WebCrypto RSA) before `complete`.
    #[wasm_bindgen(js_name = finishUnsigned)]
    pub fn finish_unsigned(&mut self) -> Result<Array, JsValue> {
        let signer = self
            .inner
            .take()
            .ok_or_else(|| option_error("dkim", "signer already finished"))?;
        self.pending = signer.finish_unsigned();
        let out = Array::new();
        for unsigned in &self.pending {
            let item = Object::new();
            set(&item, "algorithm", unsigned.key.algorithm());
            set(&item, "data", Uint8Array::from(unsigned.data.as_slice()));
            out.push(&item);
        }
        Ok(out)
    }

    /// The `DKIM-Signature` fields, with `signatures[i]` as key i's signature, or signed here where it is undefined.
    pub fn complete(&mut self, signatures: &Array) -> Result<String, JsValue> {
        let mut out = String::new();
        for (i, unsigned) in self.pending.iter().enumerate() {
            let given = signatures.get(i as u32);
            let signature = if given.is_instance_of::<Uint8Array>() {
                Uint8Array::from(given).to_vec()
            } else {
                unsigned.key.sign(&unsigned.data).map_err(|e| dkim_error(&e))?
            };
            out.push_str(&unsigned.complete(&signature));
        }
        self.pending.clear();
        Ok(out)
    }
}
