"""``X-Twilio-Signature`` (HMAC-SHA1 over URL + sorted form parameters, Base64), §4.3.

Computed here so the sandbox never imports the twilio SDK; a test checks it with the SDK's
``RequestValidator``.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterable


def compute_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    # Names in order, each name's distinct values in order (what the SDK's validator signs):
    # sorting the distinct (name, value) pairs gives exactly that order.
    payload = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.digest(auth_token.encode(), payload.encode("utf-8"), "sha1")
    return base64.b64encode(digest).decode("ascii")
