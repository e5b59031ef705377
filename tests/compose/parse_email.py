"""Parses a message with Python's `email` package (policy.default) and verifies its DKIM signatures with dkimpy.

Usage: python parse_email.py KEYS_JSON < message
KEYS_JSON maps "selector._domainkey.domain." to the TXT record (the test keys; no DNS is asked).
Prints JSON: the decoded headers, bodies, attachments (with a SHA-256 of their decoded bytes) and, per
DKIM-Signature, whether dkimpy verified it.
"""
import hashlib
import json
import sys
from email import policy
from email.parser import BytesParser, Parser

import dkim

raw = sys.stdin.buffer.read()
records = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
head = raw.split(b"\r\n\r\n", 1)[0]
if any(b >= 0x80 for b in head):
    # RFC 6532: raw UTF-8 in the header (non-ASCII addresses). Parsed from bytes, Python keeps those as surrogate
    # escapes; parsed from the decoded text, it reads them as the characters they are (its documented way).
    msg = Parser(policy=policy.default).parsestr(raw.decode("utf-8"))
else:
    msg = BytesParser(policy=policy.default).parsebytes(raw)


def addresses(name):
    header = msg[name]
    if header is None:
        return []
    return [{"name": a.display_name, "address": a.addr_spec} for a in header.addresses]


def dnsfunc(name, timeout=5):
    key = name.decode() if isinstance(name, bytes) else name
    record = records.get(key)
    return record.encode() if record else None


out = {
    "subject": msg["subject"],
    "from": addresses("from"),
    "to": addresses("to"),
    "cc": addresses("cc"),
    "bcc": msg["bcc"],
    "replyTo": addresses("reply-to"),
    "messageId": msg["message-id"],
    "date": msg["date"],
    "contentType": msg.get_content_type(),
    "defects": [type(d).__name__ for d in msg.defects],
    "text": None,
    "html": None,
    "attachments": [],
    "types": [part.get_content_type() for part in msg.walk()],
    "custom": {k: str(v) for k, v in msg.items() if k.lower().startswith("x-")},
    "maxLine": max((len(line) for line in raw.split(b"\r\n")), default=0),
    "dkim": [],
}
body = msg.get_body(preferencelist=("plain",))
if body is not None:
    out["text"] = body.get_content()
body = msg.get_body(preferencelist=("html",))
if body is not None:
    out["html"] = body.get_content()
for part in msg.walk():
    if part.is_multipart():
        continue
    disposition = part.get_content_disposition()
    if disposition in ("attachment", "inline") and part.get_filename() is not None or part["content-id"]:
        data = part.get_payload(decode=True) or b""
        out["attachments"].append({
            "filename": part.get_filename(),
            "contentType": part.get_content_type(),
            "cid": part["content-id"],
            "disposition": disposition,
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        })
count = len(msg.get_all("dkim-signature") or [])
for i in range(count):
    d = dkim.DKIM(raw)
    try:
        ok = d.verify(idx=i, dnsfunc=dnsfunc)
    except Exception as e:  # noqa: BLE001 - reported to the test
        ok = f"error: {e}"
    out["dkim"].append(ok)
print(json.dumps(out))
