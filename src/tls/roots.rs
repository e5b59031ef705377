//! The Mozilla root store (webpki-roots), trusted by default.
//!
//! With the cargo feature `mozilla-roots` (default) the roots are compiled in. Without it (the npm package's wasm:
//! the roots are ~46 kB of its gzip size, and users with their own CA never need them) they are loaded once per
//! process with `load_mozilla_roots` from a compact blob that [`encode_anchors`] made at build time (the npm
//! package ships it as a separate JavaScript module, loaded only when a connection needs it).
//!
//! The blob is the anchors in order, each as three length-prefixed fields (u16 big-endian length, then the bytes):
//! the subject, the SubjectPublicKeyInfo, the name constraints (length 0: none). The same three DER values a
//! [`TrustAnchor`] holds, so no certificate is parsed at load time.

use rustls::pki_types::TrustAnchor;

use crate::error::{TlsError, TlsErrorKind};

/// The Mozilla roots compiled in.
#[cfg(feature = "mozilla-roots")]
#[must_use]
pub fn mozilla_roots() -> &'static [TrustAnchor<'static>] {
    webpki_roots::TLS_SERVER_ROOTS
}

#[cfg(not(feature = "mozilla-roots"))]
static LOADED: std::sync::OnceLock<Vec<TrustAnchor<'static>>> = std::sync::OnceLock::new();

/// The Mozilla roots given to [`load_mozilla_roots`] (empty until then).
#[cfg(not(feature = "mozilla-roots"))]
#[must_use]
pub fn mozilla_roots() -> &'static [TrustAnchor<'static>] {
    LOADED.get().map_or(&[], Vec::as_slice)
}

/// Whether [`mozilla_roots`] has the roots (always, with the feature `mozilla-roots`).
#[must_use]
pub fn mozilla_roots_loaded() -> bool {
    !mozilla_roots().is_empty()
}

/// Loads the Mozilla roots from a blob made by [`encode_anchors`]; later calls are ignored (the first set stays).
/// The blob is kept for the life of the process: the anchors borrow from it, as they borrow from the binary when
/// compiled in.
///
/// # Errors
/// [`TlsErrorKind::Other`] if the blob is malformed or holds no anchor.
#[cfg(not(feature = "mozilla-roots"))]
pub fn load_mozilla_roots(blob: Vec<u8>) -> Result<(), TlsError> {
    if LOADED.get().is_some() {
        return Ok(());
    }
    let blob: &'static [u8] = Box::leak(blob.into_boxed_slice());
    let anchors = decode_anchors(blob)?;
    let _ = LOADED.set(anchors);
    Ok(())
}

/// The blob `load_mozilla_roots` (without the `mozilla-roots` feature) reads, for `anchors`.
#[must_use]
pub fn encode_anchors(anchors: &[TrustAnchor<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for anchor in anchors {
        let constraints = anchor.name_constraints.as_ref().map_or(&[][..], |c| c.as_ref());
        for field in [
            anchor.subject.as_ref(),
            anchor.subject_public_key_info.as_ref(),
            constraints,
        ] {
            // DER values of a root are far below 64 KiB; a longer one would be a bug in the input.
            let len = u16::try_from(field.len()).unwrap_or(0);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&field[..usize::from(len)]);
        }
    }
    out
}

/// The anchors of a blob made by [`encode_anchors`], borrowing from it.
///
/// # Errors
/// [`TlsErrorKind::Other`] if the blob is truncated or holds no anchor.
pub fn decode_anchors(mut blob: &[u8]) -> Result<Vec<TrustAnchor<'_>>, TlsError> {
    let malformed = || TlsError {
        kind: TlsErrorKind::Other,
        message: "the Mozilla root store blob is malformed".into(),
    };
    let mut anchors = Vec::new();
    while !blob.is_empty() {
        let subject = take_field(&mut blob).ok_or_else(malformed)?;
        let spki = take_field(&mut blob).ok_or_else(malformed)?;
        let constraints = take_field(&mut blob).ok_or_else(malformed)?;
        anchors.push(TrustAnchor {
            subject: subject.into(),
            subject_public_key_info: spki.into(),
            name_constraints: (!constraints.is_empty()).then(|| constraints.into()),
        });
    }
    if anchors.is_empty() {
        return Err(malformed());
    }
    Ok(anchors)
}

/// One length-prefixed field from the front of `blob`.
fn take_field<'a>(blob: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, rest) = blob.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    let (value, rest) = rest.split_at_checked(len)?;
    *blob = rest;
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_round_trips() {
        let anchors = [
            TrustAnchor {
                subject: (&[1u8, 2, 3][..]).into(),
                subject_public_key_info: (&[4u8; 300][..]).into(),
                name_constraints: None,
            },
            TrustAnchor {
                subject: (&[5u8][..]).into(),
                subject_public_key_info: (&[6u8, 7][..]).into(),
                name_constraints: Some((&[8u8, 9][..]).into()),
            },
        ];
        let blob = encode_anchors(&anchors);
        assert_eq!(decode_anchors(&blob).ok().as_deref(), Some(&anchors[..]));
        for cut in 0..blob.len() {
            let result = decode_anchors(&blob[..cut]);
            // Cut between two anchors: the anchors before the cut (none at 0: an error).
            if let Ok(found) = result {
                assert!(!found.is_empty() && found.len() < anchors.len(), "cut {cut}");
            }
        }
    }

    #[cfg(feature = "mozilla-roots")]
    #[test]
    fn mozilla_roots_round_trip() {
        let blob = encode_anchors(mozilla_roots());
        assert_eq!(decode_anchors(&blob).ok().as_deref(), Some(mozilla_roots()));
    }
}
