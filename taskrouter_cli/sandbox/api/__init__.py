"""The sandbox's HTTP layer: TaskRouter v1 over aiohttp.web, routed and checked by the spec.

``create_app(service)`` builds the application; ``taskrouter_cli.sandbox.server`` runs it.
"""

from taskrouter_cli.sandbox.api.app import MAX_BODY_BYTES, create_app

__all__ = ["MAX_BODY_BYTES", "create_app"]
