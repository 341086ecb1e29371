"""The callback log: one JSON line per callback under ``TRCLI_HOME``, and the live view.

Every request ``trcli serve`` answers on ``/assignment`` or ``/events`` (valid or not) becomes a
:class:`CallbackRecord`. A :class:`CallbackRecorder` encodes it to its JSON line at once, and
the server's event loop appends the waiting lines to ``$TRCLI_HOME/callbacks.jsonl`` every
20 ms and shows them live (rich text for people, or JSON lines with ``--json``), so the request
handler never waits on a disk or a terminal. The rich view shows at most LIVE_MAX_PER_SECOND
callbacks a second -- more is unreadable, and rendering costs ~0.15 ms each -- and prints a
one-line summary of the ones it skipped (the file and ``--json`` keep them all).

``trcli callbacks list|show`` read the file back with :func:`read_records`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from _json import encode_basestring_ascii
from _json import make_encoder as c_make_encoder
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from taskrouter_cli.guards.private_files import open_private_append
from taskrouter_cli.output import escape_markup
from taskrouter_cli.sids import labelled

LOG_FILE_NAME = "callbacks.jsonl"
LIVE_MAX_PER_SECOND = 20
"""The live view shows at most this many callbacks a second and summarises the rest."""
LOG_ROTATE_BYTES = 4 * 1024 * 1024
"""The log is rotated (callbacks.jsonl → .1 → .2) once it grows past this size."""
LOG_ROTATED_KEPT = 2
"""Rotated files kept: the log takes at most ~3 x 4 MiB (plus one batch) on disk."""
REFUSED_LOGGED_PER_SECOND = 50
"""Refused requests written one by one per second; the rest of a flood is one summary line."""


def rotated_path(path: Path, number: int) -> Path:
    """The ``number``-th rotated log beside ``path`` (``callbacks.jsonl.1`` is the newest)."""
    return path.with_name(f"{path.name}.{number}")


def callback_log_path(home: Path | None = None) -> Path:
    from taskrouter_cli.config import trcli_home

    return (home or trcli_home()) / LOG_FILE_NAME


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
    """Every other parameter as received (repeated names give a list)."""
    forwarded_to: str | None = None
    """``--forward-to``: the handler's URL; its answer is in the handler_* fields and reply."""
    handler_status: int | None = None
    handler_content_type: str | None = None
    handler_ms: float | None = None
    handler_body: str | None = None
    """The handler's body as text (shortened) when it is not a JSON object."""

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every value, ~40 µs a record.
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    def to_json(self) -> str:
        """The log line: compact JSON, ASCII only (non-ASCII as \\u escapes).

        The instance dict holds exactly the fields, in order (the dataclass __init__ sets them
        all), so it is encoded as it is. orjson does it in ~1 µs (the standard library's C
        encoder ~6 µs, a tenth of what answering a callback costs); a line it cannot write as
        ASCII (non-ASCII text, an integer beyond 64 bits) is encoded by the standard library,
        so the output stays what ``json.dumps(..., separators=(",", ":"))`` gives -- except
        that NaN and Infinity, which Python's JSON parser lets through in attributes, are
        written as null.
        """
        return self.to_json_line()[:-1].decode("ascii")

    def to_json_line(self) -> bytes:
        """:meth:`to_json` and a newline, as ASCII bytes: what the log file holds (built
        directly: it is encoded for every callback)."""
        try:
            line = orjson.dumps(self.__dict__, option=orjson.OPT_APPEND_NEWLINE)
        except TypeError:
            line = b""
        if line and line.isascii():
            return line
        return ("".join(_ENCODE(self.__dict__, 0)) + "\n").encode("ascii")

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


_FIELD_NAMES = tuple(f.name for f in fields(CallbackRecord))


def _unencodable(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ENCODE = c_make_encoder(
    None, _unencodable, encode_basestring_ascii, None, ":", ",", False, False, True
)
"""``json.JSONEncoder(separators=(",", ":")).encode`` without building a new C encoder for
every line (``encode`` does), and without its check for cycles (a record is a tree)."""


_second_cache: tuple[int, str] = (-1, "")
_MILLISECONDS = tuple(f".{n:03d}Z" for n in range(1000))


def now_text() -> str:
    """The current UTC time as ``2026-01-01T12:00:00.123Z`` (cheap: one strftime a second)."""
    global _second_cache
    now = time.time()
    second = int(now)
    cached_second, text = _second_cache
    if second != cached_second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second_cache = (second, text)
    return text + _MILLISECONDS[int((now - second) * 1000)]


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


def _short_json(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_live(record: CallbackRecord) -> str:
    """The rich-markup text of one record in the live log."""
    esc = escape_markup
    clock = record.time[11:23] if len(record.time) >= 23 else record.time
    if record.status >= 400 and record.handler_status is None:
        head = f"[red]{clock}  {record.status} {record.kind}[/red]  {esc(record.error or '')}"
        lines = [head]
        if record.hint:
            lines.append(f"  [yellow]fix:[/yellow] {esc(record.hint)}")
        return "\n".join(lines)
    if record.kind == "event":
        what = esc(record.event_type or "event")
        worker_label = (
            labelled(record.worker_name, record.worker_sid) if record.worker_sid else None
        )
        subjects = " ".join(
            esc(s) for s in (record.task_sid, record.reservation_sid, worker_label) if s
        )
        return f"[dim]{clock}[/dim]  [cyan]event[/cyan] {what}  {subjects}"
    worker = esc(labelled(record.worker_name, record.worker_sid))
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
    ]
    if record.forwarded_to:
        lines.append(f"  {render_handler_reply(record)}  {signed}{replay}")
    else:
        lines.append(
            f"  reply [green]{reply}[/green]{rule}  {record.latency_ms:.2f} ms  {signed}{replay}"
        )
    if record.next_command:
        lines.append(f"  next: [bold]{esc(record.next_command)}[/bold]")
    return "\n".join(lines)


def render_handler_reply(record: CallbackRecord) -> str:
    """``--forward-to``: what the handler answered and how long it took (rich markup)."""
    answer = record.reply if record.reply is not None else record.handler_body or ""
    text = escape_markup(answer if isinstance(answer, str) else _short_json(answer))
    colour = "green" if (record.handler_status or 0) < 400 else "yellow"
    kind = escape_markup(record.handler_content_type or "no Content-Type")
    return (
        f"handler [{colour}]{record.handler_status} {kind} {text}[/{colour}]"
        f"  {record.handler_ms or 0:.1f} ms  ← {escape_markup(record.forwarded_to or '')}"
    )


class _Refused(NamedTuple):
    """A refused request's log line, waiting: only so many a second are written one by one."""

    status: int
    line: bytes


class CallbackRecorder:
    """Appends records to the log file and shows them live, in batches.

    ``live`` is ``"rich"``, ``"json"`` or ``"off"``. ``stream`` is where JSON lines go (default:
    the current ``sys.stdout``); rich output goes through :func:`taskrouter_cli.output.console`.

    A record is encoded to its log line when it is recorded, so that nothing of it outlives the
    request but its bytes (records held until the next write cost the garbage collector more
    than encoding them). Attached to the server's event loop (:meth:`attach`), the waiting lines
    are written every ``BATCH_SECONDS`` by the loop itself, with one write call, so requests are
    never kept waiting for a disk or a terminal and no second thread fights the loop for the
    GIL (a writer thread halved the throughput). Unattached, :meth:`flush` writes them. Of the
    records waiting, only the first LIVE_MAX_PER_SECOND are kept for the rich view; the others
    are only counted (it shows at most that many a second anyway).
    """

    BATCH_SECONDS = 0.02
    RENDERS_PER_BATCH = 1
    """Rich lines rendered per batch: each costs ~0.5 ms of the loop's time."""

    def __init__(
        self,
        path: Path | None,
        *,
        live: str = "rich",
        stream: Callable[[], IO[str]] | None = None,
        forward: Callable[[bytes], object] | None = None,
    ) -> None:
        self.path = path
        self.live = live
        self._stream = stream
        self._forward = forward
        """``serve --workers``: receives each batch of JSON lines, as one bytes object."""
        self._pending: list[bytes | _Refused] = []
        """Encoded lines waiting to be written, oldest first (every one of them goes to the
        ``--json`` stream; refused ones are rate-limited in the file)."""
        self._pending_refused = 0
        self._showable: list[CallbackRecord | bytes] = []
        """The first waiting records (or worker lines), for the rich view."""
        self._unshowable = 0
        self._unshowable_errors = 0
        self._lock = threading.Lock()
        self._handle: IO[bytes] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False
        self._summary_timer: asyncio.TimerHandle | None = None
        self.count = 0
        self.write_errors = 0
        self._window_start = 0.0
        self._shown = 0
        self._skipped = 0
        self._skipped_errors = 0
        self._console: Any = None
        self._size = 0
        self._refused_window = 0.0
        self._refused_logged = 0
        self._refused_unlogged: dict[int, int] = {}
        self._deleting: threading.Thread | None = None
        """The deletion of the oldest rotated log, if one was started (see :meth:`_rotate`)."""

    def start(self) -> None:
        """Open the log file and prepare the live view (idempotent)."""
        if self.path is not None and self._handle is None:
            descriptor = open_private_append(self.path)
            self._handle = os.fdopen(descriptor, "ab")
            self._size = os.fstat(descriptor).st_size
        if self.live == "rich" and self._console is None:
            import io

            from taskrouter_cli.output import console

            self._console = console()
            # Render once off-screen so rich's lazy imports do not stall the first callback.
            warm = type(self._console)(file=io.StringIO(), width=100)
            warm.print(
                render_live(CallbackRecord("", "assignment", "/assignment", 200, "valid")),
                soft_wrap=True,
                emoji=False,
            )

    def attach(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Write from ``loop`` (call from the loop's thread); None detaches."""
        if self._summary_timer is not None:
            self._summary_timer.cancel()
            self._summary_timer = None
        self._loop = loop
        self._scheduled = False

    def record(self, record: CallbackRecord) -> None:
        """Queue a record (call from the attached loop; never blocks on I/O, never raises)."""
        line = record.to_json_line()
        status = record.status
        with self._lock:
            self._queue(line, status)
            self.count += 1
            if self.live == "rich":
                self._keep_for_view(record, status)
        if self._loop is not None and not self._scheduled:
            self._schedule()

    def record_lines(self, lines: Sequence[str | bytes]) -> None:
        """Queue records already encoded as JSON lines by another process (any thread).

        ``serve --workers``: the worker processes send their records here, so there is one
        log file and one live view. Lines are written as received and decoded only to be shown.
        """
        with self._lock:
            for text in lines:
                line = text.encode("utf-8") if isinstance(text, str) else text
                if not line.endswith(b"\n"):
                    line += b"\n"
                status = _status(line)
                self._queue(line, status)
                if self.live == "rich":
                    self._keep_for_view(line, status)
            self.count += len(lines)
        self._schedule_from_any_thread()

    def record_batch(self, data: bytes) -> None:
        """Queue a batch of JSON lines from another process, as one chunk (any thread).

        ``serve --workers``: what a worker's recorder forwards. Without a refused request
        among them, the lines are queued as they came and only the ones the live view may
        show are split off; otherwise they take :meth:`record_lines`.
        """
        if not data:
            return
        if not data.endswith(b"\n"):
            data += b"\n"
        if b'"status":4' in data or b'"status":5' in data:  # (or such a key in attributes)
            self.record_lines(data.splitlines())
            return
        count = data.count(b"\n")
        with self._lock:
            self._pending.append(data)
            self.count += count
            if self.live == "rich":
                room = LIVE_MAX_PER_SECOND - len(self._showable)
                showable = [line for line in data.split(b"\n", room)[:room] if line]
                self._showable.extend(showable)
                self._unshowable += count - len(showable)
        self._schedule_from_any_thread()

    def _schedule_from_any_thread(self) -> None:
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._schedule)
            except RuntimeError:  # the loop closed meanwhile: stop() writes what is left
                pass

    def _queue(self, line: bytes, status: int) -> None:
        """(Under the lock.) One encoded line waiting to be written; a refused request's line
        is marked, for the file's rate limit."""
        if status < 400:
            self._pending.append(line)
        else:
            self._pending.append(_Refused(status, line))
            self._pending_refused += 1

    def _keep_for_view(self, record: CallbackRecord | bytes, status: int) -> None:
        """(Under the lock.) Keep ``record`` for the rich view, or only count it."""
        if len(self._showable) < LIVE_MAX_PER_SECOND:
            self._showable.append(record)
        else:
            self._unshowable += 1
            self._unshowable_errors += status >= 400

    def _schedule(self) -> None:
        loop = self._loop
        if loop is not None and not self._scheduled:
            self._scheduled = True
            loop.call_later(self.BATCH_SECONDS, self._write_batch)

    def _write_batch(self) -> None:
        """Runs on the loop: write what is waiting, then yield to requests."""
        self._scheduled = False
        self._drain()
        loop = self._loop
        if (
            loop is not None
            and self._summary_timer is None
            and (self._skipped or self._refused_unlogged)
        ):
            # print the summary of skipped lines even when traffic stops (the next batch is
            # still scheduled by the next record, BATCH_SECONDS after it)
            self._summary_timer = loop.call_later(1.0, self._write_summaries)

    def _write_summaries(self) -> None:
        self._summary_timer = None
        self._write_batch()

    def _drain(self, *, final: bool = False) -> None:
        """Write and show what is waiting."""
        with self._lock:
            batch, self._pending = self._pending, []
            showable, self._showable = self._showable, []
            unshowable, unshowable_errors = self._unshowable, self._unshowable_errors
            self._unshowable = self._unshowable_errors = 0
            refused, self._pending_refused = self._pending_refused, 0
            kept = self._without_flood(batch, refused, final=final)
        self._write(kept)
        if self._forward is not None and batch:
            try:
                self._forward(b"".join(_line(entry) for entry in batch))
            except (OSError, ValueError):
                self.write_errors += 1
        self._show(batch, showable, final=final)
        self._skipped += unshowable
        self._skipped_errors += unshowable_errors

    def flush(self, timeout: float = 5.0) -> bool:
        """Write and show everything recorded so far; False if the loop did not answer in time."""
        loop = self._loop
        if loop is None or not loop.is_running():
            self._drain(final=True)
            return True
        done = threading.Event()

        def run() -> None:
            try:
                self._drain(final=True)
            finally:
                done.set()

        loop.call_soon_threadsafe(run)
        return done.wait(timeout)

    def stop(self) -> None:
        """Write what is left and close the file (call after the loop stopped)."""
        self._loop = None
        self._drain(final=True)
        if self._deleting is not None:
            self._deleting.join()
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _write(self, lines: list[bytes]) -> None:
        if self._handle is None or not lines:
            return
        try:
            data = b"".join(lines)
            self._handle.write(data)
            self._handle.flush()
            self._size += len(data)
            if self._size > LOG_ROTATE_BYTES:
                self._rotate()
        except (OSError, ValueError):
            self.write_errors += 1

    def _without_flood(
        self, waiting: list[bytes | _Refused], refused_waiting: int, *, final: bool
    ) -> list[bytes]:
        """(Under the lock.) The lines to write: refused ones beyond REFUSED_LOGGED_PER_SECOND
        are counted, and written as one summary line when their second is over."""
        if self._handle is None:
            return []
        now = time.monotonic()
        kept: list[bytes] = []
        if now - self._refused_window >= 1.0:
            kept.extend(self._flood_summary())
            self._refused_window, self._refused_logged = now, 0
        if not refused_waiting:
            kept.extend(waiting)  # type: ignore[arg-type]  # no _Refused among them
        else:
            for line in waiting:
                if isinstance(line, _Refused):
                    if self._refused_logged >= REFUSED_LOGGED_PER_SECOND:
                        unlogged = self._refused_unlogged
                        unlogged[line.status] = unlogged.get(line.status, 0) + 1
                        continue
                    self._refused_logged += 1
                    line = line.line
                kept.append(line)
        if final:
            kept.extend(self._flood_summary())
        return kept

    def _flood_summary(self) -> list[bytes]:
        if not self._refused_unlogged:
            return []
        counts, self._refused_unlogged = self._refused_unlogged, {}
        total = sum(counts.values())
        detail = ", ".join(f"{count} x {status}" for status, count in sorted(counts.items()))
        summary = CallbackRecord(
            time=now_text(),
            kind="summary",
            path="-",
            status=429,
            signature="-",
            error=f"{total} more refused request(s) not logged one by one ({detail})",
            hint=f"At most {REFUSED_LOGGED_PER_SECOND} refused requests a second are logged",
        )
        return [summary.to_json_line()]

    def _rotate(self) -> None:
        """callbacks.jsonl → .1 → .2 (the oldest dropped); a new empty log (0600).

        Only renames to free names happen here: deleting the oldest file (or renaming over it,
        which deletes it) takes ~2-3 ms for a 4 MiB log, a stall every few hundred
        milliseconds for every request in flight under load. The oldest is renamed aside and
        deleted by a short-lived thread (the system call does not hold the GIL).
        """
        assert self.path is not None and self._handle is not None
        self._handle.close()
        oldest = rotated_path(self.path, LOG_ROTATED_KEPT)
        if oldest.exists():
            dropped = self.path.with_name(f"{self.path.name}.dropped")
            # only there if the last deletion is still running, or crashed
            dropped.unlink(missing_ok=True)
            os.replace(oldest, dropped)
            self._deleting = threading.Thread(
                target=dropped.unlink,
                kwargs={"missing_ok": True},
                name="trcli-log-delete",
                daemon=True,
            )
            self._deleting.start()
        for number in range(LOG_ROTATED_KEPT, 1, -1):
            newer = rotated_path(self.path, number - 1)
            if newer.exists():
                os.replace(newer, rotated_path(self.path, number))
        os.replace(self.path, rotated_path(self.path, 1))
        descriptor = open_private_append(self.path)
        self._handle = os.fdopen(descriptor, "ab")
        self._size = 0

    def _out(self) -> IO[str]:
        if self._stream is not None:
            return self._stream()
        import sys

        return sys.stdout

    def _show(
        self,
        waiting: list[bytes | _Refused],
        showable: list[CallbackRecord | bytes],
        *,
        final: bool = False,
    ) -> None:
        if self.live == "off":
            return
        try:
            if self.live == "json":
                if waiting:
                    out = self._out()
                    out.write(b"".join(_line(entry) for entry in waiting).decode("utf-8"))
                    out.flush()
                return
            self._show_rich(showable, final)
        except (OSError, ValueError):
            self.write_errors += 1

    def _show_rich(self, records: list[CallbackRecord | bytes], final: bool) -> None:
        if self._console is None:
            self.start()
        view = self._console
        now = time.monotonic()
        if now - self._window_start >= 1.0 or final:
            if self._skipped:
                view.print(
                    f"[dim]… {self._skipped} more callback(s) not shown "
                    f"({self._skipped_errors} refused); see 'trcli callbacks list'[/dim]"
                )
            self._window_start, self._shown, self._skipped, self._skipped_errors = now, 0, 0, 0
        rendered = 0
        for record in records:
            if self._shown >= LIVE_MAX_PER_SECOND or (
                not final and rendered >= self.RENDERS_PER_BATCH
            ):
                self._skipped += 1
                self._skipped_errors += _status(record) >= 400
                continue
            if isinstance(record, bytes):
                try:
                    record = CallbackRecord.from_dict(json.loads(record))
                except (ValueError, TypeError):
                    continue
            # Soft-wrapped (the terminal wraps a long line; SIDs and URLs stay whole when
            # copied) and without :emoji: codes (the text is the sender's): half the cost.
            view.print(render_live(record), soft_wrap=True, emoji=False)
            self._shown += 1
            rendered += 1


def _line(entry: bytes | _Refused) -> bytes:
    return entry.line if isinstance(entry, _Refused) else entry


_STATUS = re.compile(rb'"status":(\d+)')


def _status(record: CallbackRecord | bytes) -> int:
    """The HTTP status of a record, or of a JSON line without decoding all of it."""
    if isinstance(record, CallbackRecord):
        return record.status
    found = _STATUS.search(record)
    return int(found.group(1)) if found else 0
