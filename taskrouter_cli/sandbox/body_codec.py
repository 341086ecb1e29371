"""How the sandbox's database stores a body: UTF-8 JSON deflated with a fixed dictionary.

Used by the store (which reads bodies back) and by its writer process (which deflates the bodies
it commits); nothing here imports the rest of the sandbox, so the writer process starts quickly.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

_PACKED_V1 = b"\x01"
"""First byte of a packed body: raw deflate with :data:`_DICTIONARY_V1` (never change either;
a new dictionary gets a new first byte, and :func:`unpack` keeps reading the old ones)."""
_DICTIONARY_V1 = (
    b'"friendly_name":"","date_created":"20","date_updated":"20","+00:00",'
    b'"date_status_changed":"20","reservation_status":"pending","worker_sid":"WK",'
    b'"worker_name":"","worker_activity_sid":"WA","worker_activity_name":"Available",'
    b'"worker_attributes":"{}","activity_sid":"WA","activity_name":"Available","available":true,'
    b'"account_sid":"AC","age":0,"assignment_status":"pending","attributes":"{\\"type\\": '
    b'\\"","addons":"{}","task_queue_entered_date":"20","priority":0,"reason":null,'
    b'"task_queue_sid":"WQ","task_queue_friendly_name":"","task_channel_sid":"TC",'
    b'"task_channel_unique_name":"default","timeout":86400,"workflow_sid":"WW",'
    b'"workflow_friendly_name":"","workspace_sid":"WS","virtual_start_time":"20",'
    b'"ignore_capacity":null,"routing_target":null,"_created_ts":17,"_ttl_deadline":17,'
    b'"_target_deadline":null,"_fixed_queue":null,"_step":[null,0],"_waiting":true,'
    b'"_assignments":0,"_seq":1,"_rev":1}'
    b'{"account_sid":"AC","description":"Task WT created","event_data":{"workspace_sid":null,'
    b'"workspace_name":"","task_sid":null,"task_attributes":"{\\"type\\": \\"",'
    b'"task_age":0,"task_priority":0,"task_assignment_status":"pending","task_channel_sid":"TC",'
    b'"task_channel_unique_name":null,"task_date_created":17,"task_queue_sid":null,'
    b'"task_queue_name":"","workflow_sid":null,"workflow_name":""},"resource_sid":"WT",'
    b'"resource_type":"task"}'
)
_WINDOW_BITS = -12
"""A 4 KB window (raw deflate): bodies are a few KB at most, and zlib's default 32 KB window
with memLevel 8 makes every call allocate and clear ~270 KB (≈130 µs against ≈10 µs)."""


_PACKER_V1 = zlib.compressobj(
    1, zlib.DEFLATED, _WINDOW_BITS, 4, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_V1
)
"""Never used itself: each :func:`pack` works on a copy, which starts with the dictionary
already loaded (a copy costs ~5 µs, a new compressor that loads the dictionary ~8 µs)."""


def pack(text: str | bytes) -> bytes:
    """A body as stored: deflated UTF-8 (a BLOB; bodies stored as TEXT still read back)."""
    packer = _PACKER_V1.copy()
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    return _PACKED_V1 + packer.compress(data) + packer.flush()


def pack_column(rows: Sequence[tuple[Any, ...]], at: int) -> list[tuple[Any, ...]]:
    """``rows`` with the body in column ``at`` packed."""
    return [(*row[:at], pack(row[at])) for row in rows]


def unpack(body: str | bytes) -> str:
    """A stored body as text: deflated, or plain JSON (TEXT, or a BLOB of UTF-8 JSON, which
    starts with ``{``)."""
    if isinstance(body, str):
        return body
    if body[:1] == b"{":
        return body.decode("utf-8")
    if body[:1] != _PACKED_V1:
        raise ValueError(f"unknown body format {body[:1]!r}")
    unpacker = zlib.decompressobj(_WINDOW_BITS, _DICTIONARY_V1)
    return (unpacker.decompress(body[1:]) + unpacker.flush()).decode("utf-8")
