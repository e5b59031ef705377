//! Command lines: one place that refuses control characters in arguments and enforces the line length limit, and
//! that writes either the whole line or nothing.

use crate::error::{Field, InputError};

/// Refuses CR, LF, NUL, any other C0 control character and DEL anywhere in `value`.
pub fn check_argument(field: Field, value: &str) -> Result<(), InputError> {
    let _ = (field, value);
    todo!()
}

/// A command line being built; [`CommandLine::finish`] appends it with CRLF to the output, or nothing on error.
#[derive(Debug, Clone)]
pub struct CommandLine {
    text: String,
}

impl CommandLine {
    /// A line that starts with `verb` (for example `"MAIL FROM:<a@b>"`), which the caller has already checked.
    #[must_use]
    pub fn new(verb: &str) -> Self {
        CommandLine {
            text: verb.to_string(),
        }
    }

    /// Appends a space and `value`, after checking `value` with [`check_argument`].
    pub fn arg(&mut self, field: Field, value: &str) -> Result<&mut Self, InputError> {
        let _ = (field, value);
        todo!()
    }

    /// The line so far, without CRLF.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Appends the line and CRLF to `out` if the whole line (CRLF included) is at most `limit` octets; otherwise
    /// appends nothing and returns a `TooLong` error for [`Field::CommandLine`].
    pub fn finish(self, limit: usize, out: &mut Vec<u8>) -> Result<(), InputError> {
        let _ = (limit, out);
        todo!()
    }
}
