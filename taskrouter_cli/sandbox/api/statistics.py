"""HTTP side of the ``*Statistics`` operations: parameters in, statistics bodies out.

GET operations take their query (checked against the spec by ``params.py``); the list
``TaskQueues/Statistics`` pages like every list. The bulk ``POST TaskQueues/RealTimeStatistics``
takes a JSON body (what the twilio SDK sends): ``{"TaskQueueSids": ["WQ…", …]}`` (1 to 50).
UNCONFIRMED: the spec does not name the body's key; ``task_queue_sids`` is accepted as well, and
so is the form-encoded ``TaskQueueSids=WQ…&TaskQueueSids=WQ…``.
"""

from __future__ import annotations

import json
from typing import Any

from taskrouter_cli.sandbox.api.errors import HttpError, bad_request
from taskrouter_cli.sandbox.api.exchange import ApiRequest, ApiResponse, json_answer
from taskrouter_cli.sandbox.api.params import coerce_params, decode_form, decode_query, paging
from taskrouter_cli.sandbox.api.serialize import jsonable, page_url
from taskrouter_cli.sandbox.api.spec import PAGING_PARAMS, Operation

BULK_KEYS = ("TaskQueueSids", "task_queue_sids")
SUBJECT_PARAMS = ("TaskQueueSid", "WorkflowSid", "WorkerSid")


def bulk_queue_sids(request: ApiRequest) -> Any:
    """The TaskQueue SIDs of a bulk request body (validated by the service)."""
    if request.query_string:
        raise bad_request("Parameters of this POST go in its body, not in the query string")
    raw = request.body
    if request.content_type == "application/x-www-form-urlencoded":
        pairs = decode_form(raw)
        unknown = [name for name, _ in pairs if name not in BULK_KEYS]
        if unknown:
            raise bad_request(f"Unknown parameter {unknown[0]}: send TaskQueueSids")
        return [value for _, value in pairs] or None
    if request.content_type != "application/json":
        raise HttpError(
            415,
            20001,
            f"Unsupported Content-Type '{request.content_type or 'none'}': send a JSON body "
            '{"TaskQueueSids": [...]}',
        )
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        raise bad_request("The request body is not valid JSON") from None
    if not isinstance(body, dict) or not any(key in body for key in BULK_KEYS):
        raise bad_request('The request body must be a JSON object {"TaskQueueSids": [...]}')
    unknown = [key for key in body if key not in BULK_KEYS]
    if unknown:
        raise bad_request(f"Unknown key {unknown[0]!r} in the request body: send TaskQueueSids")
    return next(body[key] for key in BULK_KEYS if key in body)


def statistics_answer(
    service: Any, request: ApiRequest, operation: Operation, values: dict[str, str]
) -> ApiResponse:
    target = operation.statistics
    assert target is not None
    scope = {"workspace_sid": values["WorkspaceSid"]}
    sid = next((values[name] for name in SUBJECT_PARAMS if name in values), None)
    base = request.base_url
    if operation.method == "POST":
        params = {"task_queue_sids": bulk_queue_sids(request)}
        body = service.statistics(target, scope, None, params)
        return json_answer({**jsonable(body), "url": base + request.path})
    pairs = decode_query(request.query_string)
    if operation.list_key is None:
        params = coerce_params(operation, pairs)
        body = service.statistics(target, scope, sid, params)
        return json_answer({**jsonable(body), "url": base + request.path})
    size, _page, token = paging(operation, pairs)
    params = coerce_params(operation, pairs, skip=PAGING_PARAMS)
    result = service.statistics(target, scope, None, params, size, token)
    query = [(k, v) for k, v in pairs if k not in PAGING_PARAMS]

    def url(number: int, page_token: str | None) -> str:
        return page_url(
            base, request.path, query, page_size=size, page=number, page_token=page_token
        )

    key = operation.list_key
    return json_answer(
        {
            key: jsonable(result.records),
            "meta": {
                "page": result.page,
                "page_size": size,
                "first_page_url": url(0, None),
                "previous_page_url": (
                    url(max(result.page - 1, 0), result.previous_page_token)
                    if result.previous_page_token
                    else None
                ),
                "next_page_url": (
                    url(result.page + 1, result.next_page_token) if result.next_page_token else None
                ),
                "url": url(result.page, token),
                "key": key,
            },
        }
    )
