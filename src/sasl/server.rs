//! The server side of SMTP AUTH (RFC 4954): PLAIN (RFC 4616) and LOGIN decoded into a username and password, and
//! XOAUTH2 / OAUTHBEARER (RFC 7628) into a username and a bearer token for the application to check.
//!
//! A [`SaslServer`] only turns the client's base64 lines into [`Credentials`] or a failure; the session sends the
//! `334` challenges and the final reply, and the application judges the credentials.

use base64ct::{Base64, Encoding as _};

use crate::sasl::{Credentials, Mechanism};

/// RFC 4954 section 4: a response line is at most 12288 octets of base64.
pub const MAX_RESPONSE: usize = 12288;

/// Why an exchange ended without credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslFailure {
    /// The client sent `*` (`501 5.0.0`, RFC 4954 section 4).
    Cancelled,
    /// Not base64, or decoded to something the mechanism cannot read (`501 5.5.2`).
    Malformed,
}

/// What the session does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslServerStep {
    /// Send `334` with this challenge (raw bytes; the session base64-encodes them) and wait for a line.
    Challenge(Vec<u8>),
    /// The client's credentials, for the application to judge.
    Done(Credentials),
    /// The exchange failed; reply and forget it.
    Failed(SaslFailure),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    Response,
    LoginUsername,
    LoginPassword,
}

/// One AUTH exchange on the server.
#[derive(Debug, Clone)]
pub struct SaslServer {
    mechanism: Mechanism,
    waiting: Waiting,
    username: String,
}

impl SaslServer {
    /// The mechanisms a server can run (CRAM-MD5 needs the plaintext password on the server; EXTERNAL needs a
    /// client certificate, which the server does not ask for: neither is offered).
    #[must_use]
    pub fn supports(mechanism: Mechanism) -> bool {
        !matches!(mechanism, Mechanism::CramMd5 | Mechanism::External)
    }

    /// Starts an exchange for `mechanism` with the AUTH line's initial response (base64, `=` for empty), if any.
    #[must_use]
    pub fn start(mechanism: Mechanism, initial: Option<&[u8]>) -> (SaslServer, SaslServerStep) {
        let mut server = SaslServer {
            mechanism,
            waiting: Waiting::Response,
            username: String::new(),
        };
        let step = match (mechanism, initial) {
            (Mechanism::Login, None) => {
                server.waiting = Waiting::LoginUsername;
                SaslServerStep::Challenge(b"Username:".to_vec())
            }
            (Mechanism::Login, Some(initial)) => {
                server.waiting = Waiting::LoginUsername;
                server.respond(initial)
            }
            (_, None) => SaslServerStep::Challenge(Vec::new()),
            (_, Some(initial)) => server.respond(initial),
        };
        (server, step)
    }

    /// The mechanism of this exchange.
    #[must_use]
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The client's line after a `334` (without its line end).
    pub fn respond(&mut self, line: &[u8]) -> SaslServerStep {
        if line == b"*" {
            return SaslServerStep::Failed(SaslFailure::Cancelled);
        }
        let Some(decoded) = decode(line) else {
            return SaslServerStep::Failed(SaslFailure::Malformed);
        };
        let credentials = match (self.mechanism, self.waiting) {
            (Mechanism::Login, Waiting::LoginUsername) => match name_field(&decoded) {
                Some(username) => {
                    self.username = username;
                    self.waiting = Waiting::LoginPassword;
                    return SaslServerStep::Challenge(b"Password:".to_vec());
                }
                None => None,
            },
            (Mechanism::Login, _) => utf8_field(&decoded).map(|password| Credentials::Password {
                username: std::mem::take(&mut self.username),
                password,
                identity: None,
            }),
            (Mechanism::Plain, _) => plain(&decoded),
            (Mechanism::XOAuth2, _) => xoauth2(&decoded),
            (Mechanism::OAuthBearer, _) => oauthbearer(&decoded),
            (Mechanism::CramMd5 | Mechanism::External, _) => None,
        };
        match credentials {
            Some(credentials) => SaslServerStep::Done(credentials),
            None => SaslServerStep::Failed(SaslFailure::Malformed),
        }
    }
}

/// Base64 (RFC 4954: `=` alone is the empty response), bounded.
fn decode(line: &[u8]) -> Option<Vec<u8>> {
    if line == b"=" {
        return Some(Vec::new());
    }
    if line.len() > MAX_RESPONSE {
        return None;
    }
    Base64::decode_vec(core::str::from_utf8(line).ok()?).ok()
}

/// A secret (password, token): UTF-8 without NUL, CR or LF.
fn utf8_field(bytes: &[u8]) -> Option<String> {
    if bytes.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n')) {
        return None;
    }
    String::from_utf8(bytes.to_vec()).ok()
}

/// A name (username, authorization identity): UTF-8 without any control character (C0, DEL, C1). SASLprep
/// (RFC 4013 section 2.3, tables C.2.1 and C.2.2) prohibits them, and a name travels where a secret never does:
/// into logs, terminals and trace headers (`Received: ... (authenticated as NAME)`), where an ESC or a tab would
/// rewrite the screen or the header. As the XCLIENT, AUTH= and ORCPT values, a name with one is refused.
fn name_field(bytes: &[u8]) -> Option<String> {
    utf8_field(bytes).filter(|name| !name.chars().any(char::is_control))
}

/// RFC 4616: `[authzid] NUL authcid NUL passwd`, authcid and passwd not empty.
fn plain(decoded: &[u8]) -> Option<Credentials> {
    let mut parts = decoded.split(|&b| b == 0);
    let (identity, username, password) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || username.is_empty() || password.is_empty() {
        return None;
    }
    let identity = name_field(identity)?;
    Some(Credentials::Password {
        username: name_field(username)?,
        password: utf8_field(password)?,
        identity: (!identity.is_empty()).then_some(identity),
    })
}

/// The `auth=Bearer <token>` pair among `\x01`-separated key=value pairs.
fn bearer(pairs: &[u8]) -> Option<String> {
    pairs
        .split(|&b| b == 1)
        .find_map(|pair| pair.strip_prefix(b"auth="))
        .and_then(|value| {
            let (scheme, token) = value.split_at(value.iter().position(|&b| b == b' ')?);
            scheme
                .eq_ignore_ascii_case(b"Bearer")
                .then(|| utf8_field(token.get(1..)?))?
        })
        .filter(|token| !token.is_empty())
}

/// XOAUTH2: `user=<name>\x01auth=Bearer <token>\x01\x01`.
fn xoauth2(decoded: &[u8]) -> Option<Credentials> {
    let user = decoded
        .split(|&b| b == 1)
        .find_map(|pair| pair.strip_prefix(b"user="))?;
    Some(Credentials::OAuth {
        username: name_field(user)?,
        access_token: bearer(decoded)?,
    })
}

/// OAUTHBEARER (RFC 7628 section 3.1): `n,a=<saslname>,\x01auth=Bearer <token>\x01\x01`; the saslname has `,` and
/// `=` escaped as `=2C` and `=3D`.
fn oauthbearer(decoded: &[u8]) -> Option<Credentials> {
    let header_end = decoded.iter().position(|&b| b == 1)?;
    let (header, pairs) = decoded.split_at(header_end);
    let header = std::str::from_utf8(header).ok()?;
    let mut fields = header.split(',');
    if !matches!(fields.next()?, "n" | "y") {
        return None;
    }
    let authzid = fields.next()?;
    let username = match authzid.strip_prefix("a=") {
        Some(name) => name.replace("=2C", ",").replace("=3D", "="),
        None if authzid.is_empty() => String::new(),
        None => return None,
    };
    Some(Credentials::OAuth {
        username: name_field(username.as_bytes())?,
        access_token: bearer(pairs)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(raw: &[u8]) -> Vec<u8> {
        Base64::encode_string(raw).into_bytes()
    }

    fn password(username: &str, password: &str, identity: Option<&str>) -> SaslServerStep {
        SaslServerStep::Done(Credentials::Password {
            username: username.into(),
            password: password.into(),
            identity: identity.map(Into::into),
        })
    }

    #[test]
    fn plain_with_and_without_initial_response() {
        let (_, step) = SaslServer::start(Mechanism::Plain, Some(b"AHVzZXJuYW1lAHBhc3N3b3Jk"));
        assert_eq!(step, password("username", "password", None));
        let (mut s, step) = SaslServer::start(Mechanism::Plain, None);
        assert_eq!(step, SaslServerStep::Challenge(vec![]));
        assert_eq!(
            s.respond(&b64(b"admin\0bob\0pw")),
            password("bob", "pw", Some("admin"))
        );
        for bad in [
            &b"\0\0pw"[..],
            b"\0bob\0",
            b"bob\0pw",
            b"a\0b\0c\0d",
            b"\0b\xff\0pw",
        ] {
            let (_, step) = SaslServer::start(Mechanism::Plain, Some(&b64(bad)));
            assert_eq!(step, SaslServerStep::Failed(SaslFailure::Malformed), "{bad:?}");
        }
        let (_, step) = SaslServer::start(Mechanism::Plain, Some(b"not base64!"));
        assert_eq!(step, SaslServerStep::Failed(SaslFailure::Malformed));
    }

    #[test]
    fn login_prompts_and_cancel() {
        let (mut s, step) = SaslServer::start(Mechanism::Login, None);
        assert_eq!(step, SaslServerStep::Challenge(b"Username:".to_vec()));
        assert_eq!(
            s.respond(&b64(b"bob")),
            SaslServerStep::Challenge(b"Password:".to_vec())
        );
        assert_eq!(s.respond(&b64(b"secret")), password("bob", "secret", None));
        let (mut s, step) = SaslServer::start(Mechanism::Login, Some(&b64(b"bob")));
        assert_eq!(step, SaslServerStep::Challenge(b"Password:".to_vec()));
        assert_eq!(s.respond(b"*"), SaslServerStep::Failed(SaslFailure::Cancelled));
    }

    #[test]
    fn names_with_control_characters_are_refused() {
        // An ESC sequence, a BEL, a tab, DEL or a C1 control in a name could rewrite a terminal or a trace header.
        for name in [
            "\u{1b}[2Jeve",
            "a\u{7}b",
            "a\tb",
            "a\u{7f}b",
            "a\u{85}b",
            "a\u{9b}31m",
        ] {
            for (mechanism, response) in [
                (Mechanism::Plain, format!("\0{name}\0pw")),
                (Mechanism::Plain, format!("{name}\0bob\0pw")),
                (Mechanism::Login, name.to_string()),
                (
                    Mechanism::XOAuth2,
                    format!("user={name}\x01auth=Bearer t\x01\x01"),
                ),
                (
                    Mechanism::OAuthBearer,
                    format!("n,a={name},\x01auth=Bearer t\x01\x01"),
                ),
            ] {
                let (_, step) = SaslServer::start(mechanism, Some(&b64(response.as_bytes())));
                let refused = SaslServerStep::Failed(SaslFailure::Malformed);
                assert_eq!(step, refused, "{mechanism:?} {response:?}");
            }
        }
        // Passwords keep any character but NUL, CR and LF; non-ASCII names are fine.
        let (_, step) = SaslServer::start(Mechanism::Plain, Some(&b64("\0jos\u{e9}\0p\tw\u{1b}".as_bytes())));
        assert_eq!(step, password("jos\u{e9}", "p\tw\u{1b}", None));
    }

    #[test]
    fn oauth_tokens() {
        let (_, step) = SaslServer::start(
            Mechanism::XOAuth2,
            Some(&b64(b"user=bob@example.org\x01auth=Bearer tok123\x01\x01")),
        );
        let token = |u: &str, t: &str| {
            SaslServerStep::Done(Credentials::OAuth {
                username: u.into(),
                access_token: t.into(),
            })
        };
        assert_eq!(step, token("bob@example.org", "tok123"));
        let (_, step) = SaslServer::start(
            Mechanism::OAuthBearer,
            Some(&b64(b"n,a=b=2Cob@x,\x01host=x\x01auth=Bearer t\x01\x01")),
        );
        assert_eq!(step, token("b,ob@x", "t"));
        let (_, step) = SaslServer::start(Mechanism::OAuthBearer, Some(&b64(b"n,,\x01auth=Basic t\x01\x01")));
        assert_eq!(step, SaslServerStep::Failed(SaslFailure::Malformed));
        let (_, step) = SaslServer::start(Mechanism::XOAuth2, Some(b"="));
        assert_eq!(step, SaslServerStep::Failed(SaslFailure::Malformed));
    }
}
