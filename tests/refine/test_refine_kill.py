"""kill -9 at random points: the outputs appear as one set or not at all, a rerun cleans up,
and --resume continues an interrupted refinement to the same result as an uninterrupted run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from infoclr.runs import OutputSet

pytestmark = pytest.mark.slow


def _data(folder: Path) -> None:
    rng = np.random.default_rng(0)
    labels = np.arange(800) % 4
    centres = rng.normal(size=(4, 6)) * 1.5
    vectors = np.concatenate([centres[labels], rng.normal(size=(800, 10))], axis=1)
    np.save(folder / "in.npy", (vectors + rng.normal(size=vectors.shape)).astype(np.float32))
    np.save(folder / "labels.npy", labels)


def _command(folder: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "infoclr",
        "refine",
        str(folder / "in.npy"),
        "--out",
        str(folder / "out" / "r.npy"),
        "--labels",
        str(folder / "labels.npy"),
        "--epochs",
        "4",
        "--batch-size",
        "50",
        "--lr",
        "0.01",
        "--threads",
        "1",
        "--map-method",
        "pca",
        "--no-progress",
        *extra,
    ]


def _outputs(folder: Path) -> list[Path]:
    out = folder / "out"
    names = ["r.npy", "r.refiner.pt", "report.json", "refine.yaml", "refine_map.png"]
    return [out / name for name in names]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def _candidates(folder: Path) -> list[dict]:
    return json.loads((folder / "out" / "report.json").read_text())["selection"]["candidates"]


def _kill(folder: Path, wait_for_checkpoint: bool, delay: float) -> None:
    process = subprocess.Popen(
        _command(folder), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if wait_for_checkpoint:
        checkpoint = folder / "out" / "r.refine.ckpt"
        while not checkpoint.exists() and process.poll() is None:
            time.sleep(0.02)
    time.sleep(delay)
    process.kill()
    process.wait()


def test_kill_9_leaves_the_whole_set_or_nothing_and_resume_is_exact(tmp_path: Path) -> None:
    _data(tmp_path)
    started = time.monotonic()
    subprocess.run(_command(tmp_path), env=_env(), check=True, capture_output=True)
    duration = time.monotonic() - started
    reference = np.load(tmp_path / "out" / "r.npy")
    reference_candidates = _candidates(tmp_path)
    rng = np.random.default_rng(0)
    trials = [(True, 0.0), (False, rng.uniform(0.1, duration)), (False, rng.uniform(0.1, duration))]
    resumed = 0
    for wait_for_checkpoint, delay in trials:
        for path in _outputs(tmp_path):
            path.unlink()
        _kill(tmp_path, wait_for_checkpoint, delay)
        outputs = _outputs(tmp_path)
        if list((tmp_path / "out").glob(".*.commit.json")):
            OutputSet(outputs)  # killed during the renames: any later run completes the set
        present = [path.exists() for path in outputs]
        assert all(present) or not any(present), (delay, present)
        checkpoint = tmp_path / "out" / "r.refine.ckpt"
        extra = ["--overwrite"] if all(present) else ["--resume"] if checkpoint.exists() else []
        resumed += extra == ["--resume"]
        done = subprocess.run(_command(tmp_path, *extra), env=_env(), capture_output=True)
        assert done.returncode == 0, done.stderr
        assert all(path.exists() for path in outputs)
        left = sorted(p.name for p in (tmp_path / "out").iterdir() if p not in outputs)
        assert left == [], left  # no temporaries, no journal, no checkpoint
        np.testing.assert_array_equal(np.load(tmp_path / "out" / "r.npy"), reference)
        assert _candidates(tmp_path) == reference_candidates
    assert resumed >= 1  # the first trial is killed right after its first checkpoint


def test_ctrl_c_exits_130_with_one_line_that_names_resume(tmp_path: Path) -> None:
    import signal

    _data(tmp_path)
    process = subprocess.Popen(
        _command(tmp_path),
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job ignores SIGINT, and its children inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    checkpoint = tmp_path / "out" / "r.refine.ckpt"
    while not checkpoint.exists() and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate()
    assert process.returncode == 130, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted; continue with: infoclr refine "), err
    assert last.endswith(" --resume"), err
    assert "Traceback" not in err
    assert not any(path.exists() for path in _outputs(tmp_path))
