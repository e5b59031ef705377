//! Header fields: checking what the user gave (no CR or LF anywhere, field names of printable ASCII), addresses
//! (`"Name <addr>"` or name and address), and folding to lines of at most 78 characters where whitespace allows
//! (never more than 998). Non-ASCII text becomes RFC 2047 encoded words.

use super::encode::{encoded_words, HEADER_LINE};
use super::ComposeError;

/// Longest unbroken run of characters accepted as-is in a header value; longer runs are sent as encoded words
/// (which can be cut anywhere), so no line ever exceeds 998 octets.
const LONGEST_WORD: usize = 900;

/// An email address with an optional display name: `"Ada Lovelace" <ada@example.com>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The display name (any Unicode; encoded as needed).
    pub name: Option<String>,
    /// The address itself, `local@domain`.
    pub address: String,
}

impl Address {
    /// An address with a display name.
    pub fn new(name: impl Into<String>, address: impl Into<String>) -> Result<Self, ComposeError> {
        let name = name.into();
        let address = address.into();
        check_value("address", &name)?;
        check_address(&address)?;
        Ok(Self {
            name: (!name.is_empty()).then_some(name),
            address,
        })
    }

    /// Parses `addr@example.com`, `Name <addr@example.com>` or `"Last, First" <addr@example.com>`.
    pub fn parse(text: &str) -> Result<Self, ComposeError> {
        check_value("address", text)?;
        let text = text.trim();
        if let (Some(lt), true) = (text.rfind('<'), text.ends_with('>')) {
            let address = text.get(lt + 1..text.len() - 1).unwrap_or("").trim();
            let name = unquote(text.get(..lt).unwrap_or("").trim());
            return Self::new(name, address);
        }
        Self::new("", text)
    }

    /// Parses a comma-separated list of addresses (commas inside quotes or angle brackets do not separate).
    pub fn parse_list(text: &str) -> Result<Vec<Self>, ComposeError> {
        let mut out = Vec::new();
        let (mut quoted, mut angle, mut escaped, mut start) = (false, false, false, 0usize);
        for (i, c) in text.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                '<' if !quoted => angle = true,
                '>' if !quoted => angle = false,
                ',' if !quoted && !angle => {
                    let item = text.get(start..i).unwrap_or("");
                    if !item.trim().is_empty() {
                        out.push(Self::parse(item)?);
                    }
                    start = i + 1;
                }
                _ => {}
            }
        }
        let last = text.get(start..).unwrap_or("");
        if !last.trim().is_empty() {
            out.push(Self::parse(last)?);
        }
        Ok(out)
    }

    /// The domain part of the address (after the last `@`).
    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// The address as header tokens: the name (quoted or encoded as needed) and `<addr>`.
    fn tokens(&self) -> Vec<String> {
        let Some(name) = &self.name else {
            return vec![self.address.clone()];
        };
        let mut tokens = Vec::new();
        let plain = name.len() <= 70 && name.bytes().all(|b| (32..=126).contains(&b));
        if plain
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b" !#$%&'*+-/=?^_`{|}~".contains(&b))
        {
            // An atom phrase: as it is (but "=?" would read as an encoded word).
            if name.contains("=?") {
                tokens.push(encoded_words(name, "\r\n "));
            } else {
                tokens.extend(name.split(' ').filter(|w| !w.is_empty()).map(str::to_string));
            }
        } else if plain && !name.contains("=?") {
            let mut quoted = String::from("\"");
            for c in name.chars() {
                if c == '"' || c == '\\' {
                    quoted.push('\\');
                }
                quoted.push(c);
            }
            quoted.push('"');
            tokens.push(quoted);
        } else {
            tokens.push(encoded_words(name, "\r\n "));
        }
        tokens.push(format!("<{}>", self.address));
        tokens
    }
}

/// Removes the quotes around a quoted display name and its backslash escapes.
fn unquote(name: &str) -> String {
    let Some(inner) = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) else {
        return name.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if c == '\\' && !escaped {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    out
}

/// CR or LF anywhere in a header value, name or filename would let it start a new header: refused.
pub(crate) fn check_value(field: &str, value: &str) -> Result<(), ComposeError> {
    if value.contains(['\r', '\n']) {
        return Err(ComposeError::LineBreak {
            field: field.to_string(),
        });
    }
    if value.contains('\0') {
        return Err(ComposeError::Invalid {
            field: field.to_string(),
            reason: "contains a NUL character",
        });
    }
    Ok(())
}

fn check_address(address: &str) -> Result<(), ComposeError> {
    check_value("address", address)?;
    let bad = address.is_empty()
        || address.len() > 254
        || !address.contains('@')
        || address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"()[]\\".contains(c));
    if bad {
        return Err(ComposeError::Invalid {
            field: format!("address {address:?}"),
            reason: "is not an email address",
        });
    }
    Ok(())
}

/// A header field name: printable ASCII except `:` (RFC 5322 2.2).
pub(crate) fn check_name(name: &str) -> Result<(), ComposeError> {
    check_value("header name", name)?;
    if name.is_empty() || name.len() > 76 || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
        return Err(ComposeError::Invalid {
            field: format!("header name {name:?}"),
            reason: "is not a valid field name",
        });
    }
    Ok(())
}

/// Writes `Name: token token...` folding between tokens to keep lines at 78 characters where possible. Tokens may
/// contain their own folds (`\r\n `, from encoded words).
pub(crate) struct FieldWriter {
    out: String,
    column: usize,
    first: bool,
}

impl FieldWriter {
    pub(crate) fn new(name: &str) -> Self {
        let out = format!("{name}:");
        let column = out.len();
        Self {
            out,
            column,
            first: true,
        }
    }

    /// Appends `token` after `separator` (`""` or `","`), with a space or a fold before it.
    pub(crate) fn token(&mut self, separator: &str, token: &str) {
        self.out.push_str(separator);
        self.column += separator.len();
        let first_line = token.split("\r\n").next().unwrap_or("").len();
        if !self.first && self.column + 1 + first_line > HEADER_LINE {
            self.out.push_str("\r\n ");
            self.column = 1;
        } else {
            self.out.push(' ');
            self.column += 1;
        }
        self.first = false;
        self.out.push_str(token);
        match token.rsplit_once("\r\n") {
            Some((_, last)) => self.column = last.len(),
            None => self.column += token.len(),
        }
    }

    pub(crate) fn finish(mut self) -> String {
        self.out.push_str("\r\n");
        self.out
    }
}

/// An unstructured field (Subject, or a custom header): words folded at spaces, or encoded words when the text is
/// not plain ASCII, looks like an encoded word, or has a run too long to fold.
pub(crate) fn unstructured(name: &str, value: &str) -> Result<String, ComposeError> {
    check_name(name)?;
    check_value(name, value)?;
    let mut writer = FieldWriter::new(name);
    let plain = value.bytes().all(|b| (32..=126).contains(&b) || b == b'\t')
        && !value.contains("=?")
        && value.split([' ', '\t']).all(|w| w.len() <= LONGEST_WORD);
    if plain {
        // Each space is kept: a fold is inserted before a word instead of the space it replaces... so runs of spaces
        // survive too (the empty words between them are written as nothing).
        let mut words = value.split(' ');
        if let Some(first) = words.next() {
            writer.token("", first);
        }
        for word in words {
            writer.token("", word);
        }
    } else {
        writer.token("", &encoded_words(value, "\r\n "));
    }
    Ok(writer.finish())
}

/// An address list field: `To: a <x@y>, "b c" <z@y>`.
pub(crate) fn address_list(name: &str, addresses: &[Address]) -> String {
    let mut writer = FieldWriter::new(name);
    for (i, address) in addresses.iter().enumerate() {
        for (j, token) in address.tokens().iter().enumerate() {
            writer.token(if i > 0 && j == 0 { "," } else { "" }, token);
        }
    }
    writer.finish()
}

/// A message identifier as `<id>` (angle brackets added when missing); no whitespace, CR or LF inside.
pub(crate) fn message_id(field: &str, id: &str) -> Result<String, ComposeError> {
    check_value(field, id)?;
    let id = id.trim();
    let inner = id
        .strip_prefix('<')
        .and_then(|i| i.strip_suffix('>'))
        .unwrap_or(id);
    if inner.is_empty()
        || inner.len() > LONGEST_WORD
        || inner
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>".contains(c))
    {
        return Err(ComposeError::Invalid {
            field: field.to_string(),
            reason: "is not a message identifier",
        });
    }
    Ok(format!("<{inner}>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_in_every_usual_form() {
        let a = Address::parse("ada@example.com").unwrap();
        assert_eq!((a.name, a.address.as_str()), (None, "ada@example.com"));
        let a = Address::parse(" Ada Lovelace <ada@example.com> ").unwrap();
        assert_eq!(a.name.as_deref(), Some("Ada Lovelace"));
        let a = Address::parse("\"Lovelace, Ada \\\"A\\\"\" <ada@example.com>").unwrap();
        assert_eq!(a.name.as_deref(), Some("Lovelace, Ada \"A\""));
        let list = Address::parse_list("a@x.org, \"B, b\" <b@x.org>,c <c@x.org>").unwrap();
        assert_eq!(list.len(), 3);
        assert!(Address::parse("Evil <a@x.org>\r\nBcc: x@y").is_err());
        assert!(Address::parse("not an address").is_err());
    }

    #[test]
    fn address_lists_fold_and_encode() {
        let list = [
            Address::new("Zoë Ünïcödé", "z@example.com").unwrap(),
            Address::new("Last, First", "f@example.com").unwrap(),
            Address::new("", "plain@example.com").unwrap(),
        ];
        let field = address_list("To", &list);
        assert!(field.contains("=?UTF-8?B?"), "{field}");
        assert!(
            field
                .replace("\r\n", "")
                .contains("\"Last, First\" <f@example.com>"),
            "{field}"
        );
        assert!(field.split("\r\n").all(|l| l.len() <= 78), "{field}");
    }

    #[test]
    fn unstructured_fields_fold_at_spaces_and_refuse_line_breaks() {
        let subject = "word ".repeat(40);
        let field = unstructured("Subject", subject.trim_end()).unwrap();
        assert!(field.split("\r\n").all(|l| l.len() <= 78));
        assert_eq!(
            field.replace("\r\n", ""),
            format!("Subject: {}\r\n", subject.trim_end()).replace("\r\n", "")
        );
        assert!(matches!(
            unstructured("Subject", "a\r\nBcc: b"),
            Err(ComposeError::LineBreak { .. })
        ));
        assert!(matches!(
            unstructured("X-A\nB", "v"),
            Err(ComposeError::LineBreak { .. })
        ));
        let long = unstructured("X-Long", &"a".repeat(2000)).unwrap();
        assert!(long.split("\r\n").all(|l| l.len() <= 998));
    }
}
