"""A real DNS server for Herald's local stack (dnslib), standing in for the public DNS that
holds customers' sending-domain records. Authoritative over UDP and TCP on 127.0.0.1.

Zones are JSON files in the directory given as --zones, one per domain, read on every query so
that a test "publishes" a record by writing the file:

    <dir>/acme.com.json = {"records": [
        {"name": "hd._domainkey.acme.com", "type": "TXT", "value": "v=DKIM1; k=rsa; p=..."},
        {"name": "bounce.acme.com", "type": "MX", "preference": 10, "host": "feedback-smtp..."}]}

A TXT record gives its text as "value" (split into strings of 255 bytes, as DNS hosting providers
do) or as the "strings" to serve (each longer one split the same way).
A name under a zone with no record of the asked type answers NOERROR with no records; a name
in no zone file, NXDOMAIN. Every answer has a TTL of a day, so a resolver that cached would miss
records published later. Usage: dns.py --port P --zones DIR
"""

import argparse
import json
import os
import time

from dnslib import MX, QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSServer

TTL = 86400


def character_strings(record):
    """A TXT record's strings as DNS carries them: at most 255 bytes each. A longer value (a
    2048-bit DKIM key is about 400 characters) is split as DNS hosting providers split it, and
    a resolver joins the pieces back. `strings` gives them as stored; `value`, one long text."""
    strings = record.get("strings")
    if strings is None:
        strings = [record.get("value", "")]
    out = []
    for s in strings:
        data = s.encode()
        out.extend(data[i : i + 255] for i in range(0, len(data), 255))
    return out or [b""]


class ZoneFiles(BaseResolver):
    def __init__(self, directory):
        self.directory = directory

    def zones(self):
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return {}
        out = {}
        for name in names:
            if not name.endswith(".json"):
                continue
            try:
                with open(os.path.join(self.directory, name)) as f:
                    out[name[: -len(".json")].lower()] = json.load(f).get("records", [])
            except (OSError, ValueError):
                continue
        return out

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        zones = self.zones()
        zone = next((z for z in zones if qname == z or qname.endswith("." + z)), None)
        if zone is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        found_name = False
        for record in zones[zone]:
            if record.get("name", "").rstrip(".").lower() != qname:
                continue
            found_name = True
            if record.get("type") != qtype:
                continue
            if qtype == "TXT":
                rdata = TXT(character_strings(record))
            elif qtype == "MX":
                rdata = MX(record["host"], record.get("preference", 10))
            else:
                continue
            reply.add_answer(RR(request.q.qname, request.q.qtype, rdata=rdata, ttl=TTL))
        if not found_name:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--zones", required=True)
    args = parser.parse_args()
    os.makedirs(args.zones, exist_ok=True)
    resolver = ZoneFiles(args.zones)
    servers = [
        DNSServer(resolver, port=args.port, address="127.0.0.1", tcp=False),
        DNSServer(resolver, port=args.port, address="127.0.0.1", tcp=True),
    ]
    for s in servers:
        s.start_thread()
    print("dns server ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
