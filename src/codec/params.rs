//! MAIL and RCPT parameters on the server side: SIZE, BODY, SMTPUTF8, REQUIRETLS, AUTH= (RFC 4954), the DSN ones
//! (RFC 3461: RET, ENVID, NOTIFY, ORCPT), BY (DELIVERBY, RFC 2852), MT-PRIORITY (RFC 6710) and RRVS (RFC 7293),
//! decoded and checked against what the server advertised.
//!
//! Codes: a parameter that is unknown or was not advertised is `555 5.5.4` (RFC 5321 section 4.1.1.11); a malformed
//! value `501 5.5.4`; SIZE over the limit `552 5.3.4` (go-smtp); a `BY=` deadline under the advertised minimum
//! `501 5.5.4` (go-smtp; RFC 2852 section 5).
//!
//! BY and MT-PRIORITY are MAIL parameters in their RFCs; go-smtp's client sends them with RCPT (and its server reads
//! them there), so they are accepted in either place and reported where they came.

use crate::codec::command::{parse_decimal, split_params};
use crate::codec::reply_writer::ServerReply;
use crate::codec::xtext::{decode_utf8_addr_xtext, decode_xtext};
use crate::reply::EnhancedCode;
use crate::time::parse_rfc3339;

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

/// `BY=` mode (RFC 2852 section 4): what to do when the deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliverByMode {
    /// `N`: deliver anyway, and send a delay DSN.
    Notify,
    /// `R`: return the message as undeliverable.
    Return,
}

/// `BY=<seconds>;<mode>[T]` (RFC 2852): deliver within `seconds` of the message's arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverBy {
    /// The deadline, seconds from now; zero or negative only with [`DeliverByMode::Notify`].
    pub seconds: i64,
    /// What to do when it passes.
    pub mode: DeliverByMode,
    /// `T`: trace the message's delivery (a DSN at each hop).
    pub trace: bool,
}

/// `RRVS=<date-time>[;<action>]` (RFC 7293): deliver only to a mailbox owned by the same user since then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequireRecipientValidSince {
    /// The date-time, in milliseconds since the UNIX epoch.
    pub unix_millis: i64,
    /// What a relay does when the next hop lacks RRVS: `Some(Continue)` for `;C`, `Some(Reject)` for `;R`, `None`
    /// when absent (RFC 7293 section 3.1: reject).
    pub action: Option<RrvsAction>,
}

/// The action after `;` in `RRVS=` (RFC 7293 section 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RrvsAction {
    /// `C`: continue, dropping the check.
    Continue,
    /// `R`: reject.
    Reject,
}

/// `MT-PRIORITY` profiles (RFC 6710 section 10), advertised after the keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtPriorityProfile {
    /// `MIXER` (RFC 6710 section 10.1)
    Mixer,
    /// `STANAG4406` (RFC 6710 section 10.2)
    Stanag4406,
    /// `NSEP` (RFC 6710 section 10.3)
    Nsep,
}

impl MtPriorityProfile {
    /// The name in the EHLO keyword's parameter.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            MtPriorityProfile::Mixer => "MIXER",
            MtPriorityProfile::Stanag4406 => "STANAG4406",
            MtPriorityProfile::Nsep => "NSEP",
        }
    }

    /// A profile by its name, in any case.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Mixer, Self::Stanag4406, Self::Nsep]
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }
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
    /// RRVS advertised.
    pub rrvs: bool,
    /// DELIVERBY advertised.
    pub deliver_by: bool,
    /// The smallest `BY=` deadline accepted in return mode, seconds (0 = none).
    pub min_deliver_by: u32,
    /// MT-PRIORITY advertised.
    pub mt_priority: bool,
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
    /// `BY=` (DELIVERBY).
    pub deliver_by: Option<DeliverBy>,
    /// `MT-PRIORITY=`, -9 to 9.
    pub mt_priority: Option<i8>,
}

impl ServerMailOptions {
    /// Whether nothing but SIZE, BODY, SMTPUTF8 and REQUIRETLS was given: what the wasm binding hands over as
    /// numbers. Destructured whole, so that a new parameter cannot be left out of the check unnoticed.
    #[must_use]
    pub fn has_only_common_parameters(&self) -> bool {
        let ServerMailOptions {
            size: _,
            body: _,
            utf8: _,
            require_tls: _,
            auth,
            ret,
            envelope_id,
            deliver_by,
            mt_priority,
        } = self;
        auth.is_none()
            && ret.is_none()
            && envelope_id.is_none()
            && deliver_by.is_none()
            && mt_priority.is_none()
    }
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
    /// `RRVS=`
    pub require_recipient_valid_since: Option<RequireRecipientValidSince>,
    /// `BY=` given with RCPT (go-smtp's clients put it there).
    pub deliver_by: Option<DeliverBy>,
    /// `MT-PRIORITY=` given with RCPT (go-smtp's clients put it there).
    pub mt_priority: Option<i8>,
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

/// `BY=` value: `<seconds>;<N|R>[T]`, seconds an optionally signed integer of at most 9 digits, positive in R mode.
fn parse_deliver_by(value: Option<&str>, offered: Offered) -> Result<DeliverBy, ServerReply> {
    let bad = || malformed("Malformed BY parameter value");
    let (time, mode) = value.and_then(|v| v.split_once(';')).ok_or_else(bad)?;
    let digits = time.strip_prefix(['+', '-']).unwrap_or(time);
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let seconds: i64 = time.parse().map_err(|_| bad())?;
    let upper = mode.to_ascii_uppercase();
    let (mode, trace) = match upper.strip_suffix('T') {
        Some(m) => (m, true),
        None => (upper.as_str(), false),
    };
    let mode = match mode {
        "N" => DeliverByMode::Notify,
        "R" if seconds > 0 => DeliverByMode::Return,
        _ => return Err(bad()),
    };
    if mode == DeliverByMode::Return && seconds < i64::from(offered.min_deliver_by) {
        return Err(malformed("BY parameter is below server minimum"));
    }
    Ok(DeliverBy { seconds, mode, trace })
}

/// `MT-PRIORITY=` value: an integer from -9 to 9.
fn parse_mt_priority(value: Option<&str>) -> Result<i8, ServerReply> {
    value
        .filter(|v| v.len() <= 2)
        .and_then(|v| v.parse::<i8>().ok())
        .filter(|p| (-9..=9).contains(p))
        .ok_or_else(|| malformed("Malformed MT-PRIORITY parameter value"))
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
            "BY" if offered.deliver_by => options.deliver_by = Some(parse_deliver_by(text(value), offered)?),
            "MT-PRIORITY" if offered.mt_priority => {
                options.mt_priority = Some(parse_mt_priority(text(value))?)
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
            "RRVS" if offered.rrvs => {
                let bad = || malformed("Malformed RRVS parameter value");
                let value = text(value).ok_or_else(bad)?;
                let (time, action) = match value.split_once(';') {
                    Some((time, "C" | "c")) => (time, Some(RrvsAction::Continue)),
                    Some((time, "R" | "r")) => (time, Some(RrvsAction::Reject)),
                    Some(_) => return Err(bad()),
                    None => (value, None),
                };
                let unix_millis = parse_rfc3339(time).ok_or_else(bad)?;
                options.require_recipient_valid_since =
                    Some(RequireRecipientValidSince { unix_millis, action });
            }
            "BY" if offered.deliver_by => options.deliver_by = Some(parse_deliver_by(text(value), offered)?),
            "MT-PRIORITY" if offered.mt_priority => {
                options.mt_priority = Some(parse_mt_priority(text(value))?)
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
        rrvs: true,
        deliver_by: true,
        min_deliver_by: 60,
        mt_priority: true,
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
        assert_eq!(
            code(parse_rcpt_params(
                b"RRVS=2014-04-03T23:01:00Z",
                Offered::default()
            )),
            555
        );
    }

    #[test]
    fn deliver_by_priority_and_rrvs() {
        let by = |seconds, mode, trace| Some(DeliverBy { seconds, mode, trace });
        let o = parse_mail_params(b"BY=120;R MT-PRIORITY=-3", ALL).unwrap();
        assert_eq!(o.deliver_by, by(120, DeliverByMode::Return, false));
        assert_eq!(o.mt_priority, Some(-3));
        let o = parse_mail_params(b"by=-30;nt mt-priority=+9", ALL).unwrap();
        assert_eq!(o.deliver_by, by(-30, DeliverByMode::Notify, true));
        assert_eq!(o.mt_priority, Some(9));
        // RFC 2852 section 4: R mode needs a positive time, and this server asks for at least 60 s.
        for bad in [
            &b"BY=0;R"[..],
            b"BY=59;R",
            b"BY=120",
            b"BY=120;X",
            b"BY=1234567890;N",
            b"BY=;N",
            b"BY=1e3;N",
        ] {
            assert_eq!(
                code(parse_mail_params(bad, ALL)),
                501,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        for bad in [
            &b"MT-PRIORITY=10"[..],
            b"MT-PRIORITY=-10",
            b"MT-PRIORITY=x",
            b"MT-PRIORITY",
            b"MT-PRIORITY=+-1",
        ] {
            assert_eq!(
                code(parse_mail_params(bad, ALL)),
                501,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(code(parse_mail_params(b"BY=120;R", Offered::default())), 555);
        assert_eq!(code(parse_mail_params(b"MT-PRIORITY=1", Offered::default())), 555);

        // go-smtp's client puts BY and MT-PRIORITY on RCPT.
        let o = parse_rcpt_params(b"RRVS=2014-04-03T23:01:00Z;C BY=600;N MT-PRIORITY=4", ALL).unwrap();
        assert_eq!(
            o.require_recipient_valid_since,
            Some(RequireRecipientValidSince {
                unix_millis: 1_396_566_060_000,
                action: Some(RrvsAction::Continue),
            })
        );
        assert_eq!(o.deliver_by, by(600, DeliverByMode::Notify, false));
        assert_eq!(o.mt_priority, Some(4));
        let o = parse_rcpt_params(b"RRVS=2014-04-03T16:01:00-07:00", ALL).unwrap();
        assert_eq!(
            o.require_recipient_valid_since.map(|r| (r.unix_millis, r.action)),
            Some((1_396_566_060_000, None))
        );
        for bad in [
            &b"RRVS=2014-04-03"[..],
            b"RRVS=2014-04-03T23:01:00Z;X",
            b"RRVS",
            b"RRVS=yesterday",
        ] {
            assert_eq!(
                code(parse_rcpt_params(bad, ALL)),
                501,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            MtPriorityProfile::from_name("stanag4406"),
            Some(MtPriorityProfile::Stanag4406)
        );
        assert_eq!(MtPriorityProfile::from_name("MIX"), None);
    }
}
