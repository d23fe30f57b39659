"""Resumable sweeps: rows saved as runs finish, resume skips them, failures and Ctrl-C."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infoclr.errors import DataError
from infoclr.sweeps import (
    INTERRUPTED,
    ResultsFile,
    interleaved,
    machine,
    peak_rss_growth,
    pretrain_row,
    run_pending,
)


def double(job: dict) -> dict:
    return {"key": job["key"], "value": 2 * job["x"]}


def fail_on_three(job: dict) -> dict:
    if job["x"] == 3:
        raise RuntimeError("broken run")
    return double(job)


def saved(path: Path) -> dict[str, int]:
    return {row["key"]: row["value"] for row in json.loads(path.read_text())["rows"]}


def test_sweep_saves_resumes_and_survives_failures(tmp_path: Path) -> None:
    path = tmp_path / "out" / "results.json"
    jobs = [{"key": f"job{x}", "x": x, "cost": x} for x in range(5)]
    messages: list[str] = []
    results = ResultsFile(path)
    results.note("first")
    assert run_pending(jobs, fail_on_three, results, echo=messages.append) == 1
    assert any(m.startswith("FAILED job3") and "broken run" in m for m in messages)
    assert saved(path) == {"job0": 0, "job1": 2, "job2": 4, "job4": 8}
    # The longest job ran first.
    assert [m.split()[1] for m in messages if m.startswith("[")][0] == "job4"
    # A second sweep runs only what is missing, and records its command too.
    messages.clear()
    calls: list[str] = []

    def counting(job: dict) -> dict:
        calls.append(job["key"])
        return double(job)

    again = ResultsFile(path)
    again.note("second")
    assert run_pending(jobs, counting, again, echo=messages.append) == 0
    assert calls == ["job3"] and messages[0].startswith("1 of 5 run(s) to do")
    assert saved(path) == {f"job{x}": 2 * x for x in range(5)}
    assert json.loads(path.read_text())["meta"]["commands"] == ["first", "second"]


def test_an_interrupted_sweep_keeps_what_finished(tmp_path: Path) -> None:
    path = tmp_path / "results.json"

    def interrupted(job: dict) -> dict:
        if job["x"] == 2:
            raise KeyboardInterrupt
        return double(job)

    jobs = [{"key": f"job{x}", "x": x, "cost": -x} for x in range(4)]  # run in order 0, 1, 2
    messages: list[str] = []
    assert run_pending(jobs, interrupted, ResultsFile(path), echo=messages.append) == INTERRUPTED
    assert saved(path) == {"job0": 0, "job1": 2}
    assert "the same command resumes" in messages[-1]


def test_sweep_runs_jobs_in_spawned_worker_processes(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    # The worker must be importable by name in a spawned process: the built-in dict (a copy of
    # the job, key included) is.
    jobs = [{"key": f"j{x}", "x": x} for x in range(3)]
    assert run_pending(jobs, dict, ResultsFile(path), n_jobs=2, echo=lambda _: None) == 0
    rows = json.loads(path.read_text())["rows"]
    assert sorted((row["key"], row["x"]) for row in rows) == [("j0", 0), ("j1", 1), ("j2", 2)]


def test_results_file_checks_its_input(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(DataError, match="is not a results file"):
        ResultsFile(broken)
    broken.write_text(json.dumps({"rows": [{"no key": 1}]}))
    with pytest.raises(DataError, match="is not a results file"):
        ResultsFile(broken)
    with pytest.raises(DataError, match="unique"):
        run_pending([{"key": "a"}, {"key": "a"}], dict, ResultsFile(tmp_path / "r.json"))
    assert not (tmp_path / "r.json").exists()


def test_interleaved_times_round_by_round_within_a_budget() -> None:
    order: list[str] = []
    calls = {"a": lambda: order.append("a"), "b": lambda: order.append("b") or 0.25}
    times = interleaved(calls, rounds=3, warmup=1)
    assert order == ["a", "b"] * 4  # one warm-up round, then three timed rounds
    assert times["b"]["wall"] == [0.25] * 3  # a call that returns a number reports its seconds
    assert len(times["a"]["wall"]) == len(times["a"]["cpu"]) == 3
    assert all(seconds >= 0 for seconds in times["a"]["wall"] + times["a"]["cpu"])
    # Over budget after its minimum number of rounds, a candidate stops; the others go on.
    cut = interleaved({"slow": lambda: 1.0, "fast": lambda: None}, 5, budget=1.5, min_rounds=2)
    assert len(cut["slow"]["wall"]) == 2 and len(cut["fast"]["wall"]) == 5


def test_machine_describes_this_machine() -> None:
    info = machine()
    assert info["cpus"] >= 1 and info["usable_cpus"] >= 1 and info["processor"]
    assert len(info["date"]) == 10 and json.loads(json.dumps(info)) == info


def test_peak_rss_growth_sees_a_temporary_allocation() -> None:
    import numpy as np

    grown = peak_rss_growth(lambda: np.ones(64 * 2**20, dtype=np.uint8).sum())  # 64 MiB, freed
    if grown is None:
        pytest.skip("no /proc/self/clear_refs here")
    assert 48 <= grown < 1024


def test_pretrain_row_trains_one_run_and_keeps_its_scores(tmp_path: Path) -> None:
    config = dict(dataset="digits", backbone_width=8, epochs=1, knn_every=0, probe_epochs=5)
    config.update(baselines=False, projection_dim=32, output_dir=str(tmp_path), name="one")
    row = pretrain_row({"key": "digits|0", "cost": 3, "variant": "simclr", "config": config})
    assert row["key"] == "digits|0" and row["variant"] == "simclr"
    assert "config" not in row and "cost" not in row
    assert row["method"] == "simclr" and row["seed"] == 0 and row["epochs"] == 1
    metrics = json.loads((Path(row["run_dir"]) / "metrics.json").read_text())
    assert row["linear_top1"] == metrics["linear_top1"] and row["knn_top1"] == metrics["knn_top1"]
    assert row["lr"] > 0 and row["wall_seconds"] > 0
