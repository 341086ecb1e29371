"""The callback log: JSON lines on disk, the live view (rate-limited), reading it back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from taskrouter_cli.callbacks.log import (
    LIVE_MAX_PER_SECOND,
    REFUSED_LOGGED_PER_SECOND,
    CallbackRecord,
    CallbackRecorder,
    read_records,
    render_live,
)


def record(number: int, **overrides: object) -> CallbackRecord:
    values: dict[str, object] = {
        "time": "2026-01-01T12:00:00.000Z",
        "kind": "assignment",
        "path": "/assignment",
        "status": 200,
        "signature": "valid",
        "task_sid": f"WT{number:032x}",
        "reservation_sid": f"WR{number:032x}",
        "task_attributes": {"selected_language": "es"},
        "instruction": "defer",
        "reply": {},
    }
    values.update(overrides)
    return CallbackRecord(**values)  # type: ignore[arg-type]


def started_recorder(path: Path | None, live: str) -> CallbackRecorder:
    recorder = CallbackRecorder(path, live=live)
    recorder.start()
    return recorder


@pytest.mark.parametrize(
    "attributes",
    [
        {"selected_language": "es", "skills": ["a", "b"], "level": 3, "weight": 0.25},
        {"name": "José", "emoji": "\U0001f600", "quote": '"\\\n\t\x01'},
        {"huge": 2**70, "negative": -(2**65)},
    ],
)
def test_a_log_line_is_the_standard_librarys_compact_ascii_json(
    attributes: dict[str, object],
) -> None:
    logged = record(1, task_attributes=attributes, latency_ms=1.234, replay=True)
    line = logged.to_json()
    assert line == json.dumps(logged.to_dict(), separators=(",", ":"))
    assert line.isascii() and json.loads(line)["task_attributes"] == attributes
    assert logged.to_json_line() == (line + "\n").encode("ascii")


def test_records_round_trip_and_broken_lines_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "callbacks.jsonl"
    recorder = CallbackRecorder(path, live="off")
    recorder.start()
    recorder.record(record(1))
    recorder.record(record(2, status=403, error="Invalid X-Twilio-Signature"))
    assert recorder.flush()
    recorder.stop()
    with path.open("a") as handle:
        handle.write("not json\n[1, 2]\n")
    records, broken = read_records(path)
    assert [r.task_sid for r in records] == [record(1).task_sid, record(2).task_sid]
    assert records[1].error == "Invalid X-Twilio-Signature"
    assert broken == 2


def test_json_live_mode_prints_every_record(capsys: pytest.CaptureFixture[str]) -> None:
    recorder = CallbackRecorder(None, live="json")
    recorder.start()
    for number in range(50):
        recorder.record(record(number))
    assert recorder.flush()
    recorder.stop()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 50
    assert json.loads(lines[7])["task_sid"] == record(7).task_sid


def test_rich_live_view_summarises_bursts(capsys: pytest.CaptureFixture[str]) -> None:
    recorder = CallbackRecorder(None, live="rich")
    recorder.start()
    burst = LIVE_MAX_PER_SECOND + 15
    for number in range(burst):
        recorder.record(record(number, status=403 if number % 5 == 0 else 200))
    assert recorder.flush()
    recorder.stop()
    out = capsys.readouterr().out
    assert out.count("assignment") - out.count("403 assignment") <= LIVE_MAX_PER_SECOND
    assert "… 15 more callback(s) not shown (3 refused)" in out


def test_lines_from_worker_processes_are_logged_as_sent_and_shown_like_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "callbacks.jsonl"
    recorder = started_recorder(path, "rich")
    burst = LIVE_MAX_PER_SECOND + 10
    lines = [record(n, status=403 if n % 5 == 0 else 200).to_json() for n in range(burst)]
    recorder.record_lines(lines)
    recorder.record(record(99))
    assert recorder.flush()
    recorder.stop()
    assert path.read_text().splitlines() == [*lines, record(99).to_json()]
    assert recorder.count == burst + 1
    out = capsys.readouterr().out
    assert f"task {record(1).task_sid}" in out
    assert "… 11 more callback(s) not shown (2 refused)" in out


def test_live_lines_show_the_next_command_and_escape_markup() -> None:
    text = render_live(record(1, task_attributes={"tag": "[bold]x[/bold]"}))
    assert "next: [bold]trcli reservation accept WR" in text
    assert "\\[bold]x\\[/bold]" in text
    refused = render_live(record(2, status=403, error="Invalid", hint="Use [this]"))
    assert "403 assignment" in refused and "fix:" in refused and "\\[this]" in refused
    accepted = record(3, instruction="accept", reply={"instruction": "accept"})
    assert accepted.next_command == f"trcli task complete {accepted.task_sid}"


def test_now_text_is_iso_utc_with_milliseconds() -> None:
    import re
    from datetime import datetime, timezone

    from taskrouter_cli.callbacks.log import now_text

    text = now_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text)
    parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - parsed).total_seconds()) < 5


def test_live_lines_name_the_worker_as_a_person_does() -> None:
    worker = {"worker_sid": "WK" + "1" * 32, "worker_name": "Alice"}
    assert f"worker Alice (WK{'1' * 32})" in render_live(record(1, **worker))
    event = record(2, kind="event", event_type="reservation.created", **worker)
    assert f"Alice (WK{'1' * 32})" in render_live(event)


def test_a_worker_batch_is_logged_as_sent_and_its_refused_lines_are_rate_limited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "callbacks.jsonl"
    recorder = started_recorder(path, "rich")
    answered = [record(n).to_json_line() for n in range(30)]
    recorder.record_batch(b"".join(answered))
    refused = [
        record(n, status=403, error="Invalid X-Twilio-Signature").to_json_line()
        for n in range(REFUSED_LOGGED_PER_SECOND + 5)
    ]
    recorder.record_batch(b"".join([answered[0], *refused]))
    assert recorder.flush()
    recorder.stop()
    lines = path.read_bytes().splitlines(keepends=True)
    assert lines[:31] == [*answered, answered[0]]
    assert lines[31 : 31 + REFUSED_LOGGED_PER_SECOND] == refused[:REFUSED_LOGGED_PER_SECOND]
    summary = json.loads(lines[-1])
    assert summary["kind"] == "summary" and summary["error"].startswith("5 more refused")
    assert len(lines) == 31 + REFUSED_LOGGED_PER_SECOND + 1
    assert recorder.count == 31 + len(refused)
    out = capsys.readouterr().out
    assert f"task {record(0).task_sid}" in out
    assert f"… {recorder.count - LIVE_MAX_PER_SECOND} more callback(s) not shown" in out


def test_the_live_view_shows_backslashes_and_brackets_in_callback_data_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What the sender sent, once: a backslash is not doubled, a tag-like [bold] is not a
    # style, and a trailing backslash does not escape the view's own closing tag.
    worker = r"CORP\alice [bold]x[/bold] \[red] C:\new\ "[:-1]
    attributes = {"path": "C:\\temp\\"}  # shown as the JSON the log holds: "C:\\temp\\"
    error = r"Invalid X-Twilio-Signature \ [this] ends\ "[:-1]
    recorder = started_recorder(tmp_path / "callbacks.jsonl", "rich")
    recorder.record(record(1, worker_sid="WK" + "1" * 32, worker_name=worker))
    recorder.record(record(2, task_attributes=attributes))
    recorder.record(record(3, status=403, signature="invalid", error=error, hint=r"a\b"))
    recorder.record(record(4, reservation_sid="WR\\\\"))  # its next command ends in [/bold]
    assert recorder.flush()
    recorder.stop()
    out = capsys.readouterr().out
    assert f"worker {worker} (WK{'1' * 32})" in out
    assert 'attributes {"path":"C:\\\\temp\\\\"}' in out
    assert f"403 assignment  {error}\n" in out
    assert "fix: a\\b\n" in out
    assert "reservation WR\\\\  worker" in out
    assert "next: trcli reservation accept WR\\\\\n" in out
