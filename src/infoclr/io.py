"""Atomic file writes: a file is either the old one, or the complete new one, never a torso."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, fsync it, then rename it
    over ``path``. A crash or kill part-way leaves ``path`` untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    # mkstemp creates 0600; give the file the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def json_safe(value: Any) -> Any:
    """A copy of ``value`` that strict JSON accepts: NaN and ±inf become null, numpy / torch
    scalars plain numbers, tuples lists, paths strings."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()  # numpy / torch scalars
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def json_text(data: Any) -> str:
    """``data`` as indented strict JSON (see :func:`json_safe`), with a final newline."""
    return json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n"


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as strict JSON (see :func:`json_safe`), atomically."""
    text = json.dumps(json_safe(data), indent=2, sort_keys=True, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def atomic_torch_save(obj: Any, path: str | os.PathLike[str]) -> Path:
    import torch

    return atomic_write(path, lambda handle: torch.save(obj, handle))
