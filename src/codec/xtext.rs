//! xtext (RFC 3461 section 4) and utf-8-addr-xtext (RFC 6533 section 3) for ENVID and ORCPT.

/// RFC 3461 xtext: bytes outside `!`..`~`, and `+` and `=`, become `+HH` (upper-case hex).
#[must_use]
pub fn encode_xtext(value: &str) -> String {
    let _ = value;
    todo!()
}

/// RFC 6533 utf-8-addr-xtext: non-ASCII characters and `+`, `=`, `\` become `\x{HEX}`; controls are not allowed
/// (callers check them first).
#[must_use]
pub fn encode_utf8_addr_xtext(value: &str) -> String {
    let _ = value;
    todo!()
}
