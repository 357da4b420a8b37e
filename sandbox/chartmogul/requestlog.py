"""Thread-safe count of the requests the stand-in answered, so tests can assert retries,
and optionally a JSONL file of them, one line per request, flushed as it goes."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

# entries kept in memory for snapshot(); the counts cover every request
RECENT = 10_000


class RequestLog:
    """Entries like {"time", "method", "path", "query", "status", "duration_ms",
    "request_bytes", "response_bytes"}; never headers (the Authorization header carries
    the API key), so neither the key nor anything derived from it is written.

    log.count()                                  # every request
    log.count("/v1/metrics/mrr")                 # requests to one path (any method)
    log.count(method="POST", status=422)
    log.by_path(), log.by_method()               # Counters
    log.snapshot()                               # the last 10,000 entries

    Counts stay exact over a long import (hundreds of thousands of requests) while memory
    stays bounded; with `path` every entry is also appended to that JSONL file.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, int]] = Counter()  # (method, path, status)
        self._recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.path = Path(path) if path is not None else None
        self._file: BinaryIO | None = None

    def append(self, method: str, path: str, status: int, **details: Any) -> None:
        entry = {"method": method, "path": path, "status": status, **details}
        with self._lock:
            self._counts[(method, path, status)] += 1
            self._recent.append(entry)
            if self.path is not None:
                if self._file is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._file = self.path.open("ab")
                self._file.write(orjson.dumps(entry) + b"\n")
                self._file.flush()  # a killed stand-in loses nothing

    def count(
        self, path: str | None = None, *, status: int | None = None, method: str | None = None
    ) -> int:
        with self._lock:
            return sum(
                n
                for (m, p, s), n in self._counts.items()
                if (path is None or p == path)
                and (status is None or s == status)
                and (method is None or m == method.upper())
            )

    def by_path(self) -> Counter:
        out: Counter = Counter()
        with self._lock:
            for (_, path, _), n in self._counts.items():
                out[path] += n
        return out

    def by_method(self) -> Counter:
        out: Counter = Counter()
        with self._lock:
            for (method, _, _), n in self._counts.items():
                out[method] += n
        return out

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._recent]

    def clear(self) -> None:
        """Forget the counts and entries in memory (the JSONL file keeps them)."""
        with self._lock:
            self._counts.clear()
            self._recent.clear()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __len__(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.snapshot())
