//! DKIM signing (RFC 6376) with `rsa-sha256` and `ed25519-sha256` (RFC 8463), for composed and raw messages.
//!
//! The [`Signer`] takes the message in any chunks (bare CR and LF count as CRLF, as the SMTP codec sends them),
//! hashes the body as it passes, and at the end returns the `DKIM-Signature` fields to put in front of the message,
//! one per key (several signatures at once, e.g. RSA and Ed25519). No `l=`: the whole body is always signed.
//!
//! ```
//! use smtp_wasm::dkim::{DkimConfig, DkimKey, Signer};
//!
//! # let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+qRdJWmUFLDRtuRGT6Lt/sZiDmFx6brDaQTTTPVyqu\n-----END PRIVATE KEY-----\n";
//! let key = DkimKey::from_pem(pem)?;
//! let mut signer = Signer::new(vec![DkimConfig::new("example.com", "s1", key)?], 1_700_000_000);
//! signer.update(b"From: a@example.com\r\nSubject: hi\r\n\r\nHello\r\n")?;
//! let fields = signer.finish()?;
//! assert!(fields.starts_with("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com;"));
//! # Ok::<(), smtp_wasm::dkim::DkimError>(())
//! ```

mod canon;
mod key;

use std::fmt;
use std::sync::Arc;

use base64ct::{Base64, Encoding as _};

pub use canon::Canonicalization;
pub use key::DkimKey;

use crate::codec::Normalizer;
use canon::BodyHasher;

/// The header section is held until the blank line that ends it; beyond this it is refused.
const MAX_HEADER: usize = 1 << 20;

/// Header fields signed by default, when present (each occurrence).
const DEFAULT_HEADERS: &[&str] = &[
    "From",
    "Sender",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "To",
    "Cc",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-ID",
    "Content-Description",
    "Resent-Date",
    "Resent-From",
    "Resent-Sender",
    "Resent-To",
    "Resent-Cc",
    "Resent-Message-ID",
    "In-Reply-To",
    "References",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
    "List-Unsubscribe-Post",
];

/// Why signing failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DkimError {
    /// The private key cannot be used.
    Key(&'static str),
    /// An option is not valid (domain, selector, header names).
    Invalid {
        /// Which option.
        field: String,
        /// Why.
        reason: &'static str,
    },
    /// The message's header section is larger than 1 MiB, or the message has a NUL byte.
    Message(&'static str),
    /// ring refused to sign.
    Sign,
}

impl fmt::Display for DkimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(why) => write!(f, "DKIM private key: {why}"),
            Self::Invalid { field, reason } => write!(f, "DKIM {field} {reason}"),
            Self::Message(why) => write!(f, "DKIM: {why}"),
            Self::Sign => f.write_str("DKIM: signing failed"),
        }
    }
}

impl std::error::Error for DkimError {}

/// One signature to make.
#[derive(Debug)]
pub struct DkimConfig {
    /// `d=`: the signing domain.
    pub domain: String,
    /// `s=`: the selector (the key's DNS name is `<selector>._domainkey.<domain>`).
    pub selector: String,
    /// The private key.
    /// The private key (shared: one parsed key signs many messages).
    pub key: Arc<DkimKey>,
    /// Header canonicalization (default relaxed).
    pub header_canonicalization: Canonicalization,
    /// Body canonicalization (default relaxed).
    pub body_canonicalization: Canonicalization,
    /// The header fields to sign; default: the usual ones present in the message. `From` is always signed.
    pub header_field_names: Option<Vec<String>>,
}

impl DkimConfig {
    /// relaxed/relaxed with the default header fields.
    pub fn new(
        domain: impl Into<String>,
        selector: impl Into<String>,
        key: impl Into<Arc<DkimKey>>,
    ) -> Result<Self, DkimError> {
        let domain = domain.into();
        let selector = selector.into();
        for (field, value) in [("domainName", &domain), ("keySelector", &selector)] {
            let ok = !value.is_empty()
                && value.len() <= 253
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
            if !ok {
                return Err(DkimError::Invalid {
                    field: field.into(),
                    reason: "must be a domain name (letters, digits, '.', '-', '_')",
                });
            }
        }
        Ok(Self {
            domain,
            selector,
            key: key.into(),
            header_canonicalization: Canonicalization::Relaxed,
            body_canonicalization: Canonicalization::Relaxed,
            header_field_names: None,
        })
    }

    /// Parses `"relaxed/relaxed"`, `"simple/simple"`, `"relaxed/simple"`, `"simple/relaxed"` or a single word (the
    /// body then defaults to simple, as in RFC 6376 3.5).
    pub fn set_canonicalization(&mut self, text: &str) -> Result<(), DkimError> {
        let parse = |word: &str| match word {
            "simple" => Ok(Canonicalization::Simple),
            "relaxed" => Ok(Canonicalization::Relaxed),
            _ => Err(DkimError::Invalid {
                field: "canonicalization".into(),
                reason: "must be relaxed/relaxed, simple/simple, relaxed/simple or simple/relaxed",
            }),
        };
        let (h, b) = text.split_once('/').unwrap_or((text, "simple"));
        self.header_canonicalization = parse(h)?;
        self.body_canonicalization = parse(b)?;
        Ok(())
    }

    /// Sets the header fields to sign (`From` is added when missing).
    pub fn set_header_field_names(&mut self, names: Vec<String>) -> Result<(), DkimError> {
        for name in &names {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| (33..=126).contains(&b) && b != b':' && b != b';')
            {
                return Err(DkimError::Invalid {
                    field: format!("header field name {name:?}"),
                    reason: "is not a field name",
                });
            }
        }
        self.header_field_names = Some(names);
        Ok(())
    }
}

/// Signs one message with one or more keys, reading it once.
pub struct Signer {
    configs: Vec<DkimConfig>,
    /// Unix seconds for `t=`.
    timestamp: u64,
    normalizer: Normalizer,
    /// The header section so far (line-normalized), until the blank line.
    head: Vec<u8>,
    in_body: bool,
    /// One per config, in order.
    bodies: Vec<BodyHasher>,
    scratch: Vec<u8>,
}

impl Signer {
    /// A signer for `configs`; `timestamp` (Unix seconds) becomes `t=`.
    pub fn new(configs: Vec<DkimConfig>, timestamp: u64) -> Self {
        let bodies = configs
            .iter()
            .map(|c| BodyHasher::new(c.body_canonicalization))
            .collect();
        Self {
            configs,
            timestamp,
            normalizer: Normalizer::new(true),
            head: Vec::new(),
            in_body: false,
            bodies,
            scratch: Vec::new(),
        }
    }

    /// The next bytes of the message (any chunking).
    pub fn update(&mut self, data: &[u8]) -> Result<(), DkimError> {
        let mut normalized = std::mem::take(&mut self.scratch);
        normalized.clear();
        self.normalizer
            .normalize::<false>(data, 0, &mut normalized)
            .map_err(|_| DkimError::Message("the message contains a NUL byte"))?;
        self.feed(&normalized)?;
        self.scratch = normalized;
        Ok(())
    }

    fn feed(&mut self, data: &[u8]) -> Result<(), DkimError> {
        if self.in_body {
            for body in &mut self.bodies {
                body.update(data);
            }
            return Ok(());
        }
        let from = self.head.len().saturating_sub(3);
        self.head.extend_from_slice(data);
        // An empty header section: the message starts with the blank line.
        let end = if self.head.starts_with(b"\r\n") {
            Some(0)
        } else {
            self.head
                .get(from..)
                .and_then(|tail| tail.windows(4).position(|w| w == b"\r\n\r\n"))
                .map(|p| from + p + 2)
        };
        match end {
            Some(end) => {
                let body = self.head.split_off(end).split_off(2);
                self.in_body = true;
                for hasher in &mut self.bodies {
                    hasher.update(&body);
                }
            }
            None if self.head.len() > MAX_HEADER => {
                return Err(DkimError::Message("the header section is larger than 1 MiB"));
            }
            None => {}
        }
        Ok(())
    }

    /// The `DKIM-Signature` fields (each ending in CRLF), to put before the message's first byte.
    pub fn finish(self) -> Result<String, DkimError> {
        let mut out = String::new();
        for unsigned in self.finish_unsigned() {
            let signature = unsigned.key.sign(&unsigned.data)?;
            out.push_str(&unsigned.complete(&signature));
        }
        Ok(out)
    }

    /// The signatures' fields without their `b=` values, and the data each key must sign: for a caller that signs
    /// elsewhere (the JavaScript side uses WebCrypto for RSA, much faster than RSA compiled to wasm).
    pub fn finish_unsigned(self) -> Vec<Unsigned> {
        let mut head = self.head;
        if !self.in_body && !head.is_empty() && !head.ends_with(b"\r\n") {
            // A message that is only headers, without a final line break.
            head.extend_from_slice(b"\r\n");
        }
        let fields = split_fields(&head);
        let mut out = Vec::new();
        for (config, body) in self.configs.iter().zip(self.bodies) {
            let body_hash = Base64::encode_string(&body.finish());
            out.push(prepare_one(config, &fields, &body_hash, self.timestamp));
        }
        out
    }
}

/// One signature waiting for its `b=` value: sign [`Unsigned::data`] with [`Unsigned::key`] (RSASSA-PKCS1-v1_5
/// SHA-256, or Ed25519 over its SHA-256), then [`Unsigned::complete`].
#[derive(Debug)]
pub struct Unsigned {
    /// The key this signature is for.
    pub key: Arc<DkimKey>,
    /// The canonicalized header fields and the signature field itself (with `b=` empty).
    pub data: Vec<u8>,
    field: String,
}

impl Unsigned {
    /// The whole `DKIM-Signature` field (ending in CRLF) with `signature` as its `b=` value.
    pub fn complete(&self, signature: &[u8]) -> String {
        let mut field = self.field.clone();
        let signature = Base64::encode_string(signature);
        let mut rest = signature.as_str();
        let mut first = true;
        while !rest.is_empty() {
            let (piece, later) = rest.split_at(rest.len().min(if first { 70 } else { 76 }));
            if !first {
                field.push_str("\r\n\t");
            }
            field.push_str(piece);
            rest = later;
            first = false;
        }
        field.push_str("\r\n");
        field
    }
}

/// Header fields as (lowercase name, raw bytes with continuation lines and the final CRLF).
fn split_fields(head: &[u8]) -> Vec<(String, &[u8])> {
    let mut fields: Vec<(String, usize, usize)> = Vec::new();
    let mut start = 0usize;
    while start < head.len() {
        let end = head
            .get(start..)
            .and_then(|r| r.windows(2).position(|w| w == b"\r\n"))
            .map_or(head.len(), |p| start + p + 2);
        let line = head.get(start..end).unwrap_or(&[]);
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if let Some(last) = fields.last_mut() {
                last.2 = end;
            }
        } else {
            let name_end = line.iter().position(|&b| b == b':').unwrap_or(0);
            let name = String::from_utf8_lossy(line.get(..name_end).unwrap_or(&[]))
                .trim()
                .to_ascii_lowercase();
            fields.push((name, start, end));
        }
        start = end;
    }
    fields
        .into_iter()
        .map(|(n, s, e)| (n, head.get(s..e).unwrap_or(&[])))
        .collect()
}

fn prepare_one(config: &DkimConfig, fields: &[(String, &[u8])], body_hash: &str, t: u64) -> Unsigned {
    // h=: each listed name as often as it occurs (taken bottom-up by verifiers, RFC 6376 5.4.2).
    let mut names: Vec<String> = Vec::new();
    let wanted: Vec<String> = match &config.header_field_names {
        Some(list) => {
            let mut list: Vec<String> = list.iter().map(|n| n.to_ascii_lowercase()).collect();
            if !list.iter().any(|n| n == "from") {
                list.insert(0, "from".into());
            }
            list
        }
        None => DEFAULT_HEADERS.iter().map(|n| n.to_ascii_lowercase()).collect(),
    };
    let mut used = vec![false; fields.len()];
    let mut hashed = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for name in &wanted {
        if seen.contains(&name.as_str()) {
            continue;
        }
        seen.push(name);
        let count = fields.iter().filter(|(n, _)| n == name).count();
        for _ in 0..count.max(usize::from(config.header_field_names.is_some())) {
            names.push(name.clone());
            // The last not-yet-used instance.
            if let Some(i) = (0..fields.len()).rev().find(|&i| {
                !used.get(i).copied().unwrap_or(true) && fields.get(i).is_some_and(|(n, _)| n == name)
            }) {
                if let (Some(u), Some((_, raw))) = (used.get_mut(i), fields.get(i)) {
                    *u = true;
                    canon::header(config.header_canonicalization, raw, &mut hashed);
                }
            }
        }
    }
    // The field itself, folded; its b= is empty while hashing.
    let mut field = format!(
        "DKIM-Signature: v=1; a={}; c={}/{}; d={}; s={};\r\n\tt={}; bh={};\r\n\th=",
        config.key.algorithm(),
        config.header_canonicalization.name(),
        config.body_canonicalization.name(),
        config.domain,
        config.selector,
        t,
        body_hash,
    );
    let mut column = 3usize;
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            field.push(':');
            column += 1;
        }
        if column + name.len() > 76 {
            field.push_str("\r\n\t");
            column = 1;
        }
        field.push_str(name);
        column += name.len();
    }
    field.push_str(";\r\n\tb=");
    let mut with_self = hashed;
    match config.header_canonicalization {
        Canonicalization::Simple => with_self.extend_from_slice(field.as_bytes()),
        Canonicalization::Relaxed => {
            let start = with_self.len();
            canon::header(
                Canonicalization::Relaxed,
                format!("{field}\r\n").as_bytes(),
                &mut with_self,
            );
            with_self.truncate(with_self.len().saturating_sub(2).max(start));
        }
    }
    Unsigned {
        key: Arc::clone(&config.key),
        data: with_self,
        field,
    }
}
