//! SASL mechanisms for SMTP AUTH (RFC 4954): PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER (RFC 7628) and EXTERNAL
//! (RFC 4422 appendix A: the identity established by the TLS client certificate). Any other mechanism is driven by
//! the caller, one challenge at a time (`ClientSession::auth_custom`).
//!
//! This module only computes responses; the session decides when they may be sent (never in cleartext to a remote
//! host) and how they travel (initial response on the AUTH line or after a `334`).

#[cfg(feature = "server")]
pub mod server;

use hmac::{Hmac, Mac};
use md5::Md5;

use crate::codec::line::check_argument;
use crate::error::{Error, Field, InputError, InputErrorReason};

/// A SASL mechanism this client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// RFC 4616.
    Plain,
    /// The de-facto LOGIN mechanism (username and password prompts).
    Login,
    /// RFC 2195 challenge-response.
    CramMd5,
    /// Google's and Microsoft's XOAUTH2.
    XOAuth2,
    /// RFC 7628 OAUTHBEARER.
    OAuthBearer,
    /// RFC 4422 appendix A: the credentials are outside SASL (a TLS client certificate).
    External,
}

impl Mechanism {
    /// The name on the wire.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::External => "EXTERNAL",
        }
    }

    /// The mechanism with this name (case-insensitive).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Mechanism> {
        [
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::CramMd5,
            Mechanism::XOAuth2,
            Mechanism::OAuthBearer,
            Mechanism::External,
        ]
        .into_iter()
        .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// Whether this mechanism uses a password (as opposed to an OAuth token).
    #[must_use]
    pub fn uses_password(self) -> bool {
        matches!(self, Mechanism::Plain | Mechanism::Login | Mechanism::CramMd5)
    }
}

/// Credentials for AUTH (ARCHITECTURE's `AuthOptions`).
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A username and password (PLAIN, LOGIN, CRAM-MD5).
    Password {
        /// The authentication identity.
        username: String,
        /// The password.
        password: String,
        /// The authorization identity (PLAIN only), when acting for someone else.
        identity: Option<String>,
    },
    /// An OAuth 2.0 bearer token (XOAUTH2, OAUTHBEARER).
    OAuth {
        /// The user the token belongs to.
        username: String,
        /// The access token.
        access_token: String,
    },
    /// EXTERNAL: the TLS client certificate authenticates; optionally ask to act as another identity.
    External {
        /// The authorization identity; `None` for the one the certificate establishes.
        identity: Option<String>,
    },
}

impl std::fmt::Debug for Credentials {
    /// Never prints secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Password {
                username, identity, ..
            } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &"<redacted>")
                .field("identity", identity)
                .finish(),
            Credentials::OAuth { username, .. } => f
                .debug_struct("OAuth")
                .field("username", username)
                .field("access_token", &"<redacted>")
                .finish(),
            Credentials::External { identity } => {
                f.debug_struct("External").field("identity", identity).finish()
            }
        }
    }
}

impl Credentials {
    /// Checks the credentials for characters no mechanism can carry (NUL separates PLAIN's fields; CR/LF would
    /// break lines before base64; other controls are refused as everywhere else).
    pub fn validate(&self) -> Result<(), InputError> {
        match self {
            Credentials::Password {
                username,
                password,
                identity,
            } => {
                non_empty(Field::Username, username)?;
                check_argument(Field::Username, username)?;
                check_argument(Field::Password, password)?;
                if let Some(identity) = identity {
                    check_argument(Field::Identity, identity)?;
                }
            }
            Credentials::OAuth {
                username,
                access_token,
            } => {
                non_empty(Field::Username, username)?;
                check_argument(Field::Username, username)?;
                non_empty(Field::AccessToken, access_token)?;
                check_argument(Field::AccessToken, access_token)?;
            }
            Credentials::External { identity } => {
                if let Some(identity) = identity {
                    check_argument(Field::Identity, identity)?;
                }
            }
        }
        Ok(())
    }

    /// The mechanisms these credentials work with, best first. Without TLS, CRAM-MD5 comes first because it does
    /// not reveal the password; with TLS, PLAIN is preferred (one round trip, and CRAM-MD5 forces the server to store
    /// plaintext passwords).
    #[must_use]
    pub fn preferred_mechanisms(&self, tls: bool) -> &'static [Mechanism] {
        match (self, tls) {
            (
                Credentials::Password {
                    identity: Some(_), ..
                },
                _,
            ) => &[Mechanism::Plain],
            (Credentials::Password { .. }, true) => &[Mechanism::Plain, Mechanism::Login, Mechanism::CramMd5],
            (Credentials::Password { .. }, false) => {
                &[Mechanism::CramMd5, Mechanism::Plain, Mechanism::Login]
            }
            (Credentials::OAuth { .. }, _) => &[Mechanism::OAuthBearer, Mechanism::XOAuth2],
            (Credentials::External { .. }, _) => &[Mechanism::External],
        }
    }
}

fn non_empty(field: Field, value: &str) -> Result<(), InputError> {
    if value.is_empty() {
        Err(InputError::new(field, InputErrorReason::Empty))
    } else {
        Ok(())
    }
}

/// What to send next in an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslStep {
    /// A response (raw bytes, to be base64-encoded).
    Respond(Vec<u8>),
    /// Cancel the exchange with `*` (RFC 4954 section 4): the challenge could not be answered.
    Cancel(String),
}

/// One AUTH exchange in progress.
#[derive(Debug, Clone)]
pub struct SaslExchange {
    mechanism: Mechanism,
    credentials: Credentials,
    challenges_seen: u8,
    /// Where the session connects, for OAUTHBEARER's optional `host=` and `port=` (not sent when unknown).
    host: Option<String>,
}

impl SaslExchange {
    /// Starts an exchange. The credentials must suit the mechanism (password vs token).
    pub fn new(mechanism: Mechanism, credentials: Credentials, host: Option<String>) -> Result<Self, Error> {
        let suits = match credentials {
            Credentials::Password { ref identity, .. } => {
                mechanism.uses_password() && (identity.is_none() || mechanism == Mechanism::Plain)
            }
            Credentials::OAuth { .. } => matches!(mechanism, Mechanism::XOAuth2 | Mechanism::OAuthBearer),
            Credentials::External { .. } => mechanism == Mechanism::External,
        };
        if !suits {
            return Err(Error::InvalidInput(InputError::new(
                Field::Mechanism,
                InputErrorReason::Syntax("the mechanism does not fit the credentials given"),
            )));
        }
        Ok(SaslExchange {
            mechanism,
            credentials,
            challenges_seen: 0,
            host,
        })
    }

    /// The mechanism.
    #[must_use]
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The initial response (RFC 4954 section 4), for mechanisms that start with one.
    #[must_use]
    pub fn initial_response(&self) -> Option<Vec<u8>> {
        match (&self.credentials, self.mechanism) {
            (
                Credentials::Password {
                    username,
                    password,
                    identity,
                },
                Mechanism::Plain,
            ) => {
                let mut message = Vec::new();
                message.extend_from_slice(identity.as_deref().unwrap_or("").as_bytes());
                message.push(0);
                message.extend_from_slice(username.as_bytes());
                message.push(0);
                message.extend_from_slice(password.as_bytes());
                Some(message)
            }
            (
                Credentials::OAuth {
                    username,
                    access_token,
                },
                Mechanism::XOAuth2,
            ) => Some(format!("user={username}\x01auth=Bearer {access_token}\x01\x01").into_bytes()),
            (
                Credentials::OAuth {
                    username,
                    access_token,
                },
                Mechanism::OAuthBearer,
            ) => {
                // RFC 7628 section 3.1: GS2 header with the authzid as a saslname (',' and '=' escaped).
                let saslname = username.replace('=', "=3D").replace(',', "=2C");
                let mut message = format!("n,a={saslname},");
                if let Some(host) = &self.host {
                    message.push_str(&format!("\x01host={host}"));
                }
                message.push_str(&format!("\x01auth=Bearer {access_token}\x01\x01"));
                Some(message.into_bytes())
            }
            // The authorization identity, empty for "the one the certificate says" (sent as "=").
            (Credentials::External { identity }, Mechanism::External) => {
                Some(identity.as_deref().unwrap_or("").as_bytes().to_vec())
            }
            _ => None,
        }
    }

    /// The response to a `334` challenge (already base64-decoded).
    pub fn respond(&mut self, challenge: &[u8]) -> SaslStep {
        self.challenges_seen = self.challenges_seen.saturating_add(1);
        match (&self.credentials, self.mechanism) {
            (
                Credentials::Password {
                    username, password, ..
                },
                Mechanism::Login,
            ) => {
                // Servers prompt "Username:" then "Password:" (any case, sometimes other words); when the prompt
                // says neither, go by order.
                let prompt = challenge.to_ascii_lowercase();
                let says = |word: &[u8]| prompt.windows(word.len()).any(|w| w == word);
                let wants_password = if says(b"pass") {
                    true
                } else if says(b"user") {
                    false
                } else {
                    self.challenges_seen > 1
                };
                if self.challenges_seen > 2 {
                    return SaslStep::Cancel(
                        "LOGIN: the server asked for more than a username and a password".into(),
                    );
                }
                SaslStep::Respond(
                    if wants_password {
                        password.clone()
                    } else {
                        username.clone()
                    }
                    .into_bytes(),
                )
            }
            (
                Credentials::Password {
                    username, password, ..
                },
                Mechanism::CramMd5,
            ) => {
                if self.challenges_seen > 1 {
                    return SaslStep::Cancel("CRAM-MD5: unexpected second challenge".into());
                }
                let Ok(mut mac) = Hmac::<Md5>::new_from_slice(password.as_bytes()) else {
                    return SaslStep::Cancel("CRAM-MD5: cannot key HMAC".into());
                };
                mac.update(challenge);
                let digest = mac.finalize().into_bytes();
                let mut response = format!("{username} ").into_bytes();
                for byte in digest {
                    response.extend_from_slice(format!("{byte:02x}").as_bytes());
                }
                SaslStep::Respond(response)
            }
            // A challenge after the initial response is the server's error report (JSON); the client answers
            // with an empty response (XOAUTH2) or a single %x01 (RFC 7628 section 3.2.3) and the server then sends
            // its final failure reply.
            (_, Mechanism::XOAuth2) => SaslStep::Respond(Vec::new()),
            (_, Mechanism::OAuthBearer) => SaslStep::Respond(vec![0x01]),
            (_, Mechanism::External) => {
                if self.challenges_seen > 1 {
                    SaslStep::Cancel("EXTERNAL: unexpected second challenge".into())
                } else {
                    SaslStep::Respond(self.initial_response().unwrap_or_default())
                }
            }
            (_, Mechanism::Plain) => {
                if self.challenges_seen > 1 {
                    SaslStep::Cancel("PLAIN: unexpected second challenge".into())
                } else {
                    // The server asked for the initial response because we did not send it on the AUTH line.
                    SaslStep::Respond(self.initial_response().unwrap_or_default())
                }
            }
            _ => SaslStep::Cancel("credentials do not fit the mechanism".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(user: &str, pass: &str) -> Credentials {
        Credentials::Password {
            username: user.into(),
            password: pass.into(),
            identity: None,
        }
    }

    #[test]
    fn plain_initial_response_has_empty_authzid() {
        let exchange = SaslExchange::new(Mechanism::Plain, password("alice", "secret"), None).unwrap();
        assert_eq!(exchange.initial_response().unwrap(), b"\0alice\0secret");
    }

    #[test]
    fn cram_md5_matches_rfc_2195_example() {
        // RFC 2195 section 2: user "tim", secret "tanstaaftanstaaf".
        let mut exchange =
            SaslExchange::new(Mechanism::CramMd5, password("tim", "tanstaaftanstaaf"), None).unwrap();
        let step = exchange.respond(b"<1896.697170952@postoffice.reston.mci.net>");
        assert_eq!(
            step,
            SaslStep::Respond(b"tim b913a602c7eda7a495b4e6e7334d3890".to_vec())
        );
    }

    #[test]
    fn login_answers_prompts_in_any_case_or_by_order() {
        let mut exchange = SaslExchange::new(Mechanism::Login, password("u", "p"), None).unwrap();
        assert_eq!(exchange.respond(b"USERNAME:"), SaslStep::Respond(b"u".to_vec()));
        assert_eq!(exchange.respond(b"password:"), SaslStep::Respond(b"p".to_vec()));
        let mut odd = SaslExchange::new(Mechanism::Login, password("u", "p"), None).unwrap();
        assert_eq!(odd.respond(b"Benutzer"), SaslStep::Respond(b"u".to_vec()));
        assert_eq!(odd.respond(b"Kennwort"), SaslStep::Respond(b"p".to_vec()));
        assert!(matches!(odd.respond(b"more?"), SaslStep::Cancel(_)));
    }

    #[test]
    fn oauth_initial_responses() {
        let creds = Credentials::OAuth {
            username: "a=b,c@x".into(),
            access_token: "tok".into(),
        };
        let xoauth = SaslExchange::new(Mechanism::XOAuth2, creds.clone(), None).unwrap();
        assert_eq!(
            xoauth.initial_response().unwrap(),
            b"user=a=b,c@x\x01auth=Bearer tok\x01\x01"
        );
        let bearer = SaslExchange::new(Mechanism::OAuthBearer, creds, Some("mx.example".into())).unwrap();
        assert_eq!(
            bearer.initial_response().unwrap(),
            b"n,a=a=3Db=2Cc@x,\x01host=mx.example\x01auth=Bearer tok\x01\x01"
        );
    }

    #[test]
    fn external_sends_the_authorization_identity_or_nothing() {
        let me = SaslExchange::new(
            Mechanism::External,
            Credentials::External { identity: None },
            None,
        )
        .unwrap();
        assert_eq!(me.initial_response().unwrap(), b"");
        let other = Credentials::External {
            identity: Some("bob".into()),
        };
        assert_eq!(
            SaslExchange::new(Mechanism::External, other.clone(), None)
                .unwrap()
                .initial_response()
                .unwrap(),
            b"bob"
        );
        assert_eq!(other.preferred_mechanisms(true), &[Mechanism::External]);
        assert!(SaslExchange::new(Mechanism::Plain, other, None).is_err());
        assert_eq!(Mechanism::from_name("external"), Some(Mechanism::External));
    }

    #[test]
    fn mechanism_must_fit_credentials() {
        assert!(SaslExchange::new(Mechanism::XOAuth2, password("u", "p"), None).is_err());
        let with_identity = Credentials::Password {
            username: "u".into(),
            password: "p".into(),
            identity: Some("x".into()),
        };
        assert!(SaslExchange::new(Mechanism::Login, with_identity, None).is_err());
    }

    #[test]
    fn credentials_refuse_line_breaks_and_never_print_secrets() {
        assert!(password("alice", "se\r\ncret").validate().is_err());
        assert!(password("", "x").validate().is_err());
        let shown = format!("{:?}", password("alice", "hunter2"));
        assert!(!shown.contains("hunter2"));
    }
}
