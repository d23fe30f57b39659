"""Candidate selection: label splits, the selection rule and its message, the scorer."""

from __future__ import annotations

import numpy as np
import pytest

from infoclr.errors import ConfigError, DataError
from infoclr.evaluation.selection import (
    CandidateScorer,
    Selection,
    before_after,
    check_labels,
    split_labelled,
    stability_clusters,
)


def test_split_is_stratified_disjoint_and_skips_unlabelled_rows() -> None:
    codes = np.repeat([0, 1, 2, 3], 50)
    codes[::7] = -1
    split = split_labelled(codes, 0.2, 0.2, seed=0)
    parts = [split.fit, split.val, split.test]
    union = np.concatenate(parts)
    assert len(union) == len(set(union.tolist())) == int((codes >= 0).sum()) == split.labelled
    assert (codes[union] >= 0).all()
    assert split.stratified
    for part in parts:
        counts = np.bincount(codes[part], minlength=4)
        assert counts.max() - counts.min() <= 2
    small = split_labelled(codes, 0.2, 0.0, seed=1, max_rows=40)
    assert len(small.fit) + len(small.val) == 40 and len(small.test) == 0
    assert small.sizes() == {"labelled": split.labelled, "used": 40, "fit": 32, "val": 8, "test": 0}
    with pytest.raises(DataError, match="at least 10 labelled"):
        split_labelled(np.array([0, 1, -1, 0, 1]), 0.2, 0.2, 0)
    with pytest.raises(ConfigError):
        split_labelled(codes, 0.6, 0.5, 0)


def test_split_depends_on_its_seed_only() -> None:
    codes = np.arange(300) % 3
    first, again = split_labelled(codes, 0.2, 0.2, 7), split_labelled(codes, 0.2, 0.2, 7)
    assert np.array_equal(first.test, again.test)
    assert not np.array_equal(first.test, split_labelled(codes, 0.2, 0.2, 8).test)


def test_small_classes_fall_back_to_an_unstratified_split() -> None:
    codes = np.array([0] * 20 + [1] * 2)  # class 1 has 2 rows: no stratified 3-way cut
    split = split_labelled(codes, 0.2, 0.2, 0)
    assert not split.stratified
    assert sum(split.sizes()[k] for k in ("fit", "val", "test")) == 22


def test_check_labels_needs_ten_rows_and_two_classes() -> None:
    check_labels(np.arange(10) % 2)
    with pytest.raises(DataError, match="single class"):
        check_labels(np.zeros(50, dtype=np.int64))
    with pytest.raises(DataError, match="only 9 rows have labels"):
        check_labels(np.array([0, 1] * 4 + [0] + [-1] * 30))


def test_stability_clusters_refuses_too_many_and_says_when_it_lowers_the_default() -> None:
    assert stability_clusters(1000, 10_000, None) == (10, None)
    assert stability_clusters(1000, 10_000, 40) == (40, None)
    with pytest.raises(ConfigError, match="num_clusters 500 is too many for 100 evaluation rows"):
        stability_clusters(100, 10_000, 500)
    k, note = stability_clusters(60, 10_000, None)
    assert k == 6 and note is not None and "K=6, not 10" in note
    k, note = stability_clusters(1000, 10_000, None, np.arange(1000) % 30)
    assert (k, note) == (30, None)
    with pytest.raises(DataError, match="at least 20 rows"):
        stability_clusters(15, 10_000, None)


def test_selection_ties_go_to_the_earlier_epoch() -> None:
    selection = Selection(criterion="c", metric="m", min_gain=0.01)
    assert selection.offer(0, {"m": 0.5})
    assert not selection.offer(1, {"m": 0.505})  # within min_gain
    assert selection.offer(2, {"m": 0.52})
    assert not selection.offer(3, {"m": 0.52})
    assert selection.chosen_epoch == 2
    assert (
        selection.explain(identity_at_zero=True)
        == "kept epoch 2: 0.5200 c, against 0.5000 for epoch 0 (the input itself)"
    )


def test_selection_guards_keep_every_metric_at_or_above_the_input() -> None:
    selection = Selection(criterion="c", metric="mean", guards=("a", "b"))
    selection.offer(0, {"mean": 0.80, "a": 0.90, "b": 0.70})
    assert not selection.offer(1, {"mean": 0.85, "a": 1.00, "b": 0.69})  # b fell
    assert selection.offer(2, {"mean": 0.82, "a": 0.93, "b": 0.71})
    assert selection.chosen_epoch == 2 and selection.as_dict()["guards"] == ["a", "b"]


@pytest.mark.parametrize(
    ("later", "min_gain", "reason"),
    [
        (
            {"mean": 0.79, "a": 0.95, "b": 0.72},
            0.0,
            "no trained epoch scored higher on c (best: epoch 1, 0.7900 against 0.8000)",
        ),
        (
            {"mean": 0.85, "a": 1.00, "b": 0.69},
            0.0,
            "epoch 1 scored higher (0.8500 against 0.8000) but its b fell below the input's "
            "(0.6900 against 0.7000)",
        ),
        (
            {"mean": 0.805, "a": 0.95, "b": 0.72},
            0.01,
            "epoch 1 scored 0.0050 higher, not more than min_gain 0.01",
        ),
    ],
)
def test_the_message_states_the_one_reason_that_kept_the_input(
    later: dict[str, float], min_gain: float, reason: str
) -> None:
    selection = Selection(criterion="c", metric="mean", min_gain=min_gain, guards=("a", "b"))
    selection.offer(0, {"mean": 0.80, "a": 0.90, "b": 0.70})
    selection.offer(1, later)
    assert selection.explain(identity_at_zero=True) == f"kept epoch 0 (the input itself): {reason}"


def test_selection_state_round_trips() -> None:
    selection = Selection(criterion="c", metric="m")
    selection.offer(0, {"m": 0.1})
    selection.offer(1, {"m": 0.3})
    restored = Selection(criterion="c", metric="m")
    restored.load(selection.as_dict())
    assert restored.candidates == selection.candidates and restored.chosen_epoch == 1
    assert not restored.offer(2, {"m": 0.2})


def _blobs(rows: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(rows) % 3
    centres = rng.normal(size=(3, 8)) * 3
    return (centres[labels] + rng.normal(size=(rows, 8))).astype(np.float32), labels


def test_scorer_with_labels_scores_val_rows_and_describes_the_subsample() -> None:
    vectors, labels = _blobs(300)
    scorer = CandidateScorer(vectors, labels, eval_rows=200, seed=3)
    assert scorer.split is not None and scorer.split.sizes()["used"] == 200
    assert "200 of 300 (a random subset" in scorer.describe()
    scores = scorer.score(None)
    assert set(scores) == {"linear_top1", "knn_top1", "mean_top1"}
    assert scores["mean_top1"] == pytest.approx(0.5 * (scores["linear_top1"] + scores["knn_top1"]))
    broken = scorer.score(lambda rows: rows * np.nan)
    assert broken["mean_top1"] == -np.inf


def test_scorer_without_labels_uses_kmeans_stability_on_a_fixed_subset() -> None:
    vectors, _ = _blobs(300)
    scorer = CandidateScorer(vectors, eval_rows=100, num_clusters=3, seed=0)
    assert len(scorer.rows) == 100 and scorer.num_clusters == 3
    first = scorer.score(None)
    assert set(first) == {"kmeans_stability"}
    assert scorer.score(None) == first  # the same halves every time
    assert scorer.score(lambda rows: rows.copy()) == first


def test_before_after_scores_the_test_rows_selection_never_saw() -> None:
    vectors, labels = _blobs(300)
    scorer = CandidateScorer(vectors, labels, seed=0)
    scorer.selection.offer(0, scorer.score(None))
    report = before_after(vectors, None, labels, scorer.split, scorer.selection)
    assert report["split"]["test"] == len(scorer.split.test) > 0
    assert report["original"] == report["refined"]
    assert set(report["original"]) == {"linear_top1", "knn_top1", "kmeans_nmi"}
    assert all(value == 0 for value in report["change"].values())
