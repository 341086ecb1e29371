"""The callback log: one JSON line per callback under ``TRCLI_HOME``, and the live view.

Every request ``trcli serve`` answers on ``/assignment`` or ``/events`` (valid or not) becomes a
:class:`CallbackRecord`. A :class:`CallbackRecorder` hands records to a background thread that
appends them to ``$TRCLI_HOME/callbacks.jsonl`` and shows them live (rich text for people, or
JSON lines with ``--json``), so the request handler never waits on a disk or a terminal. When
records arrive faster than a terminal can show them, the live view prints a one-line summary of
the ones it skipped (the file keeps them all).

``trcli callbacks list|show`` read the file back with :func:`read_records`.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

LOG_FILE_NAME = "callbacks.jsonl"
LIVE_BACKLOG_LIMIT = 50
"""Above this many waiting records the live view summarises instead of printing each one."""


def callback_log_path(home: Path | None = None) -> Path:
    from taskrouter_cli.config import trcli_home

    return (home or trcli_home()) / LOG_FILE_NAME


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class CallbackRecord:
    """One callback as received and answered. Field names are the JSON line's keys."""

    time: str
    kind: str  # "assignment" | "event"
    path: str
    status: int
    signature: str  # "valid" | "invalid" | "missing" | "off"
    latency_ms: float = 0.0
    task_sid: str | None = None
    reservation_sid: str | None = None
    worker_sid: str | None = None
    worker_name: str | None = None
    workflow_sid: str | None = None
    task_queue_sid: str | None = None
    workspace_sid: str | None = None
    event_type: str | None = None
    task_attributes: dict[str, Any] | None = None
    worker_attributes: dict[str, Any] | None = None
    instruction: str | None = None
    reply: dict[str, Any] | None = None
    rule: str | None = None
    replay: bool = False
    error: str | None = None
    hint: str | None = None
    remote: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallbackRecord:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)

    @property
    def next_command(self) -> str | None:
        """What to run next, for people: after a deferred reply, accept through REST."""
        if self.kind != "assignment" or self.status != 200 or not self.reservation_sid:
            return None
        if self.instruction == "defer":
            return f"trcli reservation accept {self.reservation_sid}"
        accepted = self.instruction in ("accept", "dequeue") or (
            (self.reply or {}).get("accept") is True
        )
        if accepted and self.task_sid:
            return f"trcli task complete {self.task_sid}"
        return None


def format_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def read_records(path: Path) -> tuple[list[CallbackRecord], int]:
    """Every record in the log file (oldest first) and the count of unreadable lines skipped."""
    if not path.exists():
        return [], 0
    records: list[CallbackRecord] = []
    broken = 0
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                records.append(CallbackRecord.from_dict(data))
            except (ValueError, TypeError):  # not JSON, not an object, or wrong fields
                broken += 1
    return records, broken


# -------------------------------------------------------------------------------------------
# Live view


def escape_markup(text: str) -> str:
    """Escape rich markup in untrusted text (attributes come from the network)."""
    return text.replace("\\", "\\\\").replace("[", "\\[")


def _short_json(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_live(record: CallbackRecord) -> str:
    """The rich-markup text of one record in the live log."""
    esc = escape_markup
    clock = record.time[11:23] if len(record.time) >= 23 else record.time
    if record.status >= 400:
        head = f"[red]{clock}  {record.status} {record.kind}[/red]  {esc(record.error or '')}"
        lines = [head]
        if record.hint:
            lines.append(f"  [yellow]fix:[/yellow] {esc(record.hint)}")
        return "\n".join(lines)
    if record.kind == "event":
        what = esc(record.event_type or "event")
        sids = " ".join(
            esc(s) for s in (record.task_sid, record.reservation_sid, record.worker_sid) if s
        )
        return f"[dim]{clock}[/dim]  [cyan]event[/cyan] {what}  {sids}"
    worker = esc(record.worker_sid or "-")
    if record.worker_name:
        worker += f" ({esc(record.worker_name)})"
    reply = esc(_short_json(record.reply if record.reply is not None else {}))
    rule = f"  rule: {esc(record.rule)}" if record.rule else ""
    replay = "  [yellow]replay[/yellow]" if record.replay else ""
    signed = {"valid": "signed ✓", "off": "[yellow]not validated[/yellow]"}.get(
        record.signature, record.signature
    )
    lines = [
        (
            f"[dim]{clock}[/dim]  [bold]assignment[/bold]  task {esc(record.task_sid or '-')}"
            f"  reservation {esc(record.reservation_sid or '-')}  worker {worker}"
        ),
        f"  attributes {esc(_short_json(record.task_attributes or {}))}",
        f"  reply [green]{reply}[/green]{rule}  {record.latency_ms:.2f} ms  {signed}{replay}",
    ]
    if record.next_command:
        lines.append(f"  next: [bold]{esc(record.next_command)}[/bold]")
    return "\n".join(lines)


class CallbackRecorder:
    """Appends records to the log file and shows them live, from one background thread.

    ``live`` is ``"rich"``, ``"json"`` or ``"off"``. ``stream`` is where JSON lines go (default:
    the current ``sys.stdout``); rich output goes through :func:`taskrouter_cli.output.console`.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        live: str = "rich",
        stream: Callable[[], IO[str]] | None = None,
    ) -> None:
        self.path = path
        self.live = live
        self._stream = stream
        self._queue: queue.Queue[CallbackRecord | None] = queue.Queue()
        self._handle: IO[str] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.count = 0
        self.write_errors = 0

    def start(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8")
        self._thread = threading.Thread(target=self._run, name="trcli-callback-log", daemon=True)
        self._thread.start()

    def record(self, record: CallbackRecord) -> None:
        """Queue a record (never blocks, never raises)."""
        self.count += 1
        self._queue.put(record)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued record is written and shown; False on timeout."""
        done = threading.Event()
        self._queue.put(_FlushMarker(done))  # type: ignore[arg-type]
        return done.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _drain(self) -> Iterator[CallbackRecord | None]:
        item = self._queue.get()
        yield item
        while True:
            try:
                yield self._queue.get_nowait()
            except queue.Empty:
                return

    def _run(self) -> None:
        while True:
            batch = list(self._drain())
            stop = None in batch
            records = [r for r in batch if isinstance(r, CallbackRecord)]
            self._write(records)
            self._show(records)
            for item in batch:
                if isinstance(item, _FlushMarker):
                    item.done.set()
            if stop:
                return

    def _write(self, records: list[CallbackRecord]) -> None:
        if self._handle is None or not records:
            return
        try:
            self._handle.write("".join(record.to_json() + "\n" for record in records))
            self._handle.flush()
        except (OSError, ValueError):
            self.write_errors += 1

    def _out(self) -> IO[str]:
        if self._stream is not None:
            return self._stream()
        import sys

        return sys.stdout

    def _show(self, records: list[CallbackRecord]) -> None:
        if self.live == "off" or not records:
            return
        try:
            if self.live == "json":
                out = self._out()
                out.write("".join(record.to_json() + "\n" for record in records))
                out.flush()
                return
            from taskrouter_cli.output import console

            view = console()
            shown = records
            if len(records) > LIVE_BACKLOG_LIMIT:
                shown = records[-3:]
                skipped = len(records) - len(shown)
                errors = sum(1 for r in records[:-3] if r.status >= 400)
                view.print(
                    f"[dim]… {skipped} more callbacks ({errors} refused) not shown; "
                    "see 'trcli callbacks list'[/dim]"
                )
            for record in shown:
                view.print(render_live(record))
        except (OSError, ValueError):
            self.write_errors += 1


@dataclass
class _FlushMarker:
    done: threading.Event
