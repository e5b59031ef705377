//! The EHLO reply: the server's name and its extensions (RFC 5321 section 4.1.1.1).

use crate::reply::Reply;

/// One advertised extension.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Extension {
    /// Upper-cased keyword.
    keyword: String,
    /// Parameters as advertised, surrounding spaces removed.
    params: String,
    /// Whether this came from the old `KEYWORD=params` form (a later plain line replaces its parameters).
    equals_form: bool,
}

/// What the server advertised in its EHLO reply. Keywords are matched case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    domain: String,
    greeting: String,
    extensions: Vec<Extension>,
    auth_mechanisms: Vec<String>,
}

impl Capabilities {
    /// Reads an EHLO reply: the first line is the server's domain (and greeting text); each later line is
    /// `KEYWORD [params]`. Never fails: lines that are not keywords are ignored.
    ///
    /// The pre-RFC 2554 form `AUTH=LOGIN PLAIN` counts as `AUTH` with those mechanisms; its mechanisms are added to
    /// those of a plain `AUTH` line.
    #[must_use]
    pub fn from_ehlo_reply(reply: &Reply) -> Capabilities {
        let mut capabilities = Capabilities::default();
        let mut lines = reply.raw_lines().iter().map(|line| String::from_utf8_lossy(line));
        if let Some(first) = lines.next() {
            let first = first.trim();
            let (domain, greeting) = first.split_once(char::is_whitespace).unwrap_or((first, ""));
            capabilities.domain = domain.to_string();
            capabilities.greeting = greeting.trim().to_string();
        }
        for line in lines {
            if let Some(extension) = parse_extension_line(&line) {
                capabilities.add(extension);
            }
        }
        capabilities
    }

    /// The domain the server named itself in the first line.
    #[must_use]
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The rest of the first line after the domain (free text, may be empty).
    #[must_use]
    pub fn greeting(&self) -> &str {
        &self.greeting
    }

    /// Whether the extension was advertised (case-insensitive).
    #[must_use]
    pub fn has(&self, keyword: &str) -> bool {
        self.find(keyword).is_some()
    }

    /// The extension's parameters as advertised (`Some("")` when it has none), or `None` when not advertised.
    #[must_use]
    pub fn param(&self, keyword: &str) -> Option<&str> {
        self.find(keyword).map(|extension| extension.params.as_str())
    }

    /// Every advertised keyword (upper-cased) with its parameters, in the server's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.extensions
            .iter()
            .map(|extension| (extension.keyword.as_str(), extension.params.as_str()))
    }

    /// The AUTH mechanisms offered, upper-cased and without duplicates, from `AUTH ...` and the old `AUTH=...` form.
    #[must_use]
    pub fn auth_mechanisms(&self) -> Vec<String> {
        self.auth_mechanisms.clone()
    }

    /// The SIZE limit in octets, when the server advertised a non-zero one.
    #[must_use]
    pub fn size_limit(&self) -> Option<u64> {
        let params = self.param("SIZE")?;
        let first = params.split_ascii_whitespace().next()?;
        first.parse::<u64>().ok().filter(|&limit| limit > 0)
    }

    /// The extension named `keyword`, compared case-insensitively.
    fn find(&self, keyword: &str) -> Option<&Extension> {
        self.extensions
            .iter()
            .find(|extension| extension.keyword.eq_ignore_ascii_case(keyword))
    }

    /// Records one extension line: the first mention of a keyword wins, except that a plain line replaces the
    /// parameters of an earlier `KEYWORD=` line (the plain form is the standard one).
    fn add(&mut self, extension: Extension) {
        if extension.keyword == "AUTH" {
            for mechanism in extension.params.split_ascii_whitespace() {
                let mechanism = mechanism.to_ascii_uppercase();
                if !self.auth_mechanisms.contains(&mechanism) {
                    self.auth_mechanisms.push(mechanism);
                }
            }
        }
        match self
            .extensions
            .iter_mut()
            .find(|known| known.keyword == extension.keyword)
        {
            Some(known) => {
                if known.equals_form && !extension.equals_form {
                    *known = extension;
                }
            }
            None => self.extensions.push(extension),
        }
    }
}

/// Parses `KEYWORD [params]` or the old `KEYWORD=params`; `None` when the line does not start with an
/// ehlo-keyword (`(ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`) followed by a space, `=` or the end.
fn parse_extension_line(line: &str) -> Option<Extension> {
    let line = line.trim();
    let keyword_len = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(line.len());
    let (keyword, rest) = line.split_at(keyword_len);
    if !keyword.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let (params, equals_form) = match rest.strip_prefix('=') {
        Some(params) => (params, true),
        None if rest.is_empty() || rest.starts_with(char::is_whitespace) => (rest, false),
        None => return None,
    };
    Some(Extension {
        keyword: keyword.to_ascii_uppercase(),
        params: params.trim().to_string(),
        equals_form,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ehlo(lines: &[&str]) -> Capabilities {
        Capabilities::from_ehlo_reply(&Reply::new(
            250,
            lines.iter().map(|l| l.as_bytes().to_vec()).collect(),
        ))
    }

    /// What Postfix 3.x answers, STARTTLS offered before TLS.
    fn postfix() -> Capabilities {
        ehlo(&[
            "mail.example.org",
            "PIPELINING",
            "SIZE 10240000",
            "VRFY",
            "ETRN",
            "STARTTLS",
            "AUTH PLAIN LOGIN",
            "AUTH=PLAIN LOGIN",
            "ENHANCEDSTATUSCODES",
            "8BITMIME",
            "DSN",
            "SMTPUTF8",
            "CHUNKING",
        ])
    }

    #[test]
    fn domain_and_greeting_come_from_the_first_line() {
        let caps = ehlo(&["mx.example.org Hello client.example [192.0.2.1]", "PIPELINING"]);
        assert_eq!(caps.domain(), "mx.example.org");
        assert_eq!(caps.greeting(), "Hello client.example [192.0.2.1]");
        assert_eq!(postfix().domain(), "mail.example.org");
        assert_eq!(postfix().greeting(), "");
        assert_eq!(ehlo(&[]).domain(), "");
    }

    #[test]
    fn keywords_are_case_insensitive_and_stored_upper_case() {
        let caps = ehlo(&["mx", "starttls", "Size 1000", "8bitmime"]);
        assert!(caps.has("starttls") && caps.has("STARTTLS") && caps.has("StartTLS"));
        assert!(!caps.has("PIPELINING"));
        assert_eq!(caps.param("size"), Some("1000"));
        assert_eq!(caps.param("8BITMIME"), Some(""));
        assert_eq!(caps.param("DSN"), None);
        let all: Vec<_> = caps.iter().collect();
        assert_eq!(all, [("STARTTLS", ""), ("SIZE", "1000"), ("8BITMIME", "")]);
    }

    #[test]
    fn the_first_line_is_not_a_keyword() {
        assert!(!ehlo(&["STARTTLS"]).has("STARTTLS"));
    }

    #[test]
    fn auth_mechanisms_union_of_both_forms() {
        assert_eq!(postfix().auth_mechanisms(), ["PLAIN", "LOGIN"]);
        let caps = ehlo(&["mx", "AUTH=login cram-md5", "auth plain LOGIN xoauth2"]);
        assert_eq!(caps.auth_mechanisms(), ["LOGIN", "CRAM-MD5", "PLAIN", "XOAUTH2"]);
        assert!(caps.has("auth"));
        // The standard line's parameters win over the old form's.
        assert_eq!(caps.param("AUTH"), Some("plain LOGIN xoauth2"));
        let old_only = ehlo(&["mx", "AUTH=LOGIN"]);
        assert!(old_only.has("AUTH"));
        assert_eq!(old_only.auth_mechanisms(), ["LOGIN"]);
        assert!(ehlo(&["mx", "AUTH"]).auth_mechanisms().is_empty());
        assert!(ehlo(&["mx"]).auth_mechanisms().is_empty());
    }

    #[test]
    fn size_limit() {
        assert_eq!(postfix().size_limit(), Some(10_240_000));
        assert_eq!(ehlo(&["mx", "SIZE"]).size_limit(), None);
        assert_eq!(ehlo(&["mx", "SIZE 0"]).size_limit(), None);
        assert_eq!(ehlo(&["mx", "SIZE lots"]).size_limit(), None);
        assert_eq!(ehlo(&["mx", "SIZE 99999999999999999999999"]).size_limit(), None);
        assert_eq!(ehlo(&["mx", "PIPELINING"]).size_limit(), None);
    }

    #[test]
    fn lines_that_are_not_keywords_are_ignored() {
        let caps = ehlo(&[
            "mx",
            "",
            "   ",
            "-DASH",
            "X_UNDERSCORE",
            "\u{e9}T\u{e9}",
            "OK-KEY  spaced params  ",
        ]);
        assert_eq!(caps.iter().collect::<Vec<_>>(), [("OK-KEY", "spaced params")]);
    }

    #[test]
    fn non_utf8_is_read_lossily() {
        let reply = Reply::new(250, vec![b"mx\xff".to_vec(), b"X-FOO \xfe".to_vec()]);
        let caps = Capabilities::from_ehlo_reply(&reply);
        assert_eq!(caps.domain(), "mx\u{fffd}");
        assert_eq!(caps.param("x-foo"), Some("\u{fffd}"));
    }
}
