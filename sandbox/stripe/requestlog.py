"""Thread-safe record of the requests the stand-in answered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson


class RequestLog:
    """A list of entries like
    {"ts", "method", "path", "query", "status", "count", "request_id"}.

    Headers are never recorded (the Authorization header carries the API key).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.path = Path(path) if path is not None else None
        self._file: BinaryIO | None = None

    def append(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)
            if self.path is not None:
                if self._file is None:
                    self._file = self.path.open("ab")
                # Flushed per line so that a crash or Ctrl-C loses nothing.
                self._file.write(orjson.dumps(entry) + b"\n")
                self._file.flush()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget the in-memory entries (the JSONL file keeps them)."""
        with self._lock:
            self._entries.clear()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.snapshot())

    def __getitem__(self, index):
        with self._lock:
            return self._entries[index]
