"""aiosmtpd loopback test peer (started by scripts/servers.sh with the venv from scripts/setup.sh servers).

STARTTLS required, AUTH PLAIN/LOGIN (aiosmtpd has no CRAM-MD5) required and only after TLS, SMTPUTF8.
Messages are delivered to the Maildir $SMTP_WASM_AIOSMTPD_MAILDIR (new/ cur/ tmp/).

usage: python aiosmtpd-server.py PORT
"""
import os
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

STATE = os.environ["SMTP_WASM_STATE"]
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("SMTP_WASM_AIOSMTPD_PORT", "2528"))
HOST = os.environ.get("SMTP_WASM_HOST", "127.0.0.1")
USERS = {os.environ.get("SMTP_WASM_USER", "alice").encode(): os.environ.get("SMTP_WASM_PASS", "secret").encode()}
CERTS = os.path.join(STATE, "certs")
MAILDIR = os.environ.get("SMTP_WASM_AIOSMTPD_MAILDIR", os.path.join(STATE, "aiosmtpd", "Maildir"))


def authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and USERS.get(auth_data.login) == auth_data.password:
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)


class Handler(Mailbox):
    async def handle_DATA(self, server, session, envelope):
        r = await super().handle_DATA(server, session, envelope)
        print("received from", envelope.mail_from, "to", envelope.rcpt_tos, "options", envelope.mail_options,
              "utf8", envelope.smtp_utf8, flush=True)
        return r


os.makedirs(os.path.dirname(MAILDIR), exist_ok=True)
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(os.path.join(CERTS, "fullchain.pem"), os.path.join(CERTS, "key.pem"))
controller = Controller(
    Handler(MAILDIR), hostname=HOST, port=PORT, tls_context=ctx, require_starttls=True,
    authenticator=authenticator, auth_required=True, auth_require_tls=True, enable_SMTPUTF8=True,
    server_hostname="aiosmtpd.test", data_size_limit=60000000,
)
controller.start()
print(f"aiosmtpd listening on {HOST}:{PORT}", flush=True)
signal.sigwait({signal.SIGINT, signal.SIGTERM})
controller.stop()
