"""Thread-safe count of the requests the stand-in answered, so tests can assert retries."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any


class RequestLog:
    """Entries like {"method", "path", "status"}; never headers (they carry the API key).

    log.count()                      # every request
    log.count("/v1/metrics/mrr")     # requests to one path (any method)
    log.by_path()                    # Counter {path: requests}
    """

    def __init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def append(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._entries.append({"method": method, "path": path, "status": status})

    def count(self, path: str | None = None, *, status: int | None = None) -> int:
        with self._lock:
            return sum(
                1
                for e in self._entries
                if (path is None or e["path"] == path) and (status is None or e["status"] == status)
            )

    def by_path(self) -> Counter:
        with self._lock:
            return Counter(e["path"] for e in self._entries)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.snapshot())
