"""A local Azure Service Bus for Herald's local stack, speaking the REST "Send Message" wire
format on 127.0.0.1: `POST /{queue or topic}/messages` with a shared access signature in
`Authorization`, broker properties as JSON in `BrokerProperties`, custom properties as headers,
and the payload as the body. It answers as Service Bus does: 201 when a message is accepted;
401 for a missing, malformed, expired or wrongly signed token, or one for another resource or
an unknown key name; 404 for an unknown entity; 400 for broken BrokerProperties; each error
with Azure's XML body (`<Error><Code>…</Code><Detail>…</Detail></Error>`).

A token is checked as Microsoft documents it: `sr`, `sig`, `se` and `skn` present; `skn` one of
the entity's keys; `se` (Unix seconds) not passed; `sr` the entity's URI or a prefix of it at a
path segment; `sig` the base64 of HMAC-SHA256, keyed with the key's characters, of the URL-encoded
resource URI (as the token carries it), a line feed and `se`.

Entities with duplicate detection accept a MessageId seen within the window (201) without
storing the message again, and count it.

The tests drive it through a control API:
    PUT    /_control/entities/{entity}  {"keys": {"name": "key"}, "duplicateDetection": true}
    DELETE /_control/entities/{entity}
    GET    /_control/entities/{entity}/messages  -> {"messages": [...], "duplicates": N}
    POST   /_control/entities/{entity}/fail  {"count": N, "status": 503, "retryAfter": "1"}
           (the next N sends to the entity answer that status)

Usage: servicebus.py --port P
"""

import argparse
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, unquote_plus, urlsplit

# Service Bus's default duplicate detection window.
DUPLICATE_WINDOW_SECONDS = 600

# Headers that are part of HTTP or of the Send Message operation, not custom properties.
PROTOCOL_HEADERS = {
    "authorization",
    "content-type",
    "content-length",
    "brokerproperties",
    "host",
    "user-agent",
    "accept",
    "accept-encoding",
    "connection",
    "x-ms-retrypolicy",
}

LOCK = threading.Lock()
ENTITIES = {}


class Refusal(Exception):
    def __init__(self, status, detail):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def check_token(header, resource, keys, now):
    """Raises Refusal(401) unless `header` is a valid SAS token for `resource`."""
    prefix = "SharedAccessSignature "
    if not header:
        raise Refusal(401, "MissingToken: The authorization header was not found.")
    if not header.startswith(prefix):
        raise Refusal(401, "InvalidToken: The token is not a SharedAccessSignature.")
    raw = {}
    for part in header[len(prefix) :].split("&"):
        name, sep, value = part.partition("=")
        if not sep:
            raise Refusal(401, f"InvalidToken: The token has a malformed field {name!r}.")
        raw[name] = value
    for field in ("sr", "sig", "se", "skn"):
        if field not in raw:
            raise Refusal(401, f"InvalidToken: The token has no {field}.")
    key_name = unquote_plus(raw["skn"])
    key = keys.get(key_name)
    if key is None:
        raise Refusal(401, f"InvalidSignature: The key {key_name!r} does not exist for the entity.")
    try:
        expiry = int(raw["se"])
    except ValueError:
        raise Refusal(401, "InvalidToken: The token's se is not a number.") from None
    if expiry <= now:
        raise Refusal(401, "ExpiredToken: The token is expired.")
    audience = unquote_plus(raw["sr"]).rstrip("/").lower()
    target = resource.lower()
    if not (target == audience or target.startswith(audience + "/")):
        raise Refusal(401, f"InvalidAudience: The token is for {audience}, not {resource}.")
    string_to_sign = f"{raw['sr']}\n{raw['se']}".encode()
    expected = base64.b64encode(hmac.new(key.encode(), string_to_sign, hashlib.sha256).digest())
    if not hmac.compare_digest(expected, unquote_plus(raw["sig"]).encode()):
        raise Refusal(401, "InvalidSignature: The token has an invalid signature.")


def property_value(raw):
    """A custom property as Service Bus reads it: a JSON string in quotes is a string."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        print("%s - %s" % (self.address_string(), fmt % args), flush=True)

    def reply(self, status, body=b"", content_type="application/xml; charset=utf-8", headers=None):
        self.send_response(status)
        if body:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, detail, headers=None):
        tracking = uuid.uuid4()
        body = (
            f"<Error><Code>{status}</Code><Detail>{detail} TrackingId:{tracking}</Detail></Error>"
        ).encode()
        self.reply(status, body, headers=headers)

    def json_reply(self, status, value):
        self.reply(status, json.dumps(value).encode(), "application/json")

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def path_only(self):
        return unquote(urlsplit(self.path).path)

    # The control API.

    def control(self, method, rest):
        if not rest.startswith("entities/"):
            return self.json_reply(404, {"error": "unknown control path"})
        rest = rest[len("entities/") :]
        for suffix, handler in (("/messages", self.list_messages), ("/fail", self.fail_next)):
            if rest.endswith(suffix):
                return handler(method, rest[: -len(suffix)])
        entity = rest
        if method == "PUT":
            spec = json.loads(self.body() or b"{}")
            with LOCK:
                ENTITIES[entity] = {
                    "keys": dict(spec.get("keys", {})),
                    "duplicate_detection": bool(spec.get("duplicateDetection", True)),
                    "messages": [],
                    "duplicates": 0,
                    "seen": {},
                    "fail": [],
                }
            return self.json_reply(201, {"entity": entity})
        if method == "DELETE":
            with LOCK:
                ENTITIES.pop(entity, None)
            return self.reply(204)
        return self.json_reply(405, {"error": "PUT or DELETE"})

    def list_messages(self, method, entity):
        with LOCK:
            e = ENTITIES.get(entity)
            if e is None:
                return self.json_reply(404, {"error": "no such entity"})
            return self.json_reply(
                200, {"messages": list(e["messages"]), "duplicates": e["duplicates"]}
            )

    def fail_next(self, method, entity):
        spec = json.loads(self.body() or b"{}")
        with LOCK:
            e = ENTITIES.get(entity)
            if e is None:
                return self.json_reply(404, {"error": "no such entity"})
            e["fail"].extend(
                [(int(spec.get("status", 503)), spec.get("retryAfter"))] * int(spec.get("count", 1))
            )
        return self.json_reply(200, {"failing": int(spec.get("count", 1))})

    # Service Bus.

    def send_message(self, entity):
        payload = self.body()
        host = self.headers.get("Host", "")
        resource = f"http://{host}/{quote(entity, safe='/')}"
        with LOCK:
            e = ENTITIES.get(entity)
            if e is None:
                return self.error(
                    404,
                    f"The messaging entity '{resource}' could not be found. To know more visit "
                    "https://aka.ms/sbResourceMgrExceptions.",
                )
            keys = dict(e["keys"])
        try:
            check_token(self.headers.get("Authorization"), resource, keys, int(time.time()))
        except Refusal as r:
            return self.error(r.status, r.detail)
        try:
            broker = json.loads(self.headers.get("BrokerProperties") or "{}")
            if not isinstance(broker, dict):
                raise ValueError("not an object")
        except ValueError:
            return self.error(400, "The value of the BrokerProperties header is not valid JSON.")
        properties = {}
        raw_properties = {}
        for name, value in self.headers.items():
            # HTTP header names carry no case (HTTP/2 and most clients send them in lower case).
            name = name.lower()
            if name not in PROTOCOL_HEADERS:
                raw_properties[name] = value
                properties[name] = property_value(value)
        with LOCK:
            e = ENTITIES.get(entity)
            if e is None:
                return self.error(404, f"The messaging entity '{resource}' could not be found.")
            if e["fail"]:
                status, retry_after = e["fail"].pop(0)
                headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
                return self.error(status, "The server is busy. Please retry.", headers)
            message_id = broker.get("MessageId")
            now = time.time()
            if e["duplicate_detection"] and message_id is not None:
                seen = e["seen"].get(message_id)
                if seen is not None and now - seen < DUPLICATE_WINDOW_SECONDS:
                    e["duplicates"] += 1
                    return self.reply(201)
                e["seen"][message_id] = now
            e["messages"].append(
                {
                    "brokerProperties": broker,
                    "customProperties": properties,
                    "rawCustomProperties": raw_properties,
                    "contentType": self.headers.get("Content-Type"),
                    "body": payload.decode("utf-8", "replace"),
                    "bodyBase64": base64.b64encode(payload).decode(),
                }
            )
        return self.reply(201)

    def route(self, method):
        path = self.path_only()
        if path.startswith("/_control/"):
            return self.control(method, path[len("/_control/") :])
        if method == "POST" and path.endswith("/messages") and len(path) > len("//messages"):
            return self.send_message(path[1 : -len("/messages")])
        self.body()
        return self.error(404, f"No such resource: {path}.")

    def do_GET(self):
        self.route("GET")

    def do_PUT(self):
        self.route("PUT")

    def do_POST(self):
        self.route("POST")

    def do_DELETE(self):
        self.route("DELETE")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"Service Bus on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
