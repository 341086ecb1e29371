"""Checking ``X-Twilio-Signature`` fast, and explaining a mismatch.

The signature is HMAC-SHA1 over the URL TaskRouter called plus the sorted form parameters,
keyed with the account's auth token (behaviour doc §4.3). The computation is the twilio SDK's
``RequestValidator.compute_signature``. ``RequestValidator.validate`` would also do, but it
parses the URL and signs twice on every call (≈55 µs against ≈19 µs); here the exact public URL
is signed once, and only on a mismatch do we try what ``validate`` also accepts (the URL with
or without its default port) and then -- for the log's hint only, never to accept -- the URLs
a misconfiguration would have produced (http vs https, another host, the local URL).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def port_variants(url: str) -> list[str]:
    """``url`` with its default port added or removed (what the SDK's ``validate`` accepts)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a Host header such as "evil:abc" or "[::1" makes no URL
        return []
    default = DEFAULT_PORTS.get(parts.scheme)
    if default is None or not parts.hostname:
        return []
    host = parts.netloc.rsplit("@", 1)[-1]
    if port is None:
        netloc = f"{host}:{default}"
    elif port == default:
        netloc = host.rsplit(":", 1)[0]
    else:
        return []
    return [urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))]


def _swap_scheme(url: str) -> str:
    if url.startswith("https://"):
        return "http://" + url[len("https://") :]
    if url.startswith("http://"):
        return "https://" + url[len("http://") :]
    return url


class SignatureChecker:
    """Validates signatures for one auth token (thread-safe; holds no per-request state)."""

    def __init__(self, auth_token: str) -> None:
        from twilio.request_validator import RequestValidator

        self._validator = RequestValidator(auth_token)
        self._compute = self._validator.compute_signature

    def compute(self, url: str, params: Any) -> str:
        return str(self._validator.compute_signature(url, params))

    def matches(self, url: str, params: Any, signature: str) -> bool:
        try:
            expected: str = self._compute(url, params)
        except UnicodeEncodeError:  # undecodable bytes in a header or path: signs nothing
            return False
        return hmac.compare_digest(expected.encode(), signature.encode())

    def check(self, url: str, params: Any, signature: str) -> bool:
        """True when ``signature`` signs ``url`` (with or without its default port)."""
        if self.matches(url, params, signature):
            return True
        return any(self.matches(variant, params, signature) for variant in port_variants(url))

    def explain(self, url: str, params: Any, signature: str, others: Iterable[str]) -> str | None:
        """The first candidate URL the signature would match (for the hint), or None."""
        seen = {url, *port_variants(url)}
        candidates: list[str] = [_swap_scheme(url)]
        candidates.extend(others)
        for candidate in list(candidates):
            candidates.append(_swap_scheme(candidate))
        for candidate in candidates:
            for option in (candidate, *port_variants(candidate)):
                if option in seen:
                    continue
                seen.add(option)
                if self.matches(option, params, signature):
                    return option
        return None


def candidate_urls(
    path_qs: str,
    *,
    host_header: str | None,
    forwarded_proto: str | None,
    local_bases: Sequence[str],
) -> list[str]:
    """URLs a signature may have been made for, other than the configured public one."""
    urls: list[str] = []
    if host_header:
        scheme = (forwarded_proto or "http").split(",")[0].strip() or "http"
        urls.append(f"{scheme}://{host_header}{path_qs}")
    urls.extend(base.rstrip("/") + path_qs for base in local_bases)
    return urls
