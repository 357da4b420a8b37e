"""Readers for a generated world, shared by the sandbox tests."""

from __future__ import annotations

import csv
import hashlib
from decimal import Decimal
from pathlib import Path

import orjson


def stripe_objects(world: Path, resource: str) -> list[dict]:
    path = world / "stripe" / f"{resource}.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def truth(world: Path, name: str) -> list[dict]:
    with (world / "ground_truth" / f"{name}.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def money(value: str) -> Decimal:
    return Decimal(value) if value else Decimal(0)


def file_digests(world: Path) -> dict[str, str]:
    return {
        str(path.relative_to(world)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(world.rglob("*"))
        if path.is_file()
    }
