//! The MIME structure: which parts a message has, how each body is encoded, and the boundaries between them.
//!
//! Shape (as nodemailer and lettre build it): `mixed` [ `alternative` [ text, `related` [ html, inline images ] ],
//! attachments ], each level only when needed. Text bodies are sent as 7bit when they are short-lined ASCII,
//! otherwise as quoted-printable or base64, whichever is shorter; attachments as base64.
//!
//! Boundaries start with `=_`, which neither base64 nor quoted-printable output can contain; 7bit parts are
//! searched, and the boundary changed until none contains it.

use super::encode::{base64_body, parameter, quoted_printable, quoted_printable_len};
use super::header::{check_value, message_id};
use super::{Attachment, ComposeError, Content, Message, Segment};

enum Body {
    /// Encoded, ready to send.
    Bytes(Vec<u8>),
    /// Attachment `index`, base64 as it streams.
    Stream(usize),
}

enum Node {
    Leaf {
        headers: String,
        body: Body,
        seven_bit: bool,
    },
    Multi {
        subtype: &'static str,
        extra: &'static str,
        children: Vec<Node>,
    },
}

/// The planned output: `head` (the top-level fields so far), then the structure.
pub(crate) fn plan(message: &Message, head: String, seed: u64) -> Result<Vec<Segment>, ComposeError> {
    let html_inline: Vec<&Attachment> = if message.html.is_some() {
        message.attachments.iter().filter(|a| a.is_inline()).collect()
    } else {
        Vec::new()
    };
    let mut html = message.html.as_ref().map(|html| text_leaf("html", html));
    if let Some(node) = html.take() {
        html = Some(if html_inline.is_empty() {
            node
        } else {
            let mut children = vec![node];
            for a in &html_inline {
                children.push(attachment_leaf(message, a)?);
            }
            Node::Multi {
                subtype: "related",
                extra: "; type=\"text/html\"",
                children,
            }
        });
    }
    let text = message.text.as_ref().map(|t| text_leaf("plain", t));
    let body = match (text, html) {
        (Some(t), Some(h)) => Some(Node::Multi {
            subtype: "alternative",
            extra: "",
            children: vec![t, h],
        }),
        (Some(t), None) => Some(t),
        (None, Some(h)) => Some(h),
        (None, None) => None,
    };
    let regular: Vec<&Attachment> = message
        .attachments
        .iter()
        .filter(|a| !(message.html.is_some() && a.is_inline()))
        .collect();
    let root = if regular.is_empty() {
        body.unwrap_or_else(|| text_leaf("plain", ""))
    } else {
        let mut children: Vec<Node> = body.into_iter().collect();
        for a in regular {
            children.push(attachment_leaf(message, a)?);
        }
        Node::Multi {
            subtype: "mixed",
            extra: "",
            children,
        }
    };

    // A boundary prefix no 7bit body contains (base64 and quoted-printable never contain "=_").
    let mut seed = seed;
    let prefix = loop {
        let prefix = format!("=_sw{seed:016x}");
        if !contains_in_7bit(&root, prefix.as_bytes()) {
            break prefix;
        }
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
    };

    let mut out = Vec::new();
    let mut current = head.into_bytes();
    let mut counter = 0u32;
    let multipart = matches!(root, Node::Multi { .. });
    let mut last_leaf_crlf = true;
    emit(
        root,
        &prefix,
        &mut counter,
        &mut current,
        &mut out,
        &mut last_leaf_crlf,
    );
    // Every message ends with a line break.
    if multipart || !last_leaf_crlf {
        current.extend_from_slice(b"\r\n");
    }
    out.push(Segment::Bytes(current));
    Ok(out)
}

fn contains_in_7bit(node: &Node, needle: &[u8]) -> bool {
    match node {
        Node::Leaf {
            body: Body::Bytes(bytes),
            seven_bit: true,
            ..
        } => bytes.windows(needle.len()).any(|w| w == needle),
        Node::Leaf { .. } => false,
        Node::Multi { children, .. } => children.iter().any(|c| contains_in_7bit(c, needle)),
    }
}

fn emit(
    node: Node,
    prefix: &str,
    counter: &mut u32,
    current: &mut Vec<u8>,
    out: &mut Vec<Segment>,
    last_crlf: &mut bool,
) {
    match node {
        Node::Leaf { headers, body, .. } => {
            current.extend_from_slice(headers.as_bytes());
            current.extend_from_slice(b"\r\n");
            match body {
                Body::Bytes(bytes) => {
                    *last_crlf = bytes.is_empty() || bytes.ends_with(b"\r\n");
                    current.extend_from_slice(&bytes);
                }
                Body::Stream(index) => {
                    out.push(Segment::Bytes(std::mem::take(current)));
                    out.push(Segment::Stream(index));
                    *last_crlf = false;
                }
            }
        }
        Node::Multi {
            subtype,
            extra,
            children,
        } => {
            let boundary = format!("{prefix}_{counter}");
            *counter += 1;
            current.extend_from_slice(
                format!("Content-Type: multipart/{subtype};\r\n boundary=\"{boundary}\"{extra}\r\n\r\n")
                    .as_bytes(),
            );
            for (i, child) in children.into_iter().enumerate() {
                let delimiter = if i == 0 {
                    format!("--{boundary}\r\n")
                } else {
                    format!("\r\n--{boundary}\r\n")
                };
                current.extend_from_slice(delimiter.as_bytes());
                emit(child, prefix, counter, current, out, last_crlf);
            }
            current.extend_from_slice(format!("\r\n--{boundary}--").as_bytes());
        }
    }
}

/// Text with every line break (CRLF, CR or LF) as CRLF.
fn crlf(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 32);
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

/// A text or HTML body: 7bit when it can be, else the shorter of quoted-printable and base64.
fn text_leaf(subtype: &str, text: &str) -> Node {
    let bytes = crlf(text);
    let seven_bit = bytes.iter().all(|&b| b != 0 && b < 128)
        && bytes.split(|&b| b == b'\n').all(|line| line.len() <= 998)
        // A line starting with "From " or "." is fine for SMTP (the codec dot-stuffs), but some gateways mangle
        // "From "; quoted-printable protects it.
        && !bytes.starts_with(b"From ")
        && !bytes.windows(7).any(|w| w == b"\r\nFrom ");
    let (encoding, body) = if seven_bit {
        ("7bit", bytes)
    } else if quoted_printable_len(&bytes) <= bytes.len() / 3 * 4 + bytes.len() / 57 * 2 {
        ("quoted-printable", quoted_printable(&bytes))
    } else {
        ("base64", base64_body(&bytes))
    };
    let headers =
        format!("Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: {encoding}\r\n");
    Node::Leaf {
        headers,
        body: Body::Bytes(body),
        seven_bit,
    }
}

fn attachment_leaf(message: &Message, a: &Attachment) -> Result<Node, ComposeError> {
    let index = message
        .attachments
        .iter()
        .position(|x| std::ptr::eq(x, a))
        .unwrap_or(0);
    let filename = a.filename.as_deref();
    if let Some(name) = filename {
        check_value("attachment filename", name)?;
    }
    let content_type = match &a.content_type {
        Some(ct) => {
            check_value("attachment contentType", ct)?;
            let ct = ct.trim();
            let essence = ct.split(';').next().unwrap_or("").trim();
            let valid = essence.split_once('/').is_some_and(|(t, s)| {
                let token = |x: &str| {
                    !x.is_empty()
                        && x.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
                };
                token(t) && token(s)
            });
            if !valid || !ct.is_ascii() {
                return Err(ComposeError::Invalid {
                    field: "attachment contentType".into(),
                    reason: "is not a MIME type (type/subtype)",
                });
            }
            ct.to_string()
        }
        None => guess_type(filename.unwrap_or("")).to_string(),
    };
    let mut headers = format!("Content-Type: {content_type}");
    if let Some(name) = filename {
        headers.push_str(";\r\n ");
        headers.push_str(&parameter("name", name));
    }
    headers.push_str("\r\nContent-Transfer-Encoding: base64\r\n");
    headers.push_str(if a.is_inline() {
        "Content-Disposition: inline"
    } else {
        "Content-Disposition: attachment"
    });
    if let Some(name) = filename {
        headers.push_str(";\r\n ");
        headers.push_str(&parameter("filename", name));
    }
    headers.push_str("\r\n");
    if let Some(cid) = &a.cid {
        headers.push_str(&format!("Content-ID: {}\r\n", message_id("attachment cid", cid)?));
    }
    let body = match &a.content {
        Content::Bytes(bytes) => Body::Bytes(base64_body(bytes)),
        Content::Stream => Body::Stream(index),
    };
    Ok(Node::Leaf {
        headers,
        body,
        seven_bit: false,
    })
}

/// A MIME type from a file name's extension (the common ones); `application/octet-stream` otherwise.
fn guess_type(filename: &str) -> &'static str {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "text" | "log" => "text/plain",
        "html" | "htm" => "text/html",
        "csv" => "text/csv",
        "css" => "text/css",
        "ics" => "text/calendar",
        "md" => "text/markdown",
        "xml" => "application/xml",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "ico" => "image/vnd.microsoft.icon",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "eml" => "message/rfc822",
        _ => "application/octet-stream",
    }
}
