"""mypy over the project packages ([tool.mypy] in pyproject.toml), held to a baseline.

The errors that existed when type checking started are listed in mypy-baseline.txt,
without line numbers so that edits elsewhere in a file do not disturb them. The check fails
when mypy reports an error the baseline does not hold (the baseline must not grow); errors
that are gone are reported so the baseline can shrink.

    python scripts/mypy_baseline.py            # check (make lint, make test, pre-commit)
    python scripts/mypy_baseline.py --update   # rewrite the baseline from the current errors
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "mypy-baseline.txt"
# "path/file.py:123: error: message  [code]" (columns are not asked for)
ERROR_LINE = re.compile(r"^(?P<path>[^:\s]+\.pyi?):\d+: error: (?P<message>.*)$")
UPDATE_HINT = "python scripts/mypy_baseline.py --update"


def current_errors() -> Counter[str]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--no-error-summary",
            "--hide-error-context",
            "--no-pretty",
            "--no-color-output",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1):  # 2: mypy itself failed (bad config, crash)
        sys.exit(f"mypy failed to run:\n{result.stdout}{result.stderr}")
    errors: Counter[str] = Counter()
    for line in result.stdout.splitlines():
        match = ERROR_LINE.match(line)
        if match:
            errors[f"{match['path']}: {match['message']}"] += 1
    return errors


def read_baseline() -> Counter[str]:
    if not BASELINE.exists():
        return Counter()
    lines = BASELINE.read_text(encoding="utf-8").splitlines()
    return Counter(line for line in lines if line and not line.startswith("#"))


def write_baseline(errors: Counter[str]) -> None:
    header = f"# mypy errors accepted when type checking started; shrink it, never grow it ({UPDATE_HINT})\n"
    BASELINE.write_text(
        header + "".join(f"{e}\n" for e in sorted(errors.elements())), encoding="utf-8"
    )


def main(argv: list[str]) -> int:
    errors = current_errors()
    if "--update" in argv:
        write_baseline(errors)
        print(f"mypy baseline: {sum(errors.values())} error(s) written to {BASELINE.name}")
        return 0
    baseline = read_baseline()
    new = errors - baseline
    gone = baseline - errors
    if gone:
        print(
            f"mypy baseline: {sum(gone.values())} listed error(s) are gone; shrink the baseline with {UPDATE_HINT}"
        )
    if new:
        print(f"mypy: {sum(new.values())} new error(s) not in {BASELINE.name}:")
        for error in sorted(new.elements()):
            print(f"  {error}")
        print(
            f"Fix them (run `mypy` for line numbers), or, if one must stay, accept it with {UPDATE_HINT}"
        )
        return 1
    print(f"mypy baseline: no new errors ({sum(errors.values())} known, in {BASELINE.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
