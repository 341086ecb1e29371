"""TaskRouter v1 from the spec: :class:`V1Api` turns an :class:`ApiRequest` into an
:class:`ApiResponse` without awaiting and without aiohttp (the sandbox's HTTP front serves it
before aiohttp is imported; ``app.py`` adapts it to aiohttp's application).

Request flow (see :meth:`V1Api.respond`):

1. HTTP Basic auth against ``service.authenticate`` (``auth.py``) → else 401/20003
   ``Authenticate``;
2. the path is matched against the spec's paths (literal segments win over ``{Sid}``) → else
   404/20404; a path SID that does not match its pattern → 404/20404 too (as TaskRouter does);
3. the method must be one the spec lists for the path → else 405/20004 with ``Allow``;
4. operations the sandbox does not implement → 501 with a message saying so (none today);
   the ``*Statistics`` operations go to ``statistics.py``;
5. parameters (query for GET, form body for POST) are checked and coerced (``params.py``);
6. the service is called; records are rendered with absolute ``url``/``links`` (``serialize.py``).

Errors never escape as tracebacks: :class:`HttpError` and the service's ``TaskRouterError`` become
Twilio's error body; anything unexpected becomes a generic 500 and the traceback is logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from functools import partial
from typing import Any, TypeVar

from taskrouter_cli.sandbox.api.auth import authorized, unauthorized
from taskrouter_cli.sandbox.api.errors import METHOD_NOT_ALLOWED, HttpError, bad_request, not_found
from taskrouter_cli.sandbox.api.exchange import (
    ApiRequest,
    ApiResponse,
    error_answer,
    http_error_answer,
    internal_error_answer,
    json_answer,
)
from taskrouter_cli.sandbox.api.params import coerce_params, decode_form, decode_query, paging
from taskrouter_cli.sandbox.api.serialize import render_list, render_record
from taskrouter_cli.sandbox.api.spec import PAGING_PARAMS, Operation, load_spec
from taskrouter_cli.sandbox.api.statistics import statistics_answer
from taskrouter_cli.sandbox.errors import TaskRouterError
from taskrouter_cli.sandbox.group_commit import GroupCommit

log = logging.getLogger("taskrouter_cli.sandbox.api")

MAX_BODY_BYTES = 2 * 1024 * 1024
"""Largest accepted request body: a 1 MB workflow configuration, form-encoded, fits."""

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
SCOPE_PARAMS = {"WorkspaceSid": "workspace_sid", "TaskSid": "task_sid", "WorkerSid": "worker_sid"}

T = TypeVar("T")


def read_form(request: ApiRequest, operation: Operation) -> list[tuple[str, str]]:
    if request.query_string:
        raise bad_request(
            f"Unknown parameter {request.first_query_name()} in the query string: "
            f"{operation.method} parameters go in the form-encoded body"
        )
    body = request.body
    if not body:
        return []
    if request.content_type != FORM_CONTENT_TYPE:
        raise HttpError(
            415,
            20001,
            f"Unsupported Content-Type '{request.content_type or 'none'}': "
            f"send the parameters as {FORM_CONTENT_TYPE}",
        )
    return decode_form(body)


def check_path(operation: Operation, values: dict[str, str], path: str) -> None:
    from taskrouter_cli.sandbox.api.params import _compiled

    for name, value in values.items():
        pattern = operation.path_patterns.get(name)
        if pattern and not _compiled(pattern).match(value):
            raise not_found(path)


class V1Api:
    """TaskRouter v1 for one service: :meth:`respond` turns an :class:`ApiRequest` into an
    :class:`ApiResponse` on the calling thread. It never raises: :class:`HttpError` and the
    service's ``TaskRouterError`` become Twilio's error body, anything unexpected a generic 500
    (the traceback goes to the log). The caller waits for the group commit before sending the
    answer (what the service wrote, or read, must be committed first)."""

    def __init__(self, service: Any) -> None:
        self.service = service
        load_spec()

    def respond(self, request: ApiRequest) -> ApiResponse:
        try:
            return self._respond(request)
        except HttpError as exc:
            return http_error_answer(exc)
        except TaskRouterError as exc:
            return error_answer(exc.status, exc.code, exc.message)
        except Exception:
            log.exception("unexpected error handling %s %s", request.method, request.path)
            return internal_error_answer()

    def _respond(self, request: ApiRequest) -> ApiResponse:
        path = request.path
        if not authorized(request.headers.get("Authorization", ""), self.service):
            raise unauthorized()
        found = load_spec().match(path)
        if found is None:
            raise not_found(path)
        template, values = found
        method = "GET" if request.method == "HEAD" else request.method
        operation = template.operations.get(method)
        if operation is None:
            allow = ", ".join(sorted(template.operations))
            raise HttpError(
                405,
                METHOD_NOT_ALLOWED,
                f"Method {request.method} not allowed on {path} (allowed: {allow})",
                headers={"Allow": allow},
            )
        check_path(operation, values, path)
        if not operation.implemented:
            raise HttpError(
                501,
                501,
                f"The sandbox does not implement {operation.operation_id} "
                f"({operation.method} {operation.path}); use a live TaskRouter account for it",
            )
        if operation.statistics is not None:
            return statistics_answer(self.service, request, operation, values)
        return self._dispatch(request, operation, values)

    def _dispatch(
        self, request: ApiRequest, operation: Operation, values: dict[str, str]
    ) -> ApiResponse:
        service = self.service
        kind = operation.kind
        assert kind is not None
        scope = {SCOPE_PARAMS[k]: v for k, v in values.items() if k in SCOPE_PARAMS}
        sid = values.get("Sid")
        worker_view = "worker_sid" in scope
        base = request.base_url
        if_match = request.headers.get("If-Match") if "If-Match" in operation.headers else None

        if operation.action == "list":
            pairs = decode_query(request.query_string)
            size, page, token = paging(operation, pairs)
            filters = coerce_params(operation, pairs, skip=PAGING_PARAMS)
            result = service.list(kind, scope, filters, size, token)
            filters_query = [(k, v) for k, v in pairs if k not in PAGING_PARAMS]
            assert operation.list_key is not None
            body = render_list(
                kind,
                operation.list_key,
                result.records,
                base_url=base,
                path=request.path,
                filters_query=filters_query,
                page_size=size,
                page=getattr(result, "page", page),
                page_token=token,
                next_page_token=result.next_page_token,
                previous_page_token=result.previous_page_token,
                worker_view=worker_view,
            )
            return json_answer(body)
        if operation.action == "delete":
            if request.query_string:
                raise bad_request(f"Unknown parameter {request.first_query_name()} for DELETE")
            service.delete(kind, scope, sid, if_match=if_match)
            return ApiResponse(204)
        if operation.action == "fetch":
            if request.query_string:
                raise bad_request(
                    f"Unknown parameter {request.first_query_name()} for GET {request.path}"
                )
            record = service.fetch(kind, scope, sid)
            status = 200
        else:
            params = coerce_params(operation, read_form(request, operation))
            if operation.action == "create":
                record = service.create(kind, scope, params)
            elif "If-Match" in operation.headers:
                record = service.update(kind, scope, sid, params, if_match=if_match)
            else:
                record = service.update(kind, scope, sid, params)
            status = operation.success_status
        # The ETag header is on Tasks, the only resource TaskRouter documents it for (GET, POST).
        headers = None
        if kind == "task":
            headers = {"ETag": str(service.etag(kind, scope, record["sid"]))}
        return json_answer(
            render_record(kind, record, base, worker_view=worker_view), status, headers
        )


def make_caller(
    executor: Executor | None, group: GroupCommit | None = None
) -> Callable[..., Awaitable[Any]]:
    """How handlers call the service: on the loop (or ``executor``), and -- with a group
    commit -- returning only once what the call wrote (or read) is committed."""

    async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if executor is None:
            result = fn(*args, **kwargs)
        else:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(executor, partial(fn, *args, **kwargs))
        if group is not None:
            await group.durable()
        return result

    return call
