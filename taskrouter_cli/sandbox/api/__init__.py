"""The sandbox's HTTP layer: TaskRouter v1 routed and checked by the spec (``v1.py``), served by
the sandbox's own HTTP/1.1 front (``front.py``) and by an aiohttp application (``app.py``: the
controls, and what the front hands over).

``create_app(service)`` builds the application (aiohttp is imported only then);
``taskrouter_cli.sandbox.server`` runs it.
"""

from __future__ import annotations

from typing import Any

from taskrouter_cli.sandbox.api.v1 import MAX_BODY_BYTES

__all__ = ["MAX_BODY_BYTES", "create_app"]


def create_app(service: Any, **options: Any) -> Any:
    """:func:`taskrouter_cli.sandbox.api.app.create_app` (imports aiohttp)."""
    from taskrouter_cli.sandbox.api.app import create_app as create

    return create(service, **options)
