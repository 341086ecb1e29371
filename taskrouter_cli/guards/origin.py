"""Host and Origin checks for control endpoints that trust a loopback caller.

A web page the user opens can send requests to ``http://127.0.0.1:PORT`` (a "simple" form POST
needs no preflight), and through DNS rebinding it can even read the answers: its requests then
carry ``Host: evil.example``. So a control endpoint that answers loopback callers without
credentials must also refuse

* any ``Origin`` other than its own (``http://`` + the loopback Host it was called with) --
  browsers send ``Origin`` on cross-site POSTs and on every fetch/XHR; ``Origin: null``
  (sandboxed frames, files) is refused too; command-line clients send none;
* any ``Host`` that is not a loopback name or address (``localhost``, ``*.localhost``,
  ``127.0.0.0/8``, ``::1``), since a rebound name is the attacker's.

:func:`local_request_refusal` returns the reason to refuse, or None; it takes header strings,
so any server (aiohttp.web handler or low-level) can use it.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def split_host(host_header: str) -> str:
    """The host part of a ``Host`` header value (port and IPv6 brackets removed), lower-cased."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def is_loopback_address(address: str | None) -> bool:
    """True for a loopback IP address (``127.0.0.0/8``, ``::1``, IPv4-mapped), else False."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def is_loopback_name(host: str) -> bool:
    """True for ``localhost``, a ``*.localhost`` name or a loopback address."""
    return host == "localhost" or host.endswith(".localhost") or is_loopback_address(host)


def is_loopback_host(host_header: str | None) -> bool:
    """True when a ``Host`` header names this machine's loopback interface."""
    return bool(host_header) and is_loopback_name(split_host(host_header or ""))


def is_loopback_bind(host: str) -> bool:
    """True when binding ``host`` listens on loopback only (``0.0.0.0``/``::``/"" are not)."""
    return is_loopback_name(split_host(host)) if host else False


def same_origin(origin: str, host_header: str) -> bool:
    """True when ``origin`` is ``http(s)://`` + the Host the request was sent to."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host_header.lower()


def local_request_refusal(host_header: str | None, origin: str | None) -> str | None:
    """Why a request to a loopback-only control endpoint must be refused, or None."""
    if not is_loopback_host(host_header):
        return (
            f"Host {host_header!r} is not a loopback name or address; control endpoints "
            "answer only requests addressed to 127.0.0.1, ::1 or localhost"
        )
    if origin is not None and not same_origin(origin, host_header or ""):
        return (
            f"Origin {origin!r} is not this server's own; control endpoints refuse requests "
            "made by web pages from other sites"
        )
    return None


def describe_bind(host: str, port: int) -> str:
    """The address a server bound, as its banner says it: ``0.0.0.0:8080 (every IPv4
    interface: reachable from the network)`` or ``127.0.0.1:8080 (loopback only)``."""
    shown = f"[{host}]:{port}" if ":" in host else f"{host or '0.0.0.0'}:{port}"
    if is_loopback_bind(host):
        return f"{shown} (loopback only)"
    if host in ("", "0.0.0.0"):
        return f"{shown} (every IPv4 interface: reachable from the network)"
    if host == "::":
        return f"{shown} (every interface: reachable from the network)"
    return f"{shown} (reachable from the network)"
