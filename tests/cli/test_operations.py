"""The logic under the commands, without a sandbox: inputs, polling, URL rules, routing text."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from taskrouter_cli.errors import UsageError
from taskrouter_cli.operations.inputs import Since, parse_json_object, parse_since
from taskrouter_cli.operations.polling import Poller
from taskrouter_cli.operations.workflows import check_callback_url, is_local_host, routing_lines


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_poller_sleeps_up_to_the_deadline_then_stops() -> None:
    clock = FakeTime()
    poller = Poller(timeout=1.0, interval=0.4, sleep=clock.sleep, monotonic=clock.monotonic)
    polls = 1
    while poller.wait():
        polls += 1
    assert clock.sleeps == pytest.approx([0.4, 0.4, 0.2])
    assert polls == 4  # one at the start, one after each sleep (the last at the deadline)
    assert poller.expired()


def test_poller_without_timeout_never_expires() -> None:
    clock = FakeTime()
    poller = Poller(timeout=None, interval=0.5, sleep=clock.sleep, monotonic=clock.monotonic)
    assert all(poller.wait() for _ in range(100))
    assert poller.elapsed == pytest.approx(50.0)


def test_parse_json_object(tmp_path: Path) -> None:
    text, data = parse_json_object('{"a": [1, 2]}', "--attributes")
    assert data == {"a": [1, 2]} and json.loads(text) == data
    path = tmp_path / "a.json"
    path.write_text('{\n  "b": 1\n  "c": 2\n}', encoding="utf-8")  # a comma is missing
    with pytest.raises(UsageError) as error:
        parse_json_object(f"@{path}", "--attributes")
    # Our wording around the decoder's message (whose text varies between Python versions).
    assert re.fullmatch(
        rf"--attributes is not valid JSON \(in {re.escape(str(path))}\): .+ "
        r"at line 3, column 3 \(position 13\)",
        error.value.message,
    )
    path.write_text('{\n  "b": 1,\n}', encoding="utf-8")  # a trailing comma: every version refuses
    with pytest.raises(UsageError, match=r"--attributes is not valid JSON .* at line \d+, column"):
        parse_json_object(f"@{path}", "--attributes")
    with pytest.raises(UsageError, match="'@' must be followed by a file name"):
        parse_json_object("@", "--attributes")
    with pytest.raises(UsageError, match="is a directory"):
        parse_json_object(f"@{tmp_path}", "--attributes")
    with pytest.raises(UsageError, match="got str"):
        parse_json_object('"text"', "--attributes")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10m", Since(minutes=10)),
        ("90s", Since(minutes=2)),
        ("2h", Since(minutes=120)),
        ("1d", Since(minutes=1440)),
        ("45", Since(minutes=1)),
        ("2024-05-01T10:00:00Z", Since(start=datetime(2024, 5, 1, 10, tzinfo=timezone.utc))),
        ("2024-05-01T10:00:00", Since(start=datetime(2024, 5, 1, 10, tzinfo=timezone.utc))),
    ],
)
def test_parse_since(value: str, expected: Since) -> None:
    assert parse_since(value) == expected


@pytest.mark.parametrize("value", ["0m", "soon", "10 weeks"])
def test_parse_since_rejects(value: str) -> None:
    with pytest.raises(UsageError):
        parse_since(value)


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("localhost", True),
        ("app.localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("[::1]", True),
        ("0.0.0.0", True),
        ("::", True),
        ("example.com", False),
        ("10.0.0.1", False),
        ("8.8.8.8", False),
    ],
)
def test_is_local_host(host: str, local: bool) -> None:
    assert is_local_host(host) is local


def test_check_callback_url() -> None:
    assert check_callback_url("http://127.0.0.1:8080/cb", live=False) == "http://127.0.0.1:8080/cb"
    assert check_callback_url("https://x.ngrok.app/cb", live=True) == "https://x.ngrok.app/cb"
    with pytest.raises(UsageError) as error:
        check_callback_url("http://localhost:8080/cb", live=True)
    assert "trcli serve --tunnel" in error.value.one_line()
    for bad in ("ftp://example.com/", "example.com/cb", "http://"):
        with pytest.raises(UsageError, match="not an http"):
            check_callback_url(bad, live=False)


def test_routing_lines() -> None:
    config = {
        "task_routing": {
            "filters": [
                {
                    "filter_friendly_name": "Spanish",
                    "expression": 'lang == "es"',
                    "targets": [
                        {"queue": "WQ1", "timeout": 30, "priority": 5},
                        {"expression": "worker.level > 2"},
                    ],
                }
            ],
            "default_filter": {"queue": "WQ2"},
        }
    }
    lines = routing_lines(json.dumps(config), {"WQ1": "Spanish queue"})
    assert lines == [
        '1. Spanish: lang == "es"',
        "   → 1) Spanish queue (WQ1) [priority 5, timeout 30 s]",
        "   → 2) Spanish queue (WQ1) [expression worker.level > 2]",
        "default → WQ2",
    ]
    assert routing_lines("not json", {}) == ["not json"]
