//! Command lines: one place that refuses control characters in arguments and enforces the line length limit, and
//! that writes either the whole line or nothing.

use crate::error::{Field, InputError, InputErrorReason};

/// Refuses CR, LF, NUL, any other C0 control character and DEL anywhere in `value`.
pub fn check_argument(field: Field, value: &str) -> Result<(), InputError> {
    match first_control(value.as_bytes()) {
        Some((offset, byte)) => Err(InputError::new(
            field,
            InputErrorReason::ControlCharacter { byte, offset },
        )),
        None => Ok(()),
    }
}

/// The offset and value of the first C0 control character or DEL in `bytes`.
pub(crate) fn first_control(bytes: &[u8]) -> Option<(usize, u8)> {
    bytes
        .iter()
        .position(|&b| b < 0x20 || b == 0x7f)
        .and_then(|at| bytes.get(at).map(|&b| (at, b)))
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
        check_argument(field, value)?;
        self.text.push(' ');
        self.text.push_str(value);
        Ok(self)
    }

    /// The line so far, without CRLF.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Appends the line and CRLF to `out` if the whole line (CRLF included) is at most `limit` octets; otherwise
    /// appends nothing and returns a `TooLong` error for [`Field::CommandLine`].
    ///
    /// The whole line is checked for control characters once more (as [`Field::CommandLine`]): the verb is the
    /// caller's promise, and a broken promise must not become command injection.
    pub fn finish(self, limit: usize, out: &mut Vec<u8>) -> Result<(), InputError> {
        check_argument(Field::CommandLine, &self.text)?;
        let actual = self.text.len().saturating_add(2);
        if actual > limit {
            return Err(InputError::new(
                Field::CommandLine,
                InputErrorReason::TooLong { limit, actual },
            ));
        }
        out.reserve(actual);
        out.extend_from_slice(self.text.as_bytes());
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(byte: u8, offset: usize) -> InputErrorReason {
        InputErrorReason::ControlCharacter { byte, offset }
    }

    #[test]
    fn check_argument_refuses_every_control_and_del() {
        for byte in (0u8..0x20).chain([0x7f]) {
            let value = format!("ab{}c", char::from(byte));
            let error = check_argument(Field::EnvelopeId, &value).unwrap_err();
            assert_eq!(error.field, Field::EnvelopeId);
            assert_eq!(error.reason, control(byte, 2));
        }
    }

    #[test]
    fn check_argument_accepts_printable_and_non_ascii() {
        check_argument(Field::VrfyArgument, "Jöhn Doe <a@b> ~!").unwrap();
        check_argument(Field::VrfyArgument, "").unwrap();
    }

    #[test]
    fn arg_appends_with_a_space_and_refuses_crlf() {
        let mut line = CommandLine::new("MAIL FROM:<a@b>");
        line.arg(Field::Size, "SIZE=10")
            .unwrap()
            .arg(Field::Body, "BODY=8BITMIME")
            .unwrap();
        assert_eq!(line.as_str(), "MAIL FROM:<a@b> SIZE=10 BODY=8BITMIME");
        let error = line.arg(Field::EnvelopeId, "ENVID=x\r\nRSET").unwrap_err();
        assert_eq!(error.reason, control(b'\r', 7));
        assert_eq!(line.as_str(), "MAIL FROM:<a@b> SIZE=10 BODY=8BITMIME");
    }

    #[test]
    fn finish_enforces_the_limit_including_crlf() {
        let mut out = b"x".to_vec();
        CommandLine::new("NOOP").finish(6, &mut out).unwrap();
        assert_eq!(out, b"xNOOP\r\n");
        let error = CommandLine::new("NOOP").finish(5, &mut out).unwrap_err();
        assert_eq!(error.field, Field::CommandLine);
        assert_eq!(error.reason, InputErrorReason::TooLong { limit: 5, actual: 6 });
        assert_eq!(out, b"xNOOP\r\n");
    }

    #[test]
    fn finish_refuses_a_verb_with_a_line_end() {
        let mut out = Vec::new();
        let error = CommandLine::new("RSET\r\nDATA")
            .finish(512, &mut out)
            .unwrap_err();
        assert_eq!(error.field, Field::CommandLine);
        assert_eq!(error.reason, control(b'\r', 4));
        assert!(out.is_empty());
    }
}
