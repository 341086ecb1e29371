"""Control endpoints under ``/sandbox`` (never under ``/v1``): health, inspector, clock, reset.

=============================  ==============================================================
``GET  /sandbox/health``       ``{"status": "ok", "account_sid", "fake_clock", "now"}``; no auth
``GET  /sandbox/callbacks``    the delivery inspector: ``{"deliveries": [...]}`` newest last;
                               ``?limit=N`` keeps the last N
``POST /sandbox/clock/advance`` ``seconds=N`` (form or query): run the routing already due,
                               advance the FakeClock, then run due timers
                               (``service.tick()``); 409 on the system clock
``GET|POST /sandbox/settle``   wait until routing has settled (every routing job a write made
                               due has run, every callback it set off has finished);
                               ``timeout=S`` (default 10, at most 60) →
                               ``{"settled": true|false}``
``POST /sandbox/reset``        empty every workspace (credentials stay); ``seed=true`` re-seeds
                               the quickstart workspace
=============================  ==============================================================

Auth (a decision, not a TaskRouter fact): requests from a loopback address need none, since the
sandbox binds 127.0.0.1 by default and these are test and tutorial controls; requests from any
other address need the same Basic credentials as ``/v1``. ``/sandbox/health`` never needs auth.

Web pages: a page the user opens in a browser can POST to loopback, and with DNS rebinding read
the answer. So callbacks, clock and reset refuse (403) any ``Origin`` that is not the sandbox's
own, and, without credentials, any ``Host`` that is not a loopback name or address
(:mod:`taskrouter_cli.guards.origin`).
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from taskrouter_cli.guards.origin import (
    is_loopback_address,
    local_request_refusal,
    same_origin,
)
from taskrouter_cli.sandbox.api.auth import unauthorized
from taskrouter_cli.sandbox.api.errors import HttpError, bad_request
from taskrouter_cli.sandbox.api.params import decode_form, decode_query
from taskrouter_cli.sandbox.api.responses import (
    CALL_KEY,
    SERVICE_KEY,
    authenticated,
    json_response,
    read_body,
)
from taskrouter_cli.sandbox.api.serialize import format_datetime, jsonable

FORBIDDEN = 20403


def require_control_access(request: web.Request) -> None:
    origin = request.headers.get("Origin")
    host = request.headers.get("Host")
    if authenticated(request):
        if origin is not None and not same_origin(origin, host or ""):
            raise HttpError(403, FORBIDDEN, local_request_refusal(host, origin) or "Forbidden")
        return
    if not is_loopback_address(request.remote):
        raise unauthorized()
    refusal = local_request_refusal(host, origin)
    if refusal is not None:
        raise HttpError(403, FORBIDDEN, refusal)


def fake_clock(service: Any) -> Any | None:
    """The service's clock if it can be advanced (a FakeClock), else None."""
    clock = getattr(service, "clock", None)
    return clock if callable(getattr(clock, "advance", None)) else None


async def health(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    clock = getattr(service, "clock", None)
    now = clock.now() if clock is not None else None
    return json_response(
        {
            "status": "ok",
            "account_sid": service.account_sid,
            "fake_clock": fake_clock(service) is not None,
            "now": format_datetime(now) if now is not None else None,
        }
    )


async def callbacks(request: web.Request) -> web.Response:
    require_control_access(request)
    limit: int | None = None
    raw = request.query.get("limit")
    if raw is not None:
        if not raw.isdigit() or int(raw) < 1:
            raise bad_request(
                f"Invalid value '{raw}' for parameter limit: expected an integer >= 1"
            )
        limit = int(raw)
    deliveries = await request.app[CALL_KEY](request.app[SERVICE_KEY].deliveries, limit)
    return json_response({"deliveries": jsonable(list(deliveries))})


async def _form(request: web.Request) -> dict[str, str]:
    pairs = decode_query(request.query_string) + decode_form(await read_body(request))
    return dict(pairs)


async def advance_clock(request: web.Request) -> web.Response:
    require_control_access(request)
    service = request.app[SERVICE_KEY]
    clock = fake_clock(service)
    if clock is None:
        raise HttpError(
            409,
            409,
            "The sandbox runs on the system clock; /sandbox/clock/advance only works when it "
            "was started with --time-travel (or a FakeClock, as the test fixture does)",
        )
    form = await _form(request)
    raw = form.get("seconds", form.get("Seconds"))
    if raw is None:
        raise bad_request("Missing required parameter seconds")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise bad_request(
            f"Invalid value '{raw}' for parameter seconds: expected a number of seconds >= 0"
        )
    call = request.app[CALL_KEY]
    route_now = getattr(service, "route_now", None)
    if callable(route_now):  # routing already due happens before the time moves
        await call(route_now)
    now = clock.advance(seconds)
    await call(service.tick)
    return json_response({"advanced": seconds, "now": format_datetime(now)})


SETTLE_TIMEOUT = 10.0
MAX_SETTLE_TIMEOUT = 60.0


async def settle(request: web.Request) -> web.Response:
    require_control_access(request)
    service = request.app[SERVICE_KEY]
    raw = (await _form(request)).get("timeout")
    timeout = SETTLE_TIMEOUT
    if raw is not None:
        try:
            timeout = float(raw)
        except ValueError:
            timeout = math.nan
        if not math.isfinite(timeout) or not 0 <= timeout <= MAX_SETTLE_TIMEOUT:
            raise bad_request(
                f"Invalid value '{raw}' for parameter timeout: expected seconds from 0 to "
                f"{MAX_SETTLE_TIMEOUT:g}"
            )
    settled = await service.settle_async(timeout)
    return json_response({"settled": bool(settled)})


async def reset(request: web.Request) -> web.Response:
    require_control_access(request)
    service = request.app[SERVICE_KEY]
    form = await _form(request)
    seed = form.get("seed", "false").strip().lower() in ("true", "1", "yes")
    call = request.app[CALL_KEY]
    await call(service.reset)
    if seed:
        await call(service.seed_quickstart)
    return json_response({"reset": True, "seeded": seed})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/sandbox/health", health)
    app.router.add_get("/sandbox/callbacks", callbacks)
    app.router.add_post("/sandbox/clock/advance", advance_clock)
    app.router.add_post("/sandbox/reset", reset)
    app.router.add_get("/sandbox/settle", settle)
    app.router.add_post("/sandbox/settle", settle)
