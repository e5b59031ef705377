//! MAIL and RCPT parameters on the server side: SIZE, BODY, SMTPUTF8, REQUIRETLS, AUTH= (RFC 4954), and the DSN ones
//! (RFC 3461: RET, ENVID, NOTIFY, ORCPT), decoded and checked against what the server advertised.
//!
//! Codes: a parameter that is unknown or was not advertised is `555 5.5.4` (RFC 5321 section 4.1.1.11); a malformed
//! value `501 5.5.4`; SIZE over the limit `552 5.3.4` (go-smtp).

use crate::codec::command::{parse_decimal, split_params};
use crate::codec::reply_writer::ServerReply;
use crate::codec::xtext::{decode_utf8_addr_xtext, decode_xtext};
use crate::reply::EnhancedCode;

const E_PARAM: EnhancedCode = EnhancedCode::new(5, 5, 4);
/// More parameters than this on one MAIL or RCPT is an attack, not a client.
const MAX_PARAMS: usize = 16;
/// RFC 3461 section 4.4: ENVID is at most 100 characters.
const MAX_ENVID: usize = 100;

/// `BODY=` (RFC 6152, RFC 3030).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailBody {
    /// `7BIT`
    SevenBit,
    /// `8BITMIME`
    EightBitMime,
    /// `BINARYMIME` (BDAT only)
    BinaryMime,
}

/// `RET=` (RFC 3461 section 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsnRet {
    /// `FULL`: return the whole message in a DSN.
    Full,
    /// `HDRS`: return the headers only.
    Headers,
}

/// `NOTIFY=` (RFC 3461 section 4.1): `never` alone, or any of the other three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DsnNotify {
    /// `NEVER`
    pub never: bool,
    /// `SUCCESS`
    pub success: bool,
    /// `FAILURE`
    pub failure: bool,
    /// `DELAY`
    pub delay: bool,
}

/// What the server offers, which decides which parameters are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offered {
    /// SIZE limit in octets (0 = no limit).
    pub max_size: u64,
    /// SMTPUTF8 advertised.
    pub smtputf8: bool,
    /// REQUIRETLS advertised (only under TLS).
    pub requiretls: bool,
    /// BINARYMIME advertised.
    pub binarymime: bool,
    /// DSN advertised.
    pub dsn: bool,
}

/// The decoded MAIL parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerMailOptions {
    /// `SIZE=`: the client's estimate of the message size.
    pub size: Option<u64>,
    /// `BODY=`
    pub body: Option<MailBody>,
    /// `SMTPUTF8`
    pub utf8: bool,
    /// `REQUIRETLS`
    pub require_tls: bool,
    /// `AUTH=` decoded; `Some("")` is `AUTH=<>`.
    pub auth: Option<String>,
    /// `RET=`
    pub ret: Option<DsnRet>,
    /// `ENVID=` decoded.
    pub envelope_id: Option<String>,
}

/// The decoded RCPT parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerRcptOptions {
    /// `NOTIFY=`
    pub notify: Option<DsnNotify>,
    /// `ORCPT=` address, decoded.
    pub original_recipient: Option<String>,
    /// `ORCPT=` address type, upper-cased (`RFC822` or `UTF-8`).
    pub original_recipient_type: Option<String>,
}

fn malformed(text: &'static str) -> ServerReply {
    ServerReply::fixed(501, E_PARAM, text)
}

fn unrecognised() -> ServerReply {
    ServerReply::fixed(555, E_PARAM, "Unsupported or unrecognized parameter")
}

fn text(value: Option<&[u8]>) -> Option<&str> {
    value.and_then(|v| std::str::from_utf8(v).ok())
}

/// Parses the parameters after `MAIL FROM:<...>`.
pub fn parse_mail_params(params: &[u8], offered: Offered) -> Result<ServerMailOptions, ServerReply> {
    let mut options = ServerMailOptions::default();
    for (key, value) in split_params(params, MAX_PARAMS)? {
        match key.as_str() {
            "SIZE" => {
                let size = value
                    .and_then(parse_decimal)
                    .ok_or_else(|| malformed("Unable to parse SIZE as an integer"))?;
                if offered.max_size > 0 && size > offered.max_size {
                    return Err(ServerReply::fixed(
                        552,
                        EnhancedCode::new(5, 3, 4),
                        "Max message size exceeded",
                    ));
                }
                options.size = Some(size);
            }
            "BODY" => {
                let body = match text(value).map(str::to_ascii_uppercase).as_deref() {
                    Some("7BIT") => MailBody::SevenBit,
                    Some("8BITMIME") => MailBody::EightBitMime,
                    Some("BINARYMIME") if offered.binarymime => MailBody::BinaryMime,
                    Some("BINARYMIME") => return Err(unrecognised()),
                    _ => return Err(malformed("Unknown BODY value")),
                };
                options.body = Some(body);
            }
            "SMTPUTF8" if offered.smtputf8 => {
                if value.is_some() {
                    return Err(malformed("SMTPUTF8 takes no value"));
                }
                options.utf8 = true;
            }
            "REQUIRETLS" if offered.requiretls => {
                if value.is_some() {
                    return Err(malformed("REQUIRETLS takes no value"));
                }
                options.require_tls = true;
            }
            "AUTH" => {
                let decoded = text(value)
                    .and_then(decode_xtext)
                    .filter(|v| !v.is_empty() && v.len() <= 256 && !v.chars().any(char::is_control))
                    .ok_or_else(|| malformed("Malformed AUTH parameter value"))?;
                options.auth = Some(if decoded == "<>" { String::new() } else { decoded });
            }
            "RET" if offered.dsn => {
                options.ret = Some(match text(value).map(str::to_ascii_uppercase).as_deref() {
                    Some("FULL") => DsnRet::Full,
                    Some("HDRS") => DsnRet::Headers,
                    _ => return Err(malformed("Unknown RET value")),
                });
            }
            "ENVID" if offered.dsn => {
                let decoded = text(value)
                    .and_then(decode_xtext)
                    .filter(|v| {
                        !v.is_empty() && v.len() <= MAX_ENVID && v.bytes().all(|b| (b' '..=b'~').contains(&b))
                    })
                    .ok_or_else(|| malformed("Malformed ENVID parameter value"))?;
                options.envelope_id = Some(decoded);
            }
            _ => return Err(unrecognised()),
        }
    }
    Ok(options)
}

/// Parses the parameters after `RCPT TO:<...>`.
pub fn parse_rcpt_params(params: &[u8], offered: Offered) -> Result<ServerRcptOptions, ServerReply> {
    let mut options = ServerRcptOptions::default();
    for (key, value) in split_params(params, MAX_PARAMS)? {
        match key.as_str() {
            "NOTIFY" if offered.dsn => {
                let bad = || malformed("Malformed NOTIFY parameter value");
                let list = text(value).ok_or_else(bad)?;
                let mut notify = DsnNotify::default();
                for word in list.split(',') {
                    let flag = match word.to_ascii_uppercase().as_str() {
                        "NEVER" => &mut notify.never,
                        "SUCCESS" => &mut notify.success,
                        "FAILURE" => &mut notify.failure,
                        "DELAY" => &mut notify.delay,
                        _ => return Err(bad()),
                    };
                    if *flag {
                        return Err(bad());
                    }
                    *flag = true;
                }
                if notify.never && (notify.success || notify.failure || notify.delay) {
                    return Err(bad());
                }
                options.notify = Some(notify);
            }
            "ORCPT" if offered.dsn => {
                let bad = || malformed("Malformed ORCPT parameter value");
                let (kind, address) = text(value).and_then(|v| v.split_once(';')).ok_or_else(bad)?;
                let kind = kind.to_ascii_uppercase();
                let decoded = match kind.as_str() {
                    "RFC822" => {
                        decode_xtext(address).filter(|a| a.bytes().all(|b| (b' '..=b'~').contains(&b)))
                    }
                    "UTF-8" => decode_utf8_addr_xtext(address),
                    _ => None,
                }
                .filter(|a| !a.is_empty() && a.len() <= 500 && !a.chars().any(char::is_control))
                .ok_or_else(bad)?;
                options.original_recipient = Some(decoded);
                options.original_recipient_type = Some(kind);
            }
            _ => return Err(unrecognised()),
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Offered = Offered {
        max_size: 1000,
        smtputf8: true,
        requiretls: true,
        binarymime: true,
        dsn: true,
    };

    fn code(result: Result<impl std::fmt::Debug, ServerReply>) -> u16 {
        result.map(|_| 250).unwrap_or_else(|r| r.code())
    }

    #[test]
    fn mail_parameters() {
        let o = parse_mail_params(
            b"SIZE=10 BODY=8bitMIME SMTPUTF8 REQUIRETLS AUTH=hey+3Da@example.com ENVID=e+3Dmc2 RET=hdrs",
            ALL,
        )
        .unwrap();
        assert_eq!(o.size, Some(10));
        assert_eq!(o.body, Some(MailBody::EightBitMime));
        assert!(o.utf8 && o.require_tls);
        assert_eq!(o.auth.as_deref(), Some("hey=a@example.com"));
        assert_eq!(o.envelope_id.as_deref(), Some("e=mc2"));
        assert_eq!(o.ret, Some(DsnRet::Headers));
        assert_eq!(
            parse_mail_params(b"AUTH=<>", ALL).unwrap().auth.as_deref(),
            Some("")
        );
        assert_eq!(code(parse_mail_params(b"SIZE=1001", ALL)), 552);
        assert_eq!(code(parse_mail_params(b"SIZE=rabbit", ALL)), 501);
        assert_eq!(code(parse_mail_params(b"BODY=RABIIT", ALL)), 501);
        assert_eq!(code(parse_mail_params(b"RABIIT", ALL)), 555);
        assert_eq!(code(parse_mail_params(b"AUTH=<hey+A>", ALL)), 501);
        assert_eq!(code(parse_mail_params(b"SMTPUTF8", Offered::default())), 555);
        assert_eq!(
            code(parse_mail_params(b"BODY=BINARYMIME", Offered::default())),
            555
        );
        assert_eq!(code(parse_mail_params(b"RET=FULL", Offered::default())), 555);
        assert_eq!(code(parse_mail_params(b"ENVID=", ALL)), 501);
    }

    #[test]
    fn rcpt_parameters() {
        let o = parse_rcpt_params(b"ORcpt=Rfc822;e+3Dmc2@example.com Notify=Never", ALL).unwrap();
        assert_eq!(o.original_recipient.as_deref(), Some("e=mc2@example.com"));
        assert_eq!(o.original_recipient_type.as_deref(), Some("RFC822"));
        assert_eq!(
            o.notify,
            Some(DsnNotify {
                never: true,
                ..Default::default()
            })
        );
        let o = parse_rcpt_params(b"orcpt=Utf-8;e\\x{3D}mc2@\\x{30C9}.jp notify=failure,delay", ALL).unwrap();
        assert_eq!(o.original_recipient.as_deref(), Some("e=mc2@\u{30c9}.jp"));
        assert_eq!(
            o.notify,
            Some(DsnNotify {
                failure: true,
                delay: true,
                ..Default::default()
            })
        );
        assert_eq!(code(parse_rcpt_params(b"NOTIFY=NEVER,DELAY", ALL)), 501);
        assert_eq!(code(parse_rcpt_params(b"NOTIFY=DELAY,DELAY", ALL)), 501);
        assert_eq!(code(parse_rcpt_params(b"NOTIFY=", ALL)), 501);
        assert_eq!(code(parse_rcpt_params(b"ORCPT=x400;abc", ALL)), 501);
        assert_eq!(code(parse_rcpt_params(b"NOTIFY=NEVER", Offered::default())), 555);
        assert_eq!(code(parse_rcpt_params(b"RRVS=2014-04-03T23:01:00Z", ALL)), 555);
    }
}
