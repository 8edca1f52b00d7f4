"""A real SMTP server for Herald's local stack (aiosmtpd), standing in for an account's own
server on each port Herald supports:

- "25":  plain SMTP offering STARTTLS, no auth required;
- "587": STARTTLS required, AUTH PLAIN/LOGIN and XOAUTH2 (over TLS only);
- "465": implicit TLS, AUTH PLAIN/LOGIN and XOAUTH2.

Its certificate is self-signed for "localhost", so a client that validates certificates refuses
it. Every accepted message is appended as one JSON line to the file given as --log.
Usage: smtp.py --log FILE --ports 25=P1,587=P2,465=P3 --user U --password P --token-prefix T
"""

import argparse
import asyncio
import base64
import datetime
import json
import ssl
import tempfile

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed_context():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = tempfile.mkdtemp()
    cert_path, key_path = f"{directory}/cert.pem", f"{directory}/key.pem"
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


class Handler:
    def __init__(self, label, args):
        self.label = label
        self.args = args

    async def auth_XOAUTH2(self, server, args):
        # AUTH XOAUTH2 <base64("user=" user "\x01auth=Bearer " token "\x01\x01")>
        blob = args[1] if len(args) > 1 else None
        if blob is None:
            return AuthResult(success=False, handled=False)
        try:
            fields = base64.b64decode(blob).decode().split("\x01")
            user = fields[0].removeprefix("user=")
            token = fields[1].removeprefix("auth=Bearer ")
        except Exception:
            return AuthResult(success=False, handled=False)
        ok = token.startswith(self.args.token_prefix)
        return AuthResult(success=ok, handled=False, auth_data=f"xoauth2:{user}")

    async def handle_DATA(self, server, session, envelope):
        auth = session.auth_data
        record = {
            "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
            "port": self.label,
            # session.ssl covers STARTTLS; implicit TLS shows on the transport.
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "auth": auth,
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf8", errors="replace"),
        }
        with open(self.args.log, "a") as f:
            f.write(json.dumps(record) + "\n")
        return "250 2.0.0 Ok: queued"


def authenticator(args):
    def check(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode()
            ok = login == args.user and auth_data.password.decode() == args.password
            return AuthResult(success=ok, handled=False, auth_data=f"password:{login}")
        return AuthResult(success=False, handled=False)

    return check


class ImplicitTlsController(Controller):
    """aiosmtpd's Controller wraps the listening socket in TLS when given ssl_context."""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--ports", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--token-prefix", required=True)
    args = parser.parse_args()
    ports = dict(p.split("=") for p in args.ports.split(","))
    context = self_signed_context()
    controllers = []
    common = dict(hostname="127.0.0.1", authenticator=authenticator(args), auth_require_tls=True)
    controllers.append(
        Controller(Handler("25", args), port=int(ports["25"]), tls_context=context,
                   require_starttls=False, auth_required=False, **common)
    )
    controllers.append(
        Controller(Handler("587", args), port=int(ports["587"]), tls_context=context,
                   require_starttls=True, **common)
    )
    # aiosmtpd only counts STARTTLS as TLS for auth_require_tls; on the implicit-TLS port the
    # whole connection is TLS, so AUTH is offered there without that check.
    implicit = dict(common, auth_require_tls=False)
    controllers.append(
        ImplicitTlsController(Handler("465", args), port=int(ports["465"]), ssl_context=context,
                              **implicit)
    )
    for c in controllers:
        c.start()
    print("smtp servers ready", flush=True)
    asyncio.get_event_loop().run_forever()


if __name__ == "__main__":
    main()
