"""A run folder's files, written atomically (a reader never sees half a file), and its
``meta.json`` read back. Torch-free, like ``bench.schema``, which re-exports these names: the
reports and the bench import them from there."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


class RunFolderError(Exception):
    """A run folder's file that cannot be read; the message names the path and problem."""


def atomic_write(path: str | os.PathLike, write: Callable[[str], Any]) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file over ``path``, so a reader never
    sees half a file. The file gets the umask's mode (not ``mkstemp``'s 0600)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    os.umask(umask := os.umask(0))  # read the umask, setting it back at once
    os.chmod(tmp, 0o666 & ~umask)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
    atomic_write(path, lambda p: Path(p).write_text(text))


def read_meta(folder: str | os.PathLike) -> dict[str, Any] | None:
    """A run folder's ``meta.json`` as a dict, or ``None`` when the file does not exist.

    Raises ``RunFolderError`` when it exists but is not readable JSON or not an object."""
    path = Path(folder) / "meta.json"
    if not path.exists():
        return None
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        why = " ".join(str(exc).split())
        raise RunFolderError(f"unreadable meta.json {path}: {why}") from None
    if not isinstance(meta, dict):
        raise RunFolderError(f"unreadable meta.json {path}: not a JSON object")
    return meta
