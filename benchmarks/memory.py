"""Peak memory of a process tree, for every benchmark's "peak memory" column.

Polls the memory of a process and all its descendants (normalize workers, dbt's children)
from /proc, summed at each poll, and keeps the largest sum. Each process counts its
proportional set size (Pss): pages shared with a forked parent count once in all, where
resident sizes (Rss) would count them once per process."""

from __future__ import annotations

import threading
from pathlib import Path


def tree_rss_kb(root: int, include_root: bool = True) -> int:
    """Memory (KiB, Pss; Rss where the kernel has no Pss) of `root`'s descendants, and of
    `root` itself if asked."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
        kb = _field_kb(entry / "smaps_rollup", "Pss:") or _field_kb(entry / "status", "VmRSS:")
        if kb is not None:
            rss[pid] = kb
    total = rss.get(root, 0) if include_root else 0
    for pid, kb in rss.items():
        ancestor = parents.get(pid)
        while ancestor and ancestor != root:
            ancestor = parents.get(ancestor)
        if ancestor == root:
            total += kb
    return total


def _field_kb(path: Path, name: str) -> int | None:
    try:
        text = path.read_text()
    except OSError:  # gone, or not ours to read
        return None
    for line in text.splitlines():
        if line.startswith(name):
            return int(line.split()[1])
    return None


class TreePeak:
    """`with TreePeak(pid) as peak: ...` then `peak.mb`: the largest polled tree total."""

    def __init__(self, root: int, include_root: bool = True, every: float = 0.2):
        self.root, self.include_root, self.every = root, include_root, every
        self.kb = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while True:
            self.kb = max(self.kb, tree_rss_kb(self.root, self.include_root))
            if self._done.wait(self.every):
                return

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    @property
    def mb(self) -> float:
        return self.kb / 1024
