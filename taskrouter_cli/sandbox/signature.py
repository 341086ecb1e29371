"""``X-Twilio-Signature`` (HMAC-SHA1 over URL + sorted form parameters, Base64), §4.3.

Computed here so the sandbox never imports the twilio SDK; a test checks it with the SDK's
``RequestValidator``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def compute_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    payload = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    digest = hmac.new(auth_token.encode(), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")
