//! MAIL FROM and RCPT TO lines with their ESMTP parameters: each parameter only when the server advertised its
//! extension, and the line length limit raised by exactly what the used extensions allow.

use crate::client::options::{BodyType, DsnReturn, MailOptions, Notify, RcptOptions};
use crate::codec::address::validate_address;
use crate::codec::ehlo::Capabilities;
use crate::codec::line::{check_argument, CommandLine};
use crate::codec::xtext::{encode_utf8_addr_xtext, encode_xtext};
use crate::error::{Error, Field, InputError, InputErrorReason};

/// RFC 5321 4.5.3.1.4: a command line is at most 512 octets including CRLF.
pub(crate) const BASE_LINE_LIMIT: usize = 512;

/// What a MAIL line agreed on for the message that follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct BodyAgreement {
    /// 8-bit content may be sent (BODY=8BITMIME or BINARYMIME).
    pub allow_8bit: bool,
    /// BODY=BINARYMIME: the content goes unchanged, and only through BDAT.
    pub binary: bool,
    /// SMTPUTF8 was sent: recipients may be non-ASCII.
    pub smtp_utf8: bool,
}

/// An encoded command line, and its text for the transcript.
#[derive(Debug, Clone)]
pub(crate) struct EncodedLine {
    pub bytes: Vec<u8>,
    pub text: String,
}

fn finish(line: CommandLine, limit: usize) -> Result<EncodedLine, Error> {
    let text = line.as_str().to_string();
    let mut bytes = Vec::with_capacity(text.len() + 2);
    line.finish(limit, &mut bytes)?;
    Ok(EncodedLine { bytes, text })
}

/// Checks of MAIL input that do not depend on the server, done when the caller asks (so a bad address is refused at
/// once, before any byte and before the hello).
pub(crate) fn check_mail_input(from: &str, options: &MailOptions) -> Result<(), Error> {
    validate_address(Field::From, from, options.smtp_utf8, true)?;
    if let Some(envelope_id) = &options.envelope_id {
        check_argument(Field::EnvelopeId, envelope_id)?;
        if envelope_id.len() > 100 {
            // RFC 3461 section 4.4: ENVID is at most 100 characters before xtext encoding.
            return Err(InputError::new(
                Field::EnvelopeId,
                InputErrorReason::TooLong {
                    limit: 100,
                    actual: envelope_id.len(),
                },
            )
            .into());
        }
    }
    if let Some(auth) = &options.auth {
        check_argument(Field::MailAuth, auth)?;
        if auth.is_empty() {
            return Err(InputError::new(Field::MailAuth, InputErrorReason::Empty).into());
        }
    }
    if options.body == Some(BodyType::BinaryMime) && options.smtp_utf8 {
        // Not an RFC conflict, but both must be advertised; checked with the server's capabilities later.
    }
    Ok(())
}

/// Checks of RCPT input that do not depend on the server.
pub(crate) fn check_rcpt_input(to: &str, options: &RcptOptions, utf8_allowed: bool) -> Result<(), Error> {
    validate_address(Field::To, to, utf8_allowed, false)?;
    if let Some(Notify::On {
        success: false,
        failure: false,
        delay: false,
    }) = options.notify
    {
        return Err(InputError::new(Field::Notify, InputErrorReason::Empty).into());
    }
    if let Some(original) = &options.original_recipient {
        check_argument(Field::OriginalRecipient, original)?;
        if original.is_empty() {
            return Err(InputError::new(Field::OriginalRecipient, InputErrorReason::Empty).into());
        }
    }
    if let Some(kind) = &options.original_recipient_type {
        // RFC 3461: addr-type is an atom.
        let atom = !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !atom {
            return Err(InputError::new(
                Field::OriginalRecipient,
                InputErrorReason::Syntax("the address type must be letters, digits and '-'"),
            )
            .into());
        }
    }
    Ok(())
}

fn require(capabilities: &Capabilities, extension: &'static str) -> Result<(), Error> {
    if capabilities.has(extension) {
        Ok(())
    } else {
        Err(Error::ExtensionNotSupported { extension })
    }
}

/// `MAIL FROM:<from> [params]`, with what it agreed for the body.
pub(crate) fn encode_mail(
    from: &str,
    options: &MailOptions,
    capabilities: &Capabilities,
    tls: bool,
) -> Result<(EncodedLine, BodyAgreement), Error> {
    check_mail_input(from, options)?;
    let mut limit = BASE_LINE_LIMIT;
    let mut agreement = BodyAgreement::default();
    let mut line = CommandLine::new(&format!("MAIL FROM:<{from}>"));

    if options.smtp_utf8 {
        require(capabilities, "SMTPUTF8")?;
        line.arg(Field::From, "SMTPUTF8")?;
        agreement.smtp_utf8 = true;
        limit += 10; // RFC 6531 section 3.4
    }
    match options.body {
        None => {
            // Go's behaviour: announce 8BITMIME whenever the server offers it, so 8-bit content goes out safely.
            if capabilities.has("8BITMIME") {
                line.arg(Field::Body, "BODY=8BITMIME")?;
                agreement.allow_8bit = true;
            }
        }
        Some(BodyType::SevenBit) => {
            if capabilities.has("8BITMIME") {
                line.arg(Field::Body, "BODY=7BIT")?;
            }
        }
        Some(BodyType::EightBitMime) => {
            require(capabilities, "8BITMIME")?;
            line.arg(Field::Body, "BODY=8BITMIME")?;
            agreement.allow_8bit = true;
        }
        Some(BodyType::BinaryMime) => {
            require(capabilities, "CHUNKING")?;
            require(capabilities, "BINARYMIME")?;
            line.arg(Field::Body, "BODY=BINARYMIME")?;
            agreement.allow_8bit = true;
            agreement.binary = true;
        }
    }
    if agreement.allow_8bit || options.body == Some(BodyType::SevenBit) {
        limit += 20;
    }
    if let Some(size) = options.size {
        // SIZE is a hint: silently left out when the server has no SIZE extension.
        if capabilities.has("SIZE") {
            line.arg(Field::Size, &format!("SIZE={size}"))?;
            limit += 26; // RFC 1870 section 3
        }
    }
    if options.require_tls {
        require(capabilities, "REQUIRETLS")?;
        if !tls {
            return Err(Error::Usage("REQUIRETLS can only be used over TLS".into()));
        }
        line.arg(Field::Option, "REQUIRETLS")?;
        limit += 12;
    }
    if options.ret.is_some() || options.envelope_id.is_some() {
        require(capabilities, "DSN")?;
        limit += 100; // RFC 3461 section 4: RET and ENVID
    }
    if let Some(ret) = options.ret {
        line.arg(
            Field::Option,
            if ret == DsnReturn::Full {
                "RET=FULL"
            } else {
                "RET=HDRS"
            },
        )?;
    }
    if let Some(envelope_id) = &options.envelope_id {
        line.arg(Field::EnvelopeId, &format!("ENVID={}", encode_xtext(envelope_id)))?;
    }
    if let Some(auth) = &options.auth {
        require(capabilities, "AUTH")?;
        line.arg(Field::MailAuth, &format!("AUTH={}", encode_xtext(auth)))?;
        limit += 500; // RFC 4954 section 5
    }
    Ok((finish(line, limit)?, agreement))
}

/// `RCPT TO:<to> [params]`.
pub(crate) fn encode_rcpt(
    to: &str,
    options: &RcptOptions,
    capabilities: &Capabilities,
    smtp_utf8: bool,
) -> Result<EncodedLine, Error> {
    check_rcpt_input(to, options, smtp_utf8)?;
    let mut limit = BASE_LINE_LIMIT;
    let mut line = CommandLine::new(&format!("RCPT TO:<{to}>"));
    if options.notify.is_some() || options.original_recipient.is_some() {
        require(capabilities, "DSN")?;
        limit += 500; // RFC 3461 section 4: NOTIFY and ORCPT
    }
    match options.notify {
        None => {}
        Some(Notify::Never) => {
            line.arg(Field::Notify, "NOTIFY=NEVER")?;
        }
        Some(Notify::On {
            success,
            failure,
            delay,
        }) => {
            let chosen: Vec<&str> = [(success, "SUCCESS"), (failure, "FAILURE"), (delay, "DELAY")]
                .into_iter()
                .filter_map(|(on, name)| on.then_some(name))
                .collect();
            line.arg(Field::Notify, &format!("NOTIFY={}", chosen.join(",")))?;
        }
    }
    if let Some(original) = &options.original_recipient {
        let kind = options.original_recipient_type.clone().unwrap_or_else(|| {
            if original.is_ascii() {
                "rfc822".into()
            } else {
                "utf-8".into()
            }
        });
        let encoded = if kind.eq_ignore_ascii_case("utf-8") {
            encode_utf8_addr_xtext(original)
        } else {
            if !original.is_ascii() {
                return Err(InputError::new(
                    Field::OriginalRecipient,
                    InputErrorReason::Syntax("a non-ASCII original recipient needs the address type utf-8"),
                )
                .into());
            }
            encode_xtext(original)
        };
        line.arg(Field::OriginalRecipient, &format!("ORCPT={kind};{encoded}"))?;
    }
    finish(line, limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Reply;

    fn caps(keywords: &[&str]) -> Capabilities {
        let mut lines = vec![b"mx.example.org".to_vec()];
        lines.extend(keywords.iter().map(|k| k.as_bytes().to_vec()));
        Capabilities::from_ehlo_reply(&Reply::new(250, lines))
    }

    #[test]
    fn body_8bitmime_is_added_when_advertised_unless_7bit() {
        let c = caps(&["8BITMIME"]);
        let (line, agreed) = encode_mail("a@x", &MailOptions::default(), &c, false).unwrap();
        assert_eq!(line.text, "MAIL FROM:<a@x> BODY=8BITMIME");
        assert!(agreed.allow_8bit);
        let seven = MailOptions {
            body: Some(BodyType::SevenBit),
            ..Default::default()
        };
        assert_eq!(
            encode_mail("a@x", &seven, &c, false).unwrap().0.text,
            "MAIL FROM:<a@x> BODY=7BIT"
        );
        let (plain, agreed) = encode_mail("", &MailOptions::default(), &caps(&[]), false).unwrap();
        assert_eq!(plain.text, "MAIL FROM:<>");
        assert!(!agreed.allow_8bit);
    }

    #[test]
    fn parameters_need_their_extension_except_size() {
        let none = caps(&[]);
        let sized = MailOptions {
            size: Some(1000),
            ..Default::default()
        };
        assert_eq!(
            encode_mail("a@x", &sized, &none, false).unwrap().0.text,
            "MAIL FROM:<a@x>"
        );
        assert_eq!(
            encode_mail("a@x", &sized, &caps(&["SIZE 10240000"]), false)
                .unwrap()
                .0
                .text,
            "MAIL FROM:<a@x> SIZE=1000"
        );
        for (options, extension) in [
            (
                MailOptions {
                    smtp_utf8: true,
                    ..Default::default()
                },
                "SMTPUTF8",
            ),
            (
                MailOptions {
                    ret: Some(DsnReturn::Headers),
                    ..Default::default()
                },
                "DSN",
            ),
            (
                MailOptions {
                    require_tls: true,
                    ..Default::default()
                },
                "REQUIRETLS",
            ),
            (
                MailOptions {
                    body: Some(BodyType::BinaryMime),
                    ..Default::default()
                },
                "CHUNKING",
            ),
            (
                MailOptions {
                    auth: Some("<>".into()),
                    ..Default::default()
                },
                "AUTH",
            ),
        ] {
            assert_eq!(
                encode_mail("a@x", &options, &none, true).unwrap_err(),
                Error::ExtensionNotSupported { extension }
            );
        }
    }

    #[test]
    fn dsn_parameters_are_xtext_encoded() {
        let c = caps(&["DSN", "SMTPUTF8"]);
        let options = MailOptions {
            ret: Some(DsnReturn::Full),
            envelope_id: Some("id+1=2".into()),
            ..Default::default()
        };
        assert_eq!(
            encode_mail("a@x", &options, &c, false).unwrap().0.text,
            "MAIL FROM:<a@x> RET=FULL ENVID=id+2B1+3D2"
        );
        let rcpt = RcptOptions {
            notify: Some(Notify::On {
                success: true,
                failure: true,
                delay: false,
            }),
            original_recipient: Some("b+c@y".into()),
            original_recipient_type: None,
        };
        assert_eq!(
            encode_rcpt("b@y", &rcpt, &c, false).unwrap().text,
            "RCPT TO:<b@y> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bc@y"
        );
        let never = RcptOptions {
            notify: Some(Notify::Never),
            ..Default::default()
        };
        assert_eq!(
            encode_rcpt("b@y", &never, &c, false).unwrap().text,
            "RCPT TO:<b@y> NOTIFY=NEVER"
        );
    }

    #[test]
    fn require_tls_only_over_tls() {
        let c = caps(&["REQUIRETLS"]);
        let options = MailOptions {
            require_tls: true,
            ..Default::default()
        };
        assert!(matches!(
            encode_mail("a@x", &options, &c, false),
            Err(Error::Usage(_))
        ));
        assert_eq!(
            encode_mail("a@x", &options, &c, true).unwrap().0.text,
            "MAIL FROM:<a@x> REQUIRETLS"
        );
    }

    #[test]
    fn non_ascii_addresses_need_smtputf8_requested() {
        let c = caps(&["SMTPUTF8"]);
        assert!(encode_mail("jörg@x", &MailOptions::default(), &c, false).is_err());
        let utf8 = MailOptions {
            smtp_utf8: true,
            ..Default::default()
        };
        assert_eq!(
            encode_mail("jörg@x", &utf8, &c, false).unwrap().0.text,
            "MAIL FROM:<jörg@x> SMTPUTF8"
        );
        assert!(encode_rcpt("jörg@x", &RcptOptions::default(), &c, false).is_err());
        assert!(encode_rcpt("jörg@x", &RcptOptions::default(), &c, true).is_ok());
    }
}
