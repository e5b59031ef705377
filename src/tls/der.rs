//! Just enough DER to name a certificate's issuer and subject in an error message, to tell a self-signed one, and to
//! find the public key a client certificate's private key must match.
//!
//! webpki has already parsed (and refused) the certificate by the time this runs, and it does not hand out the names.
//! Every read is bounds-checked and returns `None` on anything unexpected: this never panics on server input.

const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;
const TAG_OID: u8 = 0x06;
const TAG_VERSION: u8 = 0xa0;

/// The longest name we put in a message; certificates are server input and a message is not a dump.
const MAX_NAME_CHARS: usize = 200;

/// One DER element at the start of `input`: `(tag, contents, rest)`.
fn next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        // Certificates are far below 4 GiB; longer length fields are malformed here.
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (len_bytes, rest) = rest.split_at(count);
        let len = len_bytes
            .iter()
            .fold(0usize, |len, &b| (len << 8) | usize::from(b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// The issuer and subject names of a certificate, as raw DER contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CertNames<'a> {
    /// The issuer `Name`'s contents.
    pub issuer: &'a [u8],
    /// The subject `Name`'s contents.
    pub subject: &'a [u8],
    /// The `Validity`'s contents (notBefore, notAfter).
    pub validity: &'a [u8],
    /// The whole `SubjectPublicKeyInfo` element (tag and length included), as a signing key reports its own.
    pub public_key: &'a [u8],
}

impl CertNames<'_> {
    /// Issuer and subject are the same name (RFC 5280 "self-issued"; in practice a self-signed certificate).
    pub fn is_self_issued(&self) -> bool {
        self.issuer == self.subject
    }
}

/// Reads the issuer and subject out of an X.509 certificate (RFC 5280 4.1).
pub(crate) fn cert_names(der: &[u8]) -> Option<CertNames<'_>> {
    let (TAG_SEQUENCE, certificate, _) = next(der)? else {
        return None;
    };
    let (TAG_SEQUENCE, tbs, _) = next(certificate)? else {
        return None;
    };
    let (tag, _, mut rest) = next(tbs)?;
    if tag == TAG_VERSION {
        // That was the optional version; the serial number follows.
        (_, _, rest) = next(rest)?;
    }
    let (_, _, rest) = next(rest)?; // signature AlgorithmIdentifier
    let (TAG_SEQUENCE, issuer, rest) = next(rest)? else {
        return None;
    };
    let (TAG_SEQUENCE, validity, rest) = next(rest)? else {
        return None;
    };
    let (TAG_SEQUENCE, subject, rest) = next(rest)? else {
        return None;
    };
    let (TAG_SEQUENCE, _, after) = next(rest)? else {
        return None;
    };
    Some(CertNames {
        issuer,
        subject,
        validity,
        public_key: rest.get(..rest.len() - after.len())?,
    })
}

/// The end of a certificate's validity (`notAfter`, RFC 5280 4.1.2.5) in milliseconds since the UNIX epoch.
pub(crate) fn not_after_millis(validity: &[u8]) -> Option<u64> {
    let (_, _, rest) = next(validity)?; // notBefore
    let (tag, time, _) = next(rest)?;
    let digits = |from: usize, count: usize| -> Option<u64> {
        let field = time.get(from..from + count)?;
        field.iter().try_fold(0u64, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
        })
    };
    // UTCTime YYMMDDHHMMSSZ (years 1950-2049), GeneralizedTime YYYYMMDDHHMMSSZ.
    let (year, at) = match (tag, time.len()) {
        (0x17, 13) => {
            let yy = digits(0, 2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (0x18, 15) => (digits(0, 4)?, 4),
        _ => return None,
    };
    let (month, day) = (digits(at, 2)?, digits(at + 2, 2)?);
    let (hour, minute, second) = (digits(at + 4, 2)?, digits(at + 6, 2)?, digits(at + 8, 2)?);
    if time.last() != Some(&b'Z') || !(1..=12).contains(&month) || !(1..=31).contains(&day) || year < 1970 {
        return None;
    }
    // Days from 1970-01-01 to the date (Howard Hinnant's days_from_civil, for the proleptic Gregorian calendar).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    seconds.checked_mul(1000)
}

/// A readable form of a `Name`'s contents: `CN=..., O=...` (the usual attributes only), or `None` if it holds none
/// of them.
pub(crate) fn display_name(name: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    let mut rdns = name;
    while !rdns.is_empty() {
        let (TAG_SET, mut set, rest) = next(rdns)? else {
            return None;
        };
        rdns = rest;
        while !set.is_empty() {
            let (TAG_SEQUENCE, attribute, rest) = next(set)? else {
                return None;
            };
            set = rest;
            let (TAG_OID, oid, value) = next(attribute)? else {
                return None;
            };
            let label = match oid {
                [0x55, 0x04, 0x03] => "CN",
                [0x55, 0x04, 0x0a] => "O",
                [0x55, 0x04, 0x0b] => "OU",
                [0x55, 0x04, 0x06] => "C",
                _ => continue,
            };
            let (_, text, _) = next(value)?;
            parts.push(format!("{label}={}", printable(text)));
        }
    }
    if parts.is_empty() {
        return None;
    }
    let mut joined = parts.join(", ");
    if let Some((cut, _)) = joined.char_indices().nth(MAX_NAME_CHARS) {
        joined.truncate(cut);
        joined.push('…');
    }
    Some(joined)
}

/// Server-controlled bytes made safe to show: lossy UTF-8 with control characters replaced.
pub(crate) fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_input_is_none_not_a_panic() {
        assert_eq!(cert_names(&[]), None);
        assert_eq!(cert_names(&[0x30]), None);
        assert_eq!(cert_names(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(cert_names(&[0x30, 0x82, 0xff]), None);
        assert_eq!(cert_names(&[0x30, 0x02, 0x30, 0x00]), None);
        assert_eq!(display_name(&[0x31, 0x05, 0x30, 0x03, 0x06, 0x01]), None);
    }

    #[test]
    fn names_are_rendered() {
        // SET { SEQUENCE { OID 2.5.4.3, UTF8String "a\nb" } }
        let name = [
            0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x03, b'a', b'\n', b'b',
        ];
        assert_eq!(display_name(&name).as_deref(), Some("CN=a?b"));
    }
}
