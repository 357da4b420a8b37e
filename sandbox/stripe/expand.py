"""`expand[]`: replace id strings along dotted paths with the objects they name."""

from __future__ import annotations

from typing import Any

import orjson

from .fixtures import Store


def _resolve(store: Store, value: Any) -> Any:
    if isinstance(value, str):
        raw = store.resolve(value)
        if raw is not None:
            # A fresh copy per use: shared dicts could nest into cycles on deeper paths.
            return orjson.loads(raw)
    return value


def _walk(store: Store, node: Any, path: list[str]) -> None:
    if isinstance(node, list):
        for element in node:
            _walk(store, element, path)
        return
    if not isinstance(node, dict) or not path:
        return
    key, rest = path[0], path[1:]
    if key not in node:
        return
    value = node[key]
    if isinstance(value, list):
        # e.g. `discounts`: a list of ids expands element by element.
        value[:] = [_resolve(store, element) for element in value]
    else:
        value = node[key] = _resolve(store, value)
    if rest:
        _walk(store, value, rest)


def expand(store: Store, obj: Any, paths: list[str]) -> Any:
    """Expand `paths` in place (shorter paths first) and return obj.

    Ids that name no stored object (payment methods, discounts, ...) are left as they are,
    as are paths that lead nowhere.
    """
    for path in sorted(set(paths), key=lambda p: p.count(".")):
        _walk(store, obj, [part for part in path.split(".") if part])
    return obj
