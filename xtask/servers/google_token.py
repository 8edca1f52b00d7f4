"""A Google OAuth token endpoint for local runs and tests.

It makes one service-account key at start and writes it, as Google Cloud's console downloads
it, to --key-file; its `token_uri` is this server. It answers the JWT-bearer grant as
https://oauth2.googleapis.com/token does: the assertion is verified with google-auth (RS256
signature against the key named by `kid`, `aud` = this endpoint, `iat`/`exp`), `iss` and `sub`
must be a service account's address and `scope` must be granted. Any service-account address
is accepted with the key, so that tests can give each subscription an account of its own (and so
a token of its own in Herald's cache).

POST /control/unavailable {"clientEmail": ..., "status": 503, "times": 1} makes the next
`times` token requests of that account answer `status`.
"""

import argparse
import json
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import exceptions, jwt

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPES = {
    "https://www.googleapis.com/auth/pubsub",
    "https://www.googleapis.com/auth/cloud-platform",
}
ACCOUNT_DOMAIN = ".iam.gserviceaccount.com"
LIFETIME = 3600


def make_key(token_uri):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = uuid.uuid4().hex
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        private.public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode()
    )
    key = {
        "type": "service_account",
        "project_id": "herald-local",
        "private_key_id": kid,
        "private_key": pem,
        "client_email": "herald-publisher@herald-local" + ACCOUNT_DOMAIN,
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    }
    return key, {kid: public}


class State:
    def __init__(self, certs, token_uri):
        self.certs = certs
        self.token_uri = token_uri
        self.lock = threading.Lock()
        # client_email -> [status, times]
        self.unavailable = {}

    def take_unavailable(self, email):
        with self.lock:
            entry = self.unavailable.get(email)
            if not entry:
                return None
            entry[1] -= 1
            if entry[1] <= 0:
                del self.unavailable[email]
            return entry[0]


def refusal(description):
    return 400, {"error": "invalid_grant", "error_description": description}


def grant(state, form):
    if form.get("grant_type") != [GRANT_TYPE]:
        return 400, {
            "error": "unsupported_grant_type",
            "error_description": "Invalid grant_type.",
        }
    assertion = (form.get("assertion") or [""])[0]
    try:
        header = jwt.decode_header(assertion)
    except (ValueError, exceptions.GoogleAuthError):
        return refusal("Invalid JWT: not a JWT.")
    if header.get("alg") != "RS256":
        return refusal("Invalid JWT Signature.")
    if header.get("kid") not in state.certs:
        return refusal("Invalid JWT Signature.")
    try:
        claims = jwt.decode(assertion, certs=state.certs, audience=state.token_uri)
    except (ValueError, exceptions.GoogleAuthError) as e:
        return refusal(f"Invalid JWT: {e}")
    email = claims.get("iss")
    if not isinstance(email, str) or not email.endswith(ACCOUNT_DOMAIN):
        return refusal("Invalid JWT: iss is not a service account.")
    if claims.get("sub", email) != email:
        return refusal("Invalid JWT: sub must be the service account.")
    if claims.get("exp", 0) - claims.get("iat", 0) > LIFETIME:
        return refusal("Invalid JWT: Token must be a short-lived token (60 minutes).")
    scopes = set(str(claims.get("scope", "")).split())
    if not scopes or not scopes <= SCOPES:
        return 400, {
            "error": "invalid_scope",
            "error_description": "Invalid OAuth scope or ID token audience provided.",
        }
    status = state.take_unavailable(email)
    if status is not None:
        return status, {"error": "internal_failure", "error_description": "Try again."}
    return 200, {
        "access_token": "ya29.local-" + uuid.uuid4().hex,
        "expires_in": LIFETIME - 1,
        "token_type": "Bearer",
    }


def handler(state):
    class Handler(BaseHTTPRequestHandler):
        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length).decode()

        def do_POST(self):
            if self.path == "/token":
                form = urllib.parse.parse_qs(self.body())
                self.answer(*grant(state, form))
            elif self.path == "/control/unavailable":
                wanted = json.loads(self.body())
                with state.lock:
                    state.unavailable[wanted["clientEmail"]] = [
                        int(wanted.get("status", 503)),
                        int(wanted.get("times", 1)),
                    ]
                self.answer(200, {})
            else:
                self.answer(404, {"error": "not_found"})

        def do_GET(self):
            self.answer(200, {"tokenUri": state.token_uri})

        def log_message(self, fmt, *args):
            sys.stderr.write(
                "%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args)
            )

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key-file", required=True)
    args = parser.parse_args()
    token_uri = f"http://127.0.0.1:{args.port}/token"
    key, certs = make_key(token_uri)
    with open(args.key_file, "w") as f:
        json.dump(key, f, indent=2)
    state = State(certs, token_uri)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(state))
    server.serve_forever()


if __name__ == "__main__":
    main()
