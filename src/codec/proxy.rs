//! The PROXY protocol header (HAProxy's `proxy-protocol.txt`, versions 1 and 2) that a load balancer sends before
//! anything else, to say which client it is relaying: what Postfix reads with `smtpd_upstream_proxy_protocol =
//! haproxy` and smtp-server with `useProxy`. Only a server that knows the peer is such a proxy may read it (anyone
//! else could claim any address), so the drivers call [`parse_proxy_header`] for connections from the proxies the
//! application trusts, before the session starts.
//!
//! Bounded: a version 1 line is at most [`MAX_V1_LINE`] bytes; a version 2 header at most [`MAX_V2_HEADER`] (its
//! TLVs are skipped).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The longest version 1 line, CRLF included (the specification's 107).
pub const MAX_V1_LINE: usize = 107;
/// The largest version 2 header accepted (16 bytes, the addresses and TLVs). HAProxy's own TLVs (ALPN, authority,
/// SSL details, unique id) fit easily; larger is refused instead of buffered.
pub const MAX_V2_HEADER: usize = 4096;

const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// Who the proxy says is on each end. Both `None` for a health check (`PROXY UNKNOWN`, version 2 `LOCAL`) or an
/// address family that carries no IP (UNIX sockets): the connection is the proxy's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyHeader {
    /// The client the proxy accepted.
    pub source: Option<SocketAddr>,
    /// The address that client connected to (the proxy's public side).
    pub destination: Option<SocketAddr>,
}

/// What [`parse_proxy_header`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyParse {
    /// Not all of the header is there yet: read more and call again with everything.
    Incomplete,
    /// The header, and how many bytes of the input it took (the rest is the client's).
    Done {
        /// The addresses.
        header: ProxyHeader,
        /// Header bytes to drop from the front of the input.
        consumed: usize,
    },
    /// Not a PROXY header, or a malformed one: close the connection (the peer is not the proxy it should be).
    Invalid(&'static str),
}

/// Reads a version 1 or 2 header from the start of `input`.
#[must_use]
pub fn parse_proxy_header(input: &[u8]) -> ProxyParse {
    let prefix_of = |full: &[u8]| input.len() < full.len() && full.starts_with(input);
    if input.starts_with(V2_SIGNATURE) {
        parse_v2(input)
    } else if input.starts_with(b"PROXY ") {
        parse_v1(input)
    } else if input.is_empty() || prefix_of(V2_SIGNATURE) || prefix_of(b"PROXY ") {
        ProxyParse::Incomplete
    } else {
        ProxyParse::Invalid("the connection does not start with a PROXY protocol header")
    }
}

/// `PROXY TCP4 192.0.2.1 198.51.100.1 56324 25\r\n`, `PROXY TCP6 ...`, `PROXY UNKNOWN ...\r\n`.
fn parse_v1(input: &[u8]) -> ProxyParse {
    let Some(end) = input.iter().take(MAX_V1_LINE).position(|&b| b == b'\n') else {
        return if input.len() < MAX_V1_LINE {
            ProxyParse::Incomplete
        } else {
            ProxyParse::Invalid("PROXY line longer than 107 bytes")
        };
    };
    let bad = ProxyParse::Invalid("malformed PROXY line");
    let Some(line) = input.get(..end).and_then(|l| l.strip_suffix(b"\r")) else {
        return bad;
    };
    let Ok(line) = std::str::from_utf8(line) else {
        return bad;
    };
    let fields: Vec<&str> = line.split(' ').collect();
    let header = match fields.as_slice() {
        ["PROXY", "UNKNOWN", ..] => ProxyHeader {
            source: None,
            destination: None,
        },
        ["PROXY", family @ ("TCP4" | "TCP6"), source, destination, source_port, destination_port] => {
            let address = |text: &str| -> Option<IpAddr> {
                let ip: IpAddr = text.parse().ok()?;
                (ip.is_ipv4() == (*family == "TCP4")).then_some(ip)
            };
            // Decimal without leading zeros (the specification), 0 to 65535.
            let port = |text: &str| -> Option<u16> {
                let canonical =
                    text == "0" || (!text.starts_with('0') && text.bytes().all(|b| b.is_ascii_digit()));
                canonical.then(|| text.parse().ok()).flatten()
            };
            match (
                address(source),
                address(destination),
                port(source_port),
                port(destination_port),
            ) {
                (Some(s), Some(d), Some(sp), Some(dp)) => ProxyHeader {
                    source: Some(SocketAddr::new(s, sp)),
                    destination: Some(SocketAddr::new(d, dp)),
                },
                _ => return bad,
            }
        }
        _ => return bad,
    };
    ProxyParse::Done {
        header,
        consumed: end + 1,
    }
}

/// The binary form: signature, version/command, family/transport, length, addresses, TLVs.
fn parse_v2(input: &[u8]) -> ProxyParse {
    let length = input.get(14..16).and_then(|b| <[u8; 2]>::try_from(b).ok());
    let (Some(&version_command), Some(&family), Some(length)) = (
        input.get(12),
        input.get(13),
        length.map(|b| usize::from(u16::from_be_bytes(b))),
    ) else {
        return ProxyParse::Incomplete;
    };
    let total = 16 + length;
    if version_command >> 4 != 2 {
        return ProxyParse::Invalid("PROXY protocol version 2 header with another version number");
    }
    if total > MAX_V2_HEADER {
        return ProxyParse::Invalid("PROXY protocol version 2 header larger than 4096 bytes");
    }
    let Some(body) = input.get(16..total) else {
        return ProxyParse::Incomplete;
    };
    let none = ProxyHeader {
        source: None,
        destination: None,
    };
    let header = match version_command & 0x0f {
        // LOCAL: the proxy's own connection (a health check); the addresses, if any, are to be ignored.
        0 => none,
        1 => match family >> 4 {
            // AF_INET: 4 + 4 + 2 + 2 bytes.
            1 => match body.get(..12).and_then(|a| <[u8; 12]>::try_from(a).ok()) {
                Some([s0, s1, s2, s3, d0, d1, d2, d3, sp0, sp1, dp0, dp1]) => ProxyHeader {
                    source: Some(SocketAddr::new(
                        Ipv4Addr::new(s0, s1, s2, s3).into(),
                        u16::from_be_bytes([sp0, sp1]),
                    )),
                    destination: Some(SocketAddr::new(
                        Ipv4Addr::new(d0, d1, d2, d3).into(),
                        u16::from_be_bytes([dp0, dp1]),
                    )),
                },
                None => return ProxyParse::Invalid("PROXY protocol version 2 IPv4 addresses cut short"),
            },
            // AF_INET6: 16 + 16 + 2 + 2 bytes.
            2 => {
                let field = |from: usize, to: usize| body.get(from..to);
                let ip = |from: usize| field(from, from + 16).and_then(|a| <[u8; 16]>::try_from(a).ok());
                let port = |from: usize| field(from, from + 2).and_then(|a| <[u8; 2]>::try_from(a).ok());
                match (ip(0), ip(16), port(32), port(34)) {
                    (Some(s), Some(d), Some(sp), Some(dp)) => ProxyHeader {
                        source: Some(SocketAddr::new(Ipv6Addr::from(s).into(), u16::from_be_bytes(sp))),
                        destination: Some(SocketAddr::new(Ipv6Addr::from(d).into(), u16::from_be_bytes(dp))),
                    },
                    _ => return ProxyParse::Invalid("PROXY protocol version 2 IPv6 addresses cut short"),
                }
            }
            // AF_UNSPEC or AF_UNIX: no IP to report.
            0 | 3 => none,
            _ => {
                return ProxyParse::Invalid("PROXY protocol version 2 header with an unknown address family")
            }
        },
        _ => return ProxyParse::Invalid("PROXY protocol version 2 header with an unknown command"),
    };
    ProxyParse::Done {
        header,
        consumed: total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(input: &[u8]) -> (ProxyHeader, usize) {
        match parse_proxy_header(input) {
            ProxyParse::Done { header, consumed } => (header, consumed),
            other => panic!("{other:?} for {input:?}"),
        }
    }

    fn addr(text: &str) -> Option<SocketAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn version_1() {
        let line = b"PROXY TCP4 192.0.2.1 198.51.100.7 56324 25\r\nEHLO x\r\n";
        let (header, consumed) = done(line);
        assert_eq!(header.source, addr("192.0.2.1:56324"));
        assert_eq!(header.destination, addr("198.51.100.7:25"));
        assert_eq!(&line[consumed..], b"EHLO x\r\n");
        let (header, _) = done(b"PROXY TCP6 2001:db8::1 ::1 65535 587\r\n");
        assert_eq!(header.source, addr("[2001:db8::1]:65535"));
        let (header, consumed) = done(b"PROXY UNKNOWN ffff::1 ::1 1 2\r\n");
        assert_eq!((header.source, consumed), (None, 31));
        assert_eq!(done(b"PROXY UNKNOWN\r\n").0.destination, None);
        // Every prefix is incomplete, never an error.
        for cut in 0..line.len() - 8 {
            assert_eq!(parse_proxy_header(&line[..cut]), ProxyParse::Incomplete, "{cut}");
        }
        for bad in [
            &b"PROXY TCP4 192.0.2.1 198.51.100.7 56324 25\n"[..],
            b"PROXY TCP4 2001:db8::1 198.51.100.7 56324 25\r\n",
            b"PROXY TCP6 192.0.2.1 ::1 1 2\r\n",
            b"PROXY TCP4 192.0.2.1 198.51.100.7 056324 25\r\n",
            b"PROXY TCP4 192.0.2.1 198.51.100.7 65536 25\r\n",
            b"PROXY TCP4 192.0.2.1  198.51.100.7 1 25\r\n",
            b"PROXY TCP4 192.0.2.1 198.51.100.7 1\r\n",
            b"PROXY UDP4 192.0.2.1 198.51.100.7 1 2\r\n",
            b"EHLO client.example\r\n",
            b"proxy TCP4 192.0.2.1 198.51.100.7 1 2\r\n",
        ] {
            assert!(
                matches!(parse_proxy_header(bad), ProxyParse::Invalid(_)),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = [b"PROXY UNKNOWN ".as_slice(), &[b'x'; 100]].concat();
        assert!(matches!(parse_proxy_header(&long), ProxyParse::Invalid(_)));
    }

    fn v2(command: u8, family: u8, body: &[u8]) -> Vec<u8> {
        let mut out = V2_SIGNATURE.to_vec();
        out.push(0x20 | command);
        out.push(family);
        out.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn version_2() {
        // TCP over IPv4 with a TLV (PP2_TYPE_AUTHORITY) after the addresses, then the client's first bytes.
        let mut body = vec![192, 0, 2, 1, 198, 51, 100, 7, 0xdc, 0x04, 0, 25];
        body.extend_from_slice(&[0x02, 0, 4, b'm', b'x', b'.', b't']);
        let mut input = v2(1, 0x11, &body);
        let header_len = input.len();
        input.extend_from_slice(b"EHLO x\r\n");
        let (header, consumed) = done(&input);
        assert_eq!(header.source, addr("192.0.2.1:56324"));
        assert_eq!(header.destination, addr("198.51.100.7:25"));
        assert_eq!(consumed, header_len);
        for cut in 0..header_len {
            assert_eq!(parse_proxy_header(&input[..cut]), ProxyParse::Incomplete, "{cut}");
        }
        let mut six = [0u8; 36];
        six[15] = 1;
        six[16] = 0x20;
        six[17] = 0x01;
        six[32..34].copy_from_slice(&443u16.to_be_bytes());
        six[34..36].copy_from_slice(&25u16.to_be_bytes());
        let (header, _) = done(&v2(1, 0x21, &six));
        assert_eq!(header.source, addr("[::1]:443"));
        assert_eq!(header.destination, addr("[2001::]:25"));
        // LOCAL (a health check) and AF_UNSPEC: no addresses.
        assert_eq!(done(&v2(0, 0x11, &body)).0.source, None);
        assert_eq!(done(&v2(1, 0x00, &[])).0.source, None);
        // Refused: a short address block, an unknown command or family, version 1 in the binary form, too large.
        assert!(matches!(
            parse_proxy_header(&v2(1, 0x11, &[1, 2, 3])),
            ProxyParse::Invalid(_)
        ));
        assert!(matches!(
            parse_proxy_header(&v2(2, 0x11, &body)),
            ProxyParse::Invalid(_)
        ));
        assert!(matches!(
            parse_proxy_header(&v2(1, 0x41, &body)),
            ProxyParse::Invalid(_)
        ));
        let mut old = v2(1, 0x11, &body);
        old[12] = 0x11;
        assert!(matches!(parse_proxy_header(&old), ProxyParse::Invalid(_)));
        let mut huge = v2(1, 0x11, &[]);
        huge[14..16].copy_from_slice(&5000u16.to_be_bytes());
        assert!(matches!(parse_proxy_header(&huge), ProxyParse::Invalid(_)));
    }
}
