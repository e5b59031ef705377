//! Plain JavaScript objects in and out, built with `js_sys::Reflect` (no serde: it would double the glue and grow
//! the `.wasm`). Every shape here is mirrored by hand in `ts/smtp_wasm.d.ts`.

use core::cell::RefCell;

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::error::Error;
use crate::reply::Reply;
use crate::time::Timestamp;

thread_local! {
    /// JavaScript strings for the fixed property names and values, made once: creating a string decodes it from
    /// the wasm memory in JavaScript, which cost more than the rest of building an event.
    static TEXTS: RefCell<Vec<(&'static str, JsValue)>> = const { RefCell::new(Vec::new()) };
}

/// A fixed string as a JavaScript string, created once and then reused.
pub(crate) fn text(s: &'static str) -> JsValue {
    TEXTS.with(|texts| {
        let mut texts = texts.borrow_mut();
        if let Some((_, value)) = texts
            .iter()
            .find(|(known, _)| core::ptr::eq(*known, s) || *known == s)
        {
            return value.clone();
        }
        let value = JsValue::from_str(s);
        texts.push((s, value.clone()));
        value
    })
}

/// `obj[key] = value`. Setting a property on a fresh plain object cannot fail.
pub(crate) fn set(obj: &Object, key: &'static str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &text(key), &value.into());
}

/// `obj[key]`, or `undefined` when `obj` is not an object.
pub(crate) fn get(obj: &JsValue, key: &'static str) -> JsValue {
    if !obj.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &text(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `obj[key]` as a string: `Ok(None)` when absent (undefined or null), an invalid-input error when not a string.
pub(crate) fn get_string(obj: &JsValue, key: &'static str) -> Result<Option<String>, JsValue> {
    let value = get(obj, key);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .as_string()
        .map(Some)
        .ok_or_else(|| option_error(key, "must be a string"))
}

/// `obj[key]` as a boolean, `false` when absent.
pub(crate) fn get_bool(obj: &JsValue, key: &'static str) -> Result<bool, JsValue> {
    let value = get(obj, key);
    if value.is_undefined() || value.is_null() {
        return Ok(false);
    }
    value
        .as_bool()
        .ok_or_else(|| option_error(key, "must be a boolean"))
}

/// `obj[key]` as a non-negative whole number, `Ok(None)` when absent.
pub(crate) fn get_u64(obj: &JsValue, key: &'static str) -> Result<Option<u64>, JsValue> {
    let value = get(obj, key);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        // 2^53: the largest integer a JavaScript number holds exactly.
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_992.0 => Ok(Some(n as u64)),
        _ => Err(option_error(key, "must be a non-negative whole number")),
    }
}

/// `obj[key]` as an array of strings (a lone string counts as one), empty when absent.
pub(crate) fn get_strings(obj: &JsValue, key: &'static str) -> Result<Vec<String>, JsValue> {
    let value = get(obj, key);
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    if let Some(one) = value.as_string() {
        return Ok(vec![one]);
    }
    if !Array::is_array(&value) {
        return Err(option_error(key, "must be an array of strings"));
    }
    Array::from(&value)
        .iter()
        .map(|item| {
            item.as_string()
                .ok_or_else(|| option_error(key, "must be an array of strings"))
        })
        .collect()
}

/// A JavaScript number (`Date.now()`) as a timestamp; negative and NaN become the epoch.
pub(crate) fn timestamp(now: f64) -> Timestamp {
    // `as` saturates: NaN -> 0, negative -> 0, huge -> u64::MAX.
    Timestamp::from_unix_millis(now as u64)
}

/// A timestamp as a JavaScript number.
pub(crate) fn millis(at: Timestamp) -> f64 {
    at.as_unix_millis() as f64
}

fn strings(items: impl IntoIterator<Item = String>) -> Array {
    items.into_iter().map(JsValue::from).collect()
}

/// `{ code, enhancedCode, lines, text }`.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) fn reply_to_js(reply: &Reply) -> JsValue {
    let obj = Object::new();
    set_reply_fields(&obj, reply);
    obj.into()
}

fn set_reply_fields(obj: &Object, reply: &Reply) {
    set(obj, "code", reply.code());
    let enhanced: JsValue = match reply.enhanced_code() {
        Some(code) => Array::of3(&code.class.into(), &code.subject.into(), &code.detail.into()).into(),
        None => JsValue::NULL,
    };
    set(obj, "enhancedCode", enhanced);
    set(obj, "lines", strings(reply.lines()));
    set(obj, "text", reply.message());
}

/// `{ kind, message, temporary, ... }`: the TypeScript side turns it into an error class.
pub(crate) fn error_to_js(error: &Error) -> JsValue {
    let obj = Object::new();
    set(&obj, "kind", error.kind_name());
    set(&obj, "message", error.to_string());
    set(&obj, "temporary", error.is_temporary());
    match error {
        Error::Rejected(rejection) => {
            set_reply_fields(&obj, &rejection.reply);
            set(&obj, "command", rejection.command.as_str());
        }
        Error::InvalidInput(input) => set(&obj, "field", input.field.name()),
        Error::Closed { phase, mid_reply } => {
            set(&obj, "phase", phase.name());
            set(&obj, "midReply", *mid_reply);
        }
        Error::Timeout { phase } => set(&obj, "phase", phase.name()),
        Error::Tls(tls) => set(&obj, "tlsKind", tls.kind.name()),
        Error::AuthMechanismNotOffered { mechanism, offered } => {
            set(
                &obj,
                "mechanism",
                mechanism.as_deref().map_or(JsValue::NULL, JsValue::from_str),
            );
            set(&obj, "offered", strings(offered.iter().cloned()));
        }
        Error::ExtensionNotSupported { extension } => set(&obj, "extension", *extension),
        _ => {}
    }
    obj.into()
}

/// An error about an option object that could not be read (a wrong type from JavaScript).
pub(crate) fn option_error(key: &str, what: &str) -> JsValue {
    let obj = Object::new();
    set(&obj, "kind", "invalid-input");
    set(&obj, "message", format!("invalid input: option {key} {what}"));
    set(&obj, "temporary", false);
    set(&obj, "field", key);
    obj.into()
}
