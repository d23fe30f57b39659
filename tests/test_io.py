from __future__ import annotations

import os
from pathlib import Path

import pytest

from infoclr.io import atomic_write, atomic_write_json


def test_atomic_write_respects_umask_and_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = atomic_write_json(tmp_path / "a.json", {"x": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert (target.stat().st_mode & 0o777) == 0o666 & ~umask

    def broken(handle) -> None:
        handle.write(b"partial")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "a.json", broken)
    assert (tmp_path / "a.json").read_text().strip().startswith("{")  # old file intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]  # no temporary left
