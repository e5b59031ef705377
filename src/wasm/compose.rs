//! [`WasmComposer`] and [`WasmDkimSigner`]: the message builder and the DKIM signer for JavaScript, in their own
//! wasm (features `compose` and `dkim`, without the client), loaded by `ts/compose.ts` only when a message is
//! composed or signed.

use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::prelude::*;

use super::js::{get, get_string, get_strings, get_u64, option_error, set};
use crate::compose::{Address, Attachment, ComposeError, Composer, Content, Disposition, Message, Step};
use crate::dkim::{DkimConfig, DkimError, DkimKey, Signer};

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
        Ok(WasmComposer { inner, from, to })
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

    /// The next output: a `Uint8Array`, a number (the attachment whose content is needed now), or `null` (done).
    #[must_use]
    pub fn next(&mut self) -> JsValue {
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
}

/// DKIM signatures over one message. `update` with its bytes in order, then `finish` for the fields to prepend.
#[wasm_bindgen]
pub struct WasmDkimSigner {
    inner: Option<Signer>,
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
            let key = DkimKey::from_pem(&pem).map_err(|e| dkim_error(&e))?;
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
}
