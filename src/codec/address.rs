//! Address checks: refuse what is unsafe or over the RFC 5321 limits, let the server judge everything else.

use crate::error::{Field, InputError};

/// Checks a mailbox given without angle brackets for `MAIL FROM:<...>` or `RCPT TO:<...>`.
///
/// Refused: CR, LF, NUL, other C0 controls, DEL; `<`, `>` or space outside a quoted local part; a local part over 64
/// octets, a domain over 255, a path (with brackets) over 256; non-ASCII unless `utf8_allowed`; the empty string
/// unless `allow_empty` (the null reverse-path `<>`).
pub fn validate_address(
    field: Field,
    address: &str,
    utf8_allowed: bool,
    allow_empty: bool,
) -> Result<(), InputError> {
    let _ = (field, address, utf8_allowed, allow_empty);
    todo!()
}
