"""Paging: the SDK's stream()/list()/page() follow the sandbox's meta.next_page_url."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.sandbox_api.util import Raw


def make_workers(ws: Any, count: int) -> list[str]:
    return [
        ws.workers.create(friendly_name=f"w{i:03d}", attributes=json.dumps({"n": i})).sid
        for i in range(count)
    ]


def test_stream_and_list_cross_pages(sandbox: Any, sdk_client: Any) -> None:
    ws = sdk_client.taskrouter.v1.workspaces(sandbox.workspace_sid)
    created = make_workers(ws, 23)
    before = len(sdk_client.http_client.checked)
    streamed = [w.sid for w in ws.workers.stream(page_size=5)]
    pages_fetched = len(sdk_client.http_client.checked) - before
    assert set(created) <= set(streamed)
    assert len(streamed) == len(set(streamed)) == 25  # + Alice and Bob
    assert pages_fetched == 5

    limited = ws.workers.list(limit=7)
    assert len(limited) == 7
    assert [w.sid for w in ws.workers.list(limit=12, page_size=5)] == streamed[:12]

    first = ws.workers.page(page_size=10)
    assert len(list(first)) == 10
    second = first.next_page()
    assert len(list(second)) == 10
    third = second.next_page()
    assert len(list(third)) == 5
    assert third.next_page() is None


def test_meta_urls_point_back_at_the_sandbox(sandbox: Any) -> None:
    raw = Raw(sandbox.base_url, sandbox.account_sid, sandbox.auth_token)
    path = f"/v1/Workspaces/{sandbox.workspace_sid}/Activities"
    body = raw.get(path + "?PageSize=2&Available=false").json()
    meta = body["meta"]
    assert meta["key"] == "activities" and meta["page"] == 0 and meta["page_size"] == 2
    assert len(body["activities"]) == 2
    assert all(a["available"] is False for a in body["activities"])
    assert meta["previous_page_url"] is None
    for name in ("url", "first_page_url", "next_page_url"):
        parts = urlsplit(meta[name])
        assert f"{parts.scheme}://{parts.netloc}" == sandbox.base_url
        assert parts.path == path
        assert parse_qs(parts.query)["Available"] == ["false"]
    following = raw.get(meta["next_page_url"].removeprefix(sandbox.base_url)).json()
    assert following["meta"]["page"] == 1
    assert following["meta"]["previous_page_url"] is not None
    seen = {a["sid"] for a in body["activities"]}
    assert not seen & {a["sid"] for a in following["activities"]}


def test_channels_list_key(sandbox: Any) -> None:
    raw = Raw(sandbox.base_url, sandbox.account_sid, sandbox.auth_token)
    body = raw.get(f"/v1/Workspaces/{sandbox.workspace_sid}/TaskChannels").json()
    assert body["meta"]["key"] == "channels" and body["channels"]
    worker = raw.get(f"/v1/Workspaces/{sandbox.workspace_sid}/Workers").json()["workers"][0]
    body = raw.get(f"/v1/Workspaces/{sandbox.workspace_sid}/Workers/{worker['sid']}/Channels")
    assert body.json()["meta"]["key"] == "channels"
