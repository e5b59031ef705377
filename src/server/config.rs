//! What a server session is told before it starts: its configuration and who the peer is.

use std::net::IpAddr;
use std::time::Duration;

use crate::codec::content::BareLf;
use crate::codec::params::MtPriorityProfile;
use crate::error::Error;
use crate::sasl::Mechanism;

/// The server's settings (go-smtp's `Server` fields, with Postfix's safer defaults where they differ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The name in the greeting and the EHLO reply.
    pub domain: String,
    /// LMTP (RFC 2033): LHLO only, one reply per recipient after the message.
    pub lmtp: bool,
    /// Most recipients per transaction (`452 4.5.3` beyond); 0 = no limit. Default 100.
    pub max_recipients: usize,
    /// Largest message in octets (`SIZE` advertised; `552 5.3.4` beyond); 0 = no limit. Default 25 MiB.
    pub max_message_bytes: u64,
    /// Longest command line, CRLF included (`500 5.4.0` beyond). Default 2000 (go-smtp).
    pub max_line_length: usize,
    /// Offer and accept AUTH without TLS.
    pub allow_insecure_auth: bool,
    /// Never offer AUTH.
    pub auth_disabled: bool,
    /// The SASL mechanisms offered, in order. Default PLAIN and LOGIN; XOAUTH2 and OAUTHBEARER may be added
    /// (CRAM-MD5 is ignored: it needs the plaintext password on the server).
    pub auth_mechanisms: Vec<Mechanism>,
    /// Refuse envelope quirks: a space after `FROM:`/`TO:`, a path without angle brackets.
    pub strict: bool,
    /// Offer SMTPUTF8 (RFC 6531).
    pub enable_smtputf8: bool,
    /// Offer REQUIRETLS (RFC 8689; only ever under TLS).
    pub enable_requiretls: bool,
    /// Offer BINARYMIME (RFC 3030; BDAT only).
    pub enable_binarymime: bool,
    /// Offer DSN (RFC 3461).
    pub enable_dsn: bool,
    /// Offer RRVS (RFC 7293): `RRVS=` on RCPT.
    pub enable_rrvs: bool,
    /// Offer DELIVERBY (RFC 2852): `BY=` on MAIL (and on RCPT, where go-smtp's client sends it).
    pub enable_deliver_by: bool,
    /// The smallest `BY=` deadline accepted in return mode, advertised as `DELIVERBY <seconds>` (seconds
    /// precision); zero = none (go-smtp's `MinimumDeliverByTime`).
    pub minimum_deliver_by_time: Duration,
    /// Offer MT-PRIORITY (RFC 6710): `MT-PRIORITY=` from -9 to 9.
    pub enable_mt_priority: bool,
    /// The priority profile advertised after `MT-PRIORITY`, if any.
    pub mt_priority_profile: Option<MtPriorityProfile>,
    /// A certificate is configured: STARTTLS is offered while not under TLS.
    pub tls_available: bool,
    /// CIDRs (`"10.0.0.0/8"`, `"::1/128"`, or a bare address) whose clients may AUTH without TLS (SecureNet).
    pub secure_nets: Vec<String>,
    /// This peer may use XCLIENT (Postfix's `smtpd_authorized_xclient_hosts`, decided by the application).
    pub xclient_allowed: bool,
    /// Close with `421 4.4.2` when a command line (or AUTH response) is not complete this long after its first
    /// byte or after the previous reply (go-smtp's per-line read deadline; trickled bytes do not extend it), or when
    /// message content pauses this long; `None` = never. Default 300 s (Postfix smtpd_timeout).
    pub read_timeout: Option<Duration>,
    /// Errors (unknown commands, bad syntax, over-long lines) tolerated; one more closes the connection with
    /// `500 5.5.1`. Default 3 (go-smtp).
    pub max_errors: u32,
    /// NOOP, VRFY, HELP and RSET a client may send before each one more also counts as an error (Postfix's
    /// `smtpd_junk_command_limit`): a client cannot hold a connection forever with them. Forgiven when a message is
    /// accepted. Default 100; 0 = no limit.
    pub junk_command_limit: u32,
    /// RCPTs over `max_recipients` a client may send before each one more also counts as an error (Postfix's
    /// `smtpd_recipient_overshoot_limit`). Per transaction. Default 1000; 0 = no limit.
    pub recipient_overshoot_limit: u32,
    /// What a bare LF in content (and at the end of a command line) does.
    pub bare_lf: BareLf,
    /// Content bytes handed out in [`crate::ServerEvent::Content`] and not yet confirmed with
    /// [`crate::ServerSession::content_read`] before the session stops reading. Default 64 KiB.
    pub content_window: usize,
    /// Emit [`crate::ServerEvent::Transcript`] lines (AUTH payloads redacted, content never shown).
    pub transcript: bool,
}

impl ServerConfig {
    /// Defaults for a server called `domain`.
    #[must_use]
    pub fn new(domain: &str) -> Self {
        ServerConfig {
            domain: domain.to_string(),
            lmtp: false,
            max_recipients: 100,
            max_message_bytes: 25 * 1024 * 1024,
            max_line_length: 2000,
            allow_insecure_auth: false,
            auth_disabled: false,
            auth_mechanisms: vec![Mechanism::Plain, Mechanism::Login],
            strict: false,
            enable_smtputf8: false,
            enable_requiretls: false,
            enable_binarymime: false,
            enable_dsn: false,
            enable_rrvs: false,
            enable_deliver_by: false,
            minimum_deliver_by_time: Duration::ZERO,
            enable_mt_priority: false,
            mt_priority_profile: None,
            tls_available: false,
            secure_nets: Vec::new(),
            xclient_allowed: false,
            read_timeout: Some(Duration::from_secs(300)),
            max_errors: 3,
            junk_command_limit: 100,
            recipient_overshoot_limit: 1000,
            bare_lf: BareLf::Normalize,
            content_window: 64 * 1024,
            transcript: false,
        }
    }
}

/// Who is on the other end, as the layer below knows it (and as XCLIENT may later assert it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerInfo {
    /// The client's address.
    pub remote_ip: Option<IpAddr>,
    /// The client's port.
    pub remote_port: Option<u16>,
    /// The address the client connected to.
    pub local_ip: Option<IpAddr>,
    /// The port the client connected to.
    pub local_port: Option<u16>,
    /// The connection is under TLS from the start (implicit TLS).
    pub tls: bool,
    /// XCLIENT `HELO`: the client's asserted hello name.
    pub helo: Option<String>,
    /// XCLIENT `LOGIN`: the asserted SASL login name.
    pub login: Option<String>,
    /// XCLIENT `NAME`: the client's asserted host name.
    pub name: Option<String>,
    /// XCLIENT `PROTO`: `SMTP` or `ESMTP`.
    pub proto: Option<String>,
}

/// One parsed CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `"192.0.2.0/24"`, `"2001:db8::/32"`, or a bare address (all bits).
    pub(crate) fn parse(text: &str) -> Result<Cidr, Error> {
        let bad = || Error::Usage(format!("secure_nets: {text:?} is not a CIDR block"));
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = address.parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|&p| p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { network, prefix })
    }

    /// Whether `ip` is inside this block (an IPv4-mapped IPv6 address counts as the IPv4 one).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (a, b, bits) = match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => (u128::from(u32::from(n)), u128::from(u32::from(i)), 32u32),
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128u32),
            _ => return false,
        };
        let prefix = u32::from(self.prefix).min(bits);
        if prefix == 0 {
            return true;
        }
        let shift = bits - prefix;
        a.checked_shr(shift) == b.checked_shr(shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_matching() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(net.contains(ip("10.1.2.3")) && !net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.9.9.9")));
        assert!(Cidr::parse("::1").unwrap().contains(ip("::1")));
        assert!(!Cidr::parse("::1").unwrap().contains(ip("::2")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("2001:db8::/32")
            .unwrap()
            .contains(ip("2001:db8:1::1")));
        assert!(!Cidr::parse("2001:db8::/32").unwrap().contains(ip("10.0.0.1")));
        for bad in ["10.0.0.0/33", "x", "10.0.0.0/", "::/129"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }
}
