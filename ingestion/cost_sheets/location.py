"""Where input files live: a local folder or any fsspec URL (file://, s3://, memory://, ...)."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import fsspec
from fsspec import AbstractFileSystem

from .reader import FileProblem

T = TypeVar("T")


class LocationMissing(Exception):
    """The location does not exist: the source is skipped, which is not an error."""


class LocationError(Exception):
    """The location cannot be read at all (unknown protocol, missing driver, no access)."""


@dataclass(frozen=True)
class InputFile:
    fs: AbstractFileSystem
    path: str  # as the filesystem names it
    name: str  # relative to the location: the lineage and merge key of its rows

    @property
    def suffix(self) -> str:
        return posixpath.splitext(self.path)[1].lower()

    @property
    def stem(self) -> str:
        return posixpath.splitext(posixpath.basename(self.path))[0]

    def read(self) -> bytes:
        try:
            return self.fs.cat_file(self.path)
        except OSError:
            raise
        except Exception as exc:
            # remote filesystems raise their own types (botocore, google-auth, ...)
            raise OSError(f"{type(exc).__name__}: {exc}") from exc


def _open(location: str | Path) -> tuple[AbstractFileSystem, str]:
    try:
        fs, root = fsspec.core.url_to_fs(str(location))
    except (ImportError, ValueError) as exc:  # e.g. s3:// without s3fs installed
        raise LocationError(f"cannot open {location}: {exc}") from exc
    root = root.rstrip("/") or "/"
    try:
        exists = fs.exists(root)
    except Exception as exc:
        # remote filesystems raise their own types (botocore's NoCredentialsError, ...)
        raise LocationError(f"cannot open {location}: {type(exc).__name__}: {exc}") from exc
    if not exists:
        raise LocationMissing(f"{location} does not exist")
    return fs, root


def _hidden(relative: str) -> bool:
    # dot files and folders, and the lock files Excel and LibreOffice leave next to open files
    return any(part.startswith((".", "~$")) for part in relative.split("/"))


def find_files(location: str | Path, suffixes: tuple[str, ...]) -> list[InputFile]:
    """Every file below `location` (recursively) whose name ends with one of `suffixes`,
    sorted by name; `location` may also be one such file."""
    fs, root = _open(location)
    if not fs.isdir(root):
        name = posixpath.basename(root)
        if not name.lower().endswith(suffixes):
            raise LocationError(f"{location} is not a {' or '.join(suffixes)} file")
        return [InputFile(fs, root, name)]
    found = []
    for path in fs.find(root):
        relative = posixpath.relpath(path, root)
        if relative.lower().endswith(suffixes) and not _hidden(relative):
            found.append(InputFile(fs, path, relative))
    return sorted(found, key=lambda f: f.name)


def find_file(location: str | Path, default_name: str) -> InputFile:
    """The file at `location`, or the file called `default_name` in the folder `location`."""
    fs, root = _open(location)
    if fs.isdir(root):
        path = posixpath.join(root, default_name)
        if not fs.exists(path):
            raise LocationMissing(f"{location} has no {default_name}")
        return InputFile(fs, path, default_name)
    return InputFile(fs, root, posixpath.basename(root))


def locate(
    location: str | Path | None, report, absent: str, find: Callable[[str | Path], T]
) -> T | None:
    """Resolve a load's input: None or a missing place skips the source with the reason, an
    unusable one is an error in the report. -> what `find` found, or None to stop."""
    if location is None:
        report.skipped = absent
        return None
    try:
        return find(location)
    except LocationMissing as exc:
        report.skipped = str(exc)
    except LocationError as exc:
        report.errors.append(str(exc))
    return None


def read_parsed(file: InputFile, parse: Callable[[InputFile, bytes], T], report) -> T | None:
    """`parse(file, content)`, or None with an error naming the file in the report."""
    try:
        return parse(file, file.read())
    except FileProblem as exc:
        report.errors.append(f"{file.name} {exc}")
    except OSError as exc:
        report.errors.append(f"{file.name} cannot be read: {exc}")
    return None
