"""Read a fixture folder (one JSONL file per resource) into a Store.

Parsing every object once is the cost of loading (orjson builds each whole object), so
large files are cut at line boundaries and parsed by forked workers that see the file
buffers of this process; only the small index (offsets, ids, created, filter values)
travels back.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from array import array
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson

from .fixtures import EMBED_LIMIT, RESOURCES, ResourceSpec, Store, Table

CHUNK_BYTES = 32 << 20
# Below this many bytes in total, a pool costs more than it saves.
PARALLEL_MIN_BYTES = 96 << 20
MAX_WORKERS = 8
_BLANK = b" \t\r"


@dataclass
class Chunk:
    """Index of the objects in one byte range of a fixture file."""

    offsets: array = field(default_factory=lambda: array("Q"))
    lengths: array = field(default_factory=lambda: array("I"))
    created: array = field(default_factory=lambda: array("q"))
    ids: list[str] = field(default_factory=list)
    values: list[tuple] = field(default_factory=list)
    # file offset -> (id, rewritten JSON)
    patched: dict[int, tuple[str, bytes]] = field(default_factory=dict)
    overflow: dict[str, bytes] = field(default_factory=dict)
    item_parents: list[tuple[str, str]] = field(default_factory=list)


def _intern(value: Any) -> Any:
    # Filter values repeat a lot (customer ids, statuses): share one string object.
    if isinstance(value, str):
        return sys.intern(value)
    if isinstance(value, tuple):
        return tuple(_intern(v) for v in value)
    return value


def normalize_sublist(obj: dict, spec: ResourceSpec) -> tuple[bool, bytes | None]:
    """Make an embedded list look like Stripe's: first 10 items, has_more, url.

    Returns (changed, the full item list as JSON when items were cut off).
    """
    if spec.sublist is None or spec.sublist_url is None:
        return False, None
    sub = obj.get(spec.sublist)
    if not isinstance(sub, dict) or not isinstance(sub.get("data"), list):
        return False, None
    items = sub["data"]
    count = len(items)
    url = spec.sublist_url.format(id=obj["id"])
    has_more = count > EMBED_LIMIT
    changed = (
        has_more
        or sub.get("object") != "list"
        or sub.get("has_more") is not has_more
        or sub.get("url") != url
        or ("total_count" in sub and sub["total_count"] != count)
    )
    if not changed:
        return False, None
    sub["object"] = "list"
    sub["data"] = items[:EMBED_LIMIT]
    sub["has_more"] = has_more
    if "total_count" in sub:
        sub["total_count"] = count
    sub["url"] = url
    return True, orjson.dumps(items) if has_more else None


def _not_an_object(data: bytes, begin: int, source: str, exc: Exception) -> str:
    """Where a line is not a Stripe object, as a person finds it in an editor: the file's
    line and column, not a byte offset."""
    line = data.count(b"\n", 0, begin) + 1
    column = begin - (data.rfind(b"\n", 0, begin) + 1) + 1
    if isinstance(exc, orjson.JSONDecodeError):
        reason = f"invalid JSON at column {column + exc.pos}: {exc.msg}"
    elif isinstance(exc, KeyError):
        reason = f"no {exc.args[0]!r} field"
    else:
        reason = f"'created' is not a Unix time ({exc})"
    return f"{source or 'fixture'}, line {line}: not a Stripe object, {reason}"


def scan(data: bytes, resource: str, lo: int = 0, hi: int | None = None, source: str = "") -> Chunk:
    """Index the JSON lines in data[lo:hi] (offsets are positions in `data`)."""
    spec = RESOURCES[resource]
    extractors = list(spec.columns.values())
    view = memoryview(data)
    chunk = Chunk()
    end_of_data = len(data) if hi is None else hi
    start = lo
    while start < end_of_data:
        newline = data.find(b"\n", start)
        stop = end_of_data if newline == -1 else newline
        begin, start = start, stop + 1
        while begin < stop and data[begin] in _BLANK:
            begin += 1
        while stop > begin and data[stop - 1] in _BLANK:
            stop -= 1
        if begin == stop:
            continue
        try:
            obj = orjson.loads(view[begin:stop])
            object_id = obj["id"]
            created = int(obj["created"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(_not_an_object(data, begin, source, exc)) from exc
        if resource == "subscriptions":
            for item in (obj.get("items") or {}).get("data") or []:
                if isinstance(item, dict) and "id" in item:
                    chunk.item_parents.append((item["id"], object_id))
        chunk.values.append(tuple(_intern(get(obj)) for get in extractors))
        changed, full = normalize_sublist(obj, spec)
        if changed:
            chunk.patched[begin] = (object_id, orjson.dumps(obj))
        if full is not None:
            chunk.overflow[object_id] = full
        chunk.offsets.append(begin)
        chunk.lengths.append(stop - begin)
        chunk.created.append(created)
        chunk.ids.append(object_id)
    return chunk


# Set before the pool forks, so that workers read the parent's buffers instead of the files.
_BUFFERS: dict[str, bytes] = {}


def _scan_shared(resource: str, lo: int, hi: int, source: str) -> Chunk:
    return scan(_BUFFERS[resource], resource, lo, hi, source)


def _boundaries(buffer: bytes, step: int) -> list[int]:
    bounds = [0]
    while bounds[-1] + step < len(buffer):
        newline = buffer.find(b"\n", bounds[-1] + step)
        if newline == -1:
            break
        bounds.append(newline + 1)
    bounds.append(len(buffer))
    return bounds


def _gather(seq: Sequence[Any], order: list[int]) -> Sequence[Any]:
    """seq[i] for i in order, in C (itemgetter) rather than a Python loop."""
    if len(order) < 2:
        return [seq[i] for i in order]
    return itemgetter(*order)(seq)


def assemble(table: Table, buffer: bytes, chunks: list[Chunk]) -> None:
    """Sort the chunks' objects newest first into `table`.

    An id seen twice keeps its newest copy (on equal `created`, the later line).
    """
    offsets, lengths, created = array("Q"), array("I"), array("q")
    ids: list[str] = []
    values: list[tuple] = []
    patched: dict[int, tuple[str, bytes]] = {}
    for chunk in chunks:
        offsets.extend(chunk.offsets)
        lengths.extend(chunk.lengths)
        created.extend(chunk.created)
        ids.extend(chunk.ids)
        values.extend(chunk.values)
        patched.update(chunk.patched)
        table.overflow.update(chunk.overflow)
    # Two stable sorts with C key functions (no tuple per object): id desc, then created
    # desc. Starting from the last line puts a later duplicate before an earlier one.
    order = sorted(range(len(ids) - 1, -1, -1), key=ids.__getitem__, reverse=True)
    order.sort(key=created.__getitem__, reverse=True)
    if len(set(ids)) < len(ids):
        seen: set[str] = set()
        order = [i for i in order if not (ids[i] in seen or seen.add(ids[i]))]
    table.buffer = buffer
    table.ids = list(_gather(ids, order))
    table.pos = dict(zip(table.ids, range(len(order)), strict=True))
    table.offsets = array("Q", _gather(offsets, order))
    table.lengths = array("I", _gather(lengths, order))
    table.neg_created = array("q", (-c for c in _gather(created, order)))
    rows = _gather(values, order)
    for k, name in enumerate(table.columns):
        table.columns[name] = [row[k] for row in rows]
    for offset, (object_id, rewritten) in patched.items():
        position = table.pos[object_id]
        if table.offsets[position] == offset:  # not a dropped duplicate
            table.patched[position] = rewritten


def fixture_folder(path: str | Path) -> Path:
    """Accept the Stripe folder itself or a parent that has a `stripe/` subfolder."""
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"fixture folder not found: {root}")
    sub = root / "stripe"
    if sub.is_dir() and not any((root / f"{name}.jsonl").exists() for name in RESOURCES):
        return sub
    return root


def _read_manifest(folder: Path) -> dict:
    for candidate in (folder / "manifest.json", folder.parent / "manifest.json"):
        if candidate.is_file():
            return orjson.loads(candidate.read_bytes())
    return {}


def _pool(workers: int) -> ProcessPoolExecutor | None:
    # Fork only a single-threaded process (forking running threads risks deadlocks); spawn
    # would re-run the caller's __main__ and copy the buffers, so parse here instead.
    if threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))


def load_fixtures(path: str | Path, workers: int | None = None) -> Store:
    """Load every `<resource>.jsonl` of a fixture folder (missing files count as empty).

    `workers`: processes used to parse large folders (None: one per CPU, at most 8;
    1: parse in this process).
    """
    folder = fixture_folder(path)
    files = {name: folder / f"{name}.jsonl" for name in RESOURCES}
    files = {name: file for name, file in files.items() if file.is_file()}
    manifest = _read_manifest(folder)
    if not files and not manifest:
        # Missing files are fine, but none at all is a wrong path.
        raise FileNotFoundError(f"no Stripe fixtures (customers.jsonl, ...) in {folder}")
    total = sum(file.stat().st_size for file in files.values())
    if workers is None:
        workers = min(os.cpu_count() or 1, MAX_WORKERS)
    parallel = workers > 1 and total >= PARALLEL_MIN_BYTES

    buffers = {name: file.read_bytes() for name, file in files.items()}
    chunks: dict[str, list[Chunk | Future[Chunk]]] = {name: [] for name in files}
    _BUFFERS.update(buffers)
    pool = _pool(workers) if parallel else None
    try:
        for name, buffer in buffers.items():
            if pool is None or len(buffer) < CHUNK_BYTES:
                continue
            bounds = _boundaries(buffer, max(CHUNK_BYTES, total // (workers * 4)))
            for lo, hi in pairwise(bounds):
                job = pool.submit(_scan_shared, name, lo, hi, str(files[name]))
                chunks[name].append(job)
        # Small files are parsed here while the pool works on the big ones.
        for name, buffer in buffers.items():
            if not chunks[name]:
                chunks[name].append(scan(buffer, name, source=str(files[name])))
        tables: dict[str, Table] = {}
        item_parents: dict[str, str] = {}
        for name, spec in RESOURCES.items():
            table = tables[name] = Table(spec)
            if name not in buffers:
                continue
            done = [c.result() if isinstance(c, Future) else c for c in chunks[name]]
            assemble(table, buffers[name], done)
            for chunk in done:
                item_parents.update(chunk.item_parents)
    finally:
        _BUFFERS.clear()
        if pool is not None:
            pool.shutdown(cancel_futures=True)

    as_of = manifest.get("as_of_ts")
    if as_of is None:
        newest = [table.created_at(0) for table in tables.values() if len(table)]
        as_of = max(newest) if newest else int(time.time())
    store = Store(tables, int(as_of), folder)
    store.subscription_item_parent = item_parents
    return store
