//! The EHLO reply: the server's name and its extensions (RFC 5321 section 4.1.1.1).

use crate::reply::Reply;

/// What the server advertised in its EHLO reply. Keywords are matched case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {}

impl Capabilities {
    /// Reads an EHLO reply: the first line is the server's domain (and greeting text); each later line is
    /// `KEYWORD [params]`. Never fails: lines that are not keywords are ignored.
    #[must_use]
    pub fn from_ehlo_reply(reply: &Reply) -> Capabilities {
        let _ = reply;
        todo!()
    }

    /// The domain the server named itself in the first line.
    #[must_use]
    pub fn domain(&self) -> &str {
        todo!()
    }

    /// Whether the extension was advertised (case-insensitive).
    #[must_use]
    pub fn has(&self, keyword: &str) -> bool {
        let _ = keyword;
        todo!()
    }

    /// The extension's parameters as advertised (`Some("")` when it has none), or `None` when not advertised.
    #[must_use]
    pub fn param(&self, keyword: &str) -> Option<&str> {
        let _ = keyword;
        todo!()
    }

    /// Every advertised keyword (upper-cased) with its parameters, in the server's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        std::iter::empty()
    }

    /// The AUTH mechanisms offered, upper-cased and without duplicates, from `AUTH ...` and the old `AUTH=...` form.
    #[must_use]
    pub fn auth_mechanisms(&self) -> Vec<String> {
        todo!()
    }

    /// The SIZE limit in octets, when the server advertised a non-zero one.
    #[must_use]
    pub fn size_limit(&self) -> Option<u64> {
        todo!()
    }
}
