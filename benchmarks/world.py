"""Benchmark: sandbox world generation time, peak memory and size per scale.

    uv run python -m benchmarks.world small medium large [--keep]

Each scale runs in a child process so that its peak memory (largest process, workers
included) can be read from the kernel's accounting. Prints figures; no pass/fail."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

TARGETS = {"small": "seconds", "medium": "60 s", "large": "10 min"}
AS_OF = "2026-11-15"


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(scale: str, out: Path) -> dict:
    code = (
        "import json, sys; from datetime import date; from pathlib import Path;"
        "from sandbox.world.generate import generate_world;"
        f"m = generate_world({scale!r}, 42, date.fromisoformat({AS_OF!r}), Path({str(out)!r}));"
        "print(json.dumps(m, default=str))"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    peak_kb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    manifest = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "scale": scale,
        "seconds": wall,
        "peak_mb": peak_kb / 1024,
        "size_mb": _size(out) / 1e6,
        "accounts": manifest["accounts"],
        "objects": sum(manifest["stripe_objects"].values()),
        "app_rows": sum(manifest["app_rows"].values()),
    }


def main(argv: list[str]) -> None:
    keep = "--keep" in argv
    scales = [a for a in argv if not a.startswith("--")] or ["small", "medium"]
    console = Console(width=140)
    table = Table(title=f"Sandbox world generation (as of {AS_OF}, seed 42)")
    for column in (
        "scale",
        "accounts",
        "Stripe objects",
        "app rows",
        "seconds",
        "target",
        "peak memory",
        "size on disk",
    ):
        table.add_column(column, justify="right")
    for scale in scales:
        out = Path("warehouse/bench") / scale
        shutil.rmtree(out, ignore_errors=True)
        console.print(f"generating {scale}...")
        r = measure(scale, out)
        table.add_row(
            scale,
            f"{r['accounts']:,}",
            f"{r['objects']:,}",
            f"{r['app_rows']:,}",
            f"{r['seconds']:.1f}",
            TARGETS.get(scale, ""),
            f"{r['peak_mb']:.0f} MB",
            f"{r['size_mb']:,.0f} MB",
        )
        if not keep:
            shutil.rmtree(out, ignore_errors=True)
    console.print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
