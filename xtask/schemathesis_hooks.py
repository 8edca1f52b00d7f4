"""Schemathesis hooks of `cargo xtask test` (loaded by xtask/schemathesis.toml).

publishEvent's `expiresAt` must be later than now: a rule against the clock, which no schema
can state, so a generated date-time already past (the generator favours 2000-01-01) is moved to
HERALD_SCHEMATHESIS_EXPIRES_AT, a day ahead. Values that are not date-times are left alone:
they are the invalid requests the run checks Herald refuses.
"""

import os
from datetime import datetime, timezone

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.definition.raw.get("operationId") != "publishEvent":
        return
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("expiresAt"), str):
        return
    try:
        at = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00"))
    except ValueError:
        return
    if at.tzinfo is not None and at <= datetime.now(timezone.utc):
        body["expiresAt"] = os.environ["HERALD_SCHEMATHESIS_EXPIRES_AT"]
