"""Candidate selection: keep refined vectors only where they score better than the input.

SimSkip's guarantee (Liu, Kim & Bansal, arXiv 2404.08701) is about what the skip-connected
refiner *can* represent: the identity is always available, so the best refiner is never worse
than the input. Training does not find that best refiner by itself (a prototype lowered the
5-fold linear accuracy of BBC News / MiniLM from 0.969 to 0.956-0.961), so infoclr makes the
guarantee hold on a validation split by *selection*: epoch 0 (the identity, i.e. exactly the
input) and the refiner after every evaluated epoch are candidates (:class:`Selection`), scored
by a :class:`CandidateScorer`.

* With labels: a linear probe and a k-NN classifier are trained on the refined "fit" rows and
  scored (top-1) on the refined "val" rows (a stratified split of the labelled rows,
  :func:`split_labelled`). The default score is their mean, and a candidate whose linear or
  k-NN score falls below the input's is never kept (``select_by="both"``); ``"linear"`` /
  ``"knn"`` use one of them. A third "test" split is kept away from selection for the
  before/after report (:func:`before_after`).
* Without labels: k-means stability (:func:`infoclr.evaluation.clustering.kmeans_stability`).
  It rewards vectors with crisper cluster structure; it cannot know the downstream task, so it
  is a heuristic, not a guarantee.

The split and the evaluation subsets depend on their own seed, not on the training seed, so
the input's scores stay put when only the training seed changes. Importing this module loads
no torch, faiss or scikit-learn: :func:`check_labels` and :func:`stability_clusters` check a
run's inputs before anything heavy is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from infoclr.errors import ConfigError, DataError

__all__ = [
    "CandidateScorer",
    "LabelSplit",
    "Selection",
    "before_after",
    "check_labels",
    "gather_rows",
    "split_labelled",
    "stability_clusters",
]

SelectBy = Literal["both", "linear", "knn"]
Refine = Callable[[np.ndarray], np.ndarray]

MIN_LABELLED_ROWS = 10
MIN_STABILITY_ROWS = 20
# k-means stability needs enough rows per cluster for the halves to agree on anything.
ROWS_PER_CLUSTER = 10
DEFAULT_CLUSTERS = 10


def check_labels(codes: np.ndarray, what: str = "labels") -> None:
    """DataError unless at least 10 rows are labelled with at least 2 classes (numpy only)."""
    labelled = codes[codes >= 0]
    if labelled.size < MIN_LABELLED_ROWS:
        raise DataError(
            f"only {labelled.size} rows have {what}; selection needs at least "
            f"{MIN_LABELLED_ROWS} labelled rows (leave out --{what} to select without them)"
        )
    if np.unique(labelled).size < 2:
        raise DataError(
            f"the {what} have a single class; selection needs at least 2 classes "
            f"(leave out --{what} to select without them)"
        )


def stability_clusters(
    num_rows: int,
    eval_rows: int,
    num_clusters: int | None,
    cluster_codes: np.ndarray | None = None,
) -> tuple[int, str | None]:
    """K of the k-means-stability score and a note when the default had to be lowered.

    K is ``num_clusters`` when given, else the number of auxiliary clusters, else 10; it may
    be at most one cluster per 10 evaluation rows. A ``num_clusters`` above that is a one-line
    ConfigError; a default above it is lowered, and the note says so.
    """
    count = min(num_rows, eval_rows)
    if count < MIN_STABILITY_ROWS:
        raise DataError(
            f"the selection without labels needs at least {MIN_STABILITY_ROWS} rows, got "
            f"{count}; pass --labels or more rows"
        )
    limit = max(2, count // ROWS_PER_CLUSTER)
    if num_clusters is not None:
        if num_clusters > limit:
            raise ConfigError(
                f"num_clusters {num_clusters} is too many for {count} evaluation rows (at most "
                f"{limit}: k-means stability needs {ROWS_PER_CLUSTER} rows per cluster); use "
                f"--num-clusters {limit} or fewer"
            )
        return num_clusters, None
    source = "the default"
    wanted = DEFAULT_CLUSTERS
    if cluster_codes is not None and (cluster_codes >= 0).any():
        wanted = int(np.unique(cluster_codes[cluster_codes >= 0]).size)
        source = "the number of auxiliary clusters"
    if wanted <= limit:
        return max(2, wanted), None
    return limit, (
        f"k-means stability uses K={limit}, not {wanted} ({source}): {count} evaluation rows "
        f"allow at most one cluster per {ROWS_PER_CLUSTER} rows"
    )


@dataclass
class LabelSplit:
    """Row indices (into the full input) of the labelled rows, split three ways.

    Attributes:
        fit: rows the selection probe is trained on.
        val: rows the selection probe is scored on.
        test: rows kept away from selection; the before/after report scores on them.
        stratified: whether the split is stratified by label.
        labelled: how many rows have a label (fit + val + test may be a subsample of them).
    """

    fit: np.ndarray
    val: np.ndarray
    test: np.ndarray
    stratified: bool
    labelled: int = 0

    def sizes(self) -> dict[str, int]:
        used = len(self.fit) + len(self.val) + len(self.test)
        return {
            "labelled": self.labelled,
            "used": used,
            "fit": len(self.fit),
            "val": len(self.val),
            "test": len(self.test),
        }


def _split(
    rows: np.ndarray, held: float, seed: int, strata: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(rows, test_size=held, random_state=seed, stratify=strata)
    except ValueError:
        # Too few rows of some class for a stratified cut of this size: cut at random.
        return train_test_split(rows, test_size=held, random_state=seed, stratify=None)


def split_labelled(
    codes: np.ndarray,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    max_rows: int | None = None,
) -> LabelSplit:
    """Stratified fit/val/test split of the rows with a label (code ≥ 0).

    Args:
        codes: (N,) int64 label codes, −1 for unlabelled rows.
        val_fraction: fraction of the labelled rows for selection.
        test_fraction: fraction for the before/after report (0: report on ``val``).
        seed: RNG seed.
        max_rows: use at most this many labelled rows (a stratified random subset), which
            bounds the cost of evaluating every epoch on very large inputs.

    Falls back to an unstratified split when a class has fewer than 3 labelled rows.
    """
    if not 0 < val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ConfigError(
            f"val_fraction ({val_fraction}) and test_fraction ({test_fraction}) must be in "
            "(0, 1) and [0, 1) with a sum below 1"
        )
    check_labels(codes)
    labelled = np.flatnonzero(codes >= 0)
    total = labelled.size
    rng = np.random.default_rng(seed)
    counts = np.bincount(codes[labelled])
    stratified = bool(counts[counts > 0].min() >= 3)
    if max_rows is not None and labelled.size > max_rows:
        strata = codes[labelled] if stratified else None
        labelled, _ = _split(labelled, labelled.size - max_rows, int(rng.integers(2**31)), strata)
    held_fraction = val_fraction + test_fraction
    strata = codes[labelled] if stratified else None
    fit, held = _split(labelled, held_fraction, int(rng.integers(2**31)), strata)
    if test_fraction > 0:
        strata = codes[held] if stratified else None
        val, test = _split(held, test_fraction / held_fraction, int(rng.integers(2**31)), strata)
    else:
        val, test = held, np.empty(0, dtype=np.int64)
    return LabelSplit(np.sort(fit), np.sort(val), np.sort(test), stratified, int(total))


@dataclass
class Selection:
    """The candidates that were scored and the one that was kept.

    The rule: epoch 0 is the first candidate; a later candidate replaces the kept one when its
    ``metric`` is higher by more than ``min_gain`` and none of its ``guards`` is below epoch
    0's. Ties keep the earlier candidate.

    Attributes:
        criterion: what the score is (human-readable).
        metric: the key of ``candidates[i]`` that is compared.
        min_gain: a later candidate must beat the kept one by more than this.
        guards: score keys on which a candidate may not fall below epoch 0 (the input).
        candidates: one dict per evaluated epoch: ``{"epoch": e, <metric>: score, ...}``.
        chosen_epoch: the kept epoch (0 = the input itself for a skip refiner).
        best_score: the kept candidate's score.
        reason: one sentence on why it was kept.
    """

    criterion: str
    metric: str
    min_gain: float = 0.0
    guards: tuple[str, ...] = ()
    candidates: list[dict[str, float]] = field(default_factory=list)
    chosen_epoch: int = 0
    best_score: float = float("-inf")
    reason: str = ""

    def offer(self, epoch: int, scores: dict[str, float]) -> bool:
        """Record a candidate; returns True when it becomes the kept one."""
        self.candidates.append({"epoch": epoch, **scores})
        if len(self.candidates) == 1:
            self.best_score, self.chosen_epoch = scores[self.metric], epoch
            return True
        if self._failed_guards(scores) or scores[self.metric] <= self.best_score + self.min_gain:
            return False
        self.best_score, self.chosen_epoch = scores[self.metric], epoch
        return True

    def _failed_guards(self, scores: dict[str, float]) -> list[str]:
        first = self.candidates[0]
        return [key for key in self.guards if scores[key] < first[key]]

    def rule(self) -> str:
        """The selection rule in one sentence."""
        guard = f", and none of {' / '.join(self.guards)} below the input's" if self.guards else ""
        return (
            f"keep the candidate with the highest {self.criterion}: a later epoch replaces the "
            f"kept one only if it scores more than {self.min_gain:g} higher{guard}"
        )

    def explain(self, identity_at_zero: bool) -> str:
        """Set and return :attr:`reason`: which candidate was kept, in one sentence."""
        first = self.candidates[0]
        start = "epoch 0 (the input itself)" if identity_at_zero else "epoch 0 (untrained)"
        trained = self.candidates[1:]
        if self.chosen_epoch != 0:
            self.reason = (
                f"kept epoch {self.chosen_epoch}: {self.best_score:.4f} {self.criterion}, "
                f"against {first[self.metric]:.4f} for {start}"
            )
        elif not trained:
            self.reason = f"kept {start}: no trained epoch was scored"
        else:
            self.reason = f"kept {start}: " + self._why_not(max(trained, key=self._key), first)
        return self.reason

    def _key(self, candidate: dict[str, float]) -> float:
        return candidate[self.metric]

    def _why_not(self, best: dict[str, float], first: dict[str, float]) -> str:
        epoch, score, start = int(best["epoch"]), best[self.metric], first[self.metric]
        if score <= start:
            return (
                f"no trained epoch scored higher on {self.criterion} (best: epoch {epoch}, "
                f"{score:.4f} against {start:.4f})"
            )
        failed = self._failed_guards(best)
        if failed:
            key = failed[0]
            return (
                f"epoch {epoch} scored higher ({score:.4f} against {start:.4f}) but its {key} "
                f"fell below the input's ({best[key]:.4f} against {first[key]:.4f})"
            )
        return (
            f"epoch {epoch} scored {score - start:.4f} higher, not more than min_gain "
            f"{self.min_gain:g}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "guards": list(self.guards), "rule": self.rule()}

    def load(self, saved: dict[str, Any]) -> None:
        """Restore the candidates and the choice from :meth:`as_dict` (a resumed run)."""
        self.candidates = [dict(c) for c in saved["candidates"]]
        self.chosen_epoch = int(saved["chosen_epoch"])
        self.best_score = float(saved["best_score"])


def gather_rows(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(len(rows), D) float32 copy of ``vectors[rows]``, read in sorted order (memmap-friendly)."""
    order = np.argsort(rows, kind="stable")
    sorted_rows = np.asarray(vectors[rows[order]], dtype=np.float32)
    return sorted_rows[np.argsort(order, kind="stable")]


class CandidateScorer:
    """Scores candidates (functions that refine rows) on a fixed subset that is read once.

    Args:
        vectors: (N, D) rows (a memmap is read once, in sorted order).
        label_codes: (N,) int64 label codes (−1 = unlabelled), or None: with labels the score is
            a probe on a held-out split, without it k-means stability.
        cluster_codes: (N,) auxiliary cluster ids; their number is K's default without labels.
        val_fraction, test_fraction: the label split (see :func:`split_labelled`).
        select_by: ``"both"``, ``"linear"`` or ``"knn"`` (with labels).
        eval_rows: at most this many rows are scored per candidate.
        num_clusters: K of k-means stability (see :func:`stability_clusters`).
        min_gain: see :class:`Selection`.
        seed: seed of the split, the evaluation subset and k-means.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        label_codes: np.ndarray | None = None,
        cluster_codes: np.ndarray | None = None,
        *,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        select_by: SelectBy = "both",
        eval_rows: int = 10_000,
        num_clusters: int | None = None,
        min_gain: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.seed = seed
        self.total_rows = int(vectors.shape[0])
        self.split: LabelSplit | None = None
        self.note: str | None = None
        if label_codes is not None and (label_codes >= 0).any():
            self.split = split_labelled(
                label_codes, val_fraction, test_fraction, seed, max_rows=eval_rows
            )
            self.rows = np.concatenate([self.split.fit, self.split.val])
            self.fit_codes = label_codes[self.split.fit]
            self.val_codes = label_codes[self.split.val]
            self.selection = _probe_selection(select_by, min_gain)
        else:
            rng = np.random.default_rng(seed)
            num_rows = vectors.shape[0]
            count = min(num_rows, eval_rows)
            self.rows = np.sort(rng.choice(num_rows, size=count, replace=False))
            self.num_clusters, self.note = stability_clusters(
                num_rows, eval_rows, num_clusters, cluster_codes
            )
            self.halves = [rng.choice(count, size=count // 2, replace=False) for _ in range(4)]
            self.selection = Selection(
                criterion=f"k-means stability (mean pairwise ARI, K={self.num_clusters}, "
                "4 random halves)",
                metric="kmeans_stability",
                min_gain=min_gain,
            )
        self.inputs = gather_rows(vectors, self.rows)

    def describe(self) -> str:
        """One line: what is scored on how many rows (and any subsampling)."""
        if self.split is not None:
            sizes = self.split.sizes()
            used = (
                f"all {sizes['labelled']:,}"
                if sizes["used"] == sizes["labelled"]
                else f"{sizes['used']:,} of {sizes['labelled']:,} (a random subset; eval_rows)"
            )
            return (
                f"selection: {self.selection.criterion}; labelled rows used: {used}; split "
                f"fit {sizes['fit']:,} / val {sizes['val']:,} / test {sizes['test']:,}"
                f"{'' if self.split.stratified else ' (not stratified: a class has < 3 rows)'}"
            )
        total = self.total_rows
        used = f"all {total:,}" if len(self.rows) == total else f"{len(self.rows):,} of {total:,}"
        subset = "" if len(self.rows) == total else " (a random subset; eval_rows)"
        return f"selection: {self.selection.criterion}; rows scored: {used}{subset}"

    def score(self, refine: Refine | None) -> dict[str, float]:
        """Scores of the refined evaluation rows (of the input rows themselves for None)."""
        from infoclr.evaluation.clustering import kmeans_stability
        from infoclr.evaluation.probes import probe_scores

        refined = self.inputs if refine is None else refine(self.inputs)
        if not np.isfinite(refined).all():
            # Weights that produce NaN/inf can never be the kept candidate.
            keys = (self.selection.metric, *self.selection.guards)
            return {key: float("-inf") for key in keys}
        if self.split is not None:
            cut = len(self.split.fit)
            scores = probe_scores(refined[:cut], self.fit_codes, refined[cut:], self.val_codes)
            scores["mean_top1"] = 0.5 * (scores["linear_top1"] + scores["knn_top1"])
            return scores
        stability = kmeans_stability(refined, self.num_clusters, self.halves, seed=self.seed)
        return {"kmeans_stability": stability}


def _probe_selection(select_by: SelectBy, min_gain: float) -> Selection:
    if select_by == "both":
        return Selection(
            criterion="mean val top-1 of a linear probe and a k-NN (k=200, T=0.1)",
            metric="mean_top1",
            min_gain=min_gain,
            guards=("linear_top1", "knn_top1"),
        )
    name = "linear probe" if select_by == "linear" else "k-NN (k=200, T=0.1)"
    return Selection(
        criterion=f"val top-1 of a {name}", metric=f"{select_by}_top1", min_gain=min_gain
    )


def _report_scores(
    features: np.ndarray, cut: int, train_codes: np.ndarray, test_codes: np.ndarray
) -> dict[str, float]:
    from infoclr.evaluation.clustering import kmeans_nmi
    from infoclr.evaluation.probes import probe_scores

    scores = probe_scores(features[:cut], train_codes, features[cut:], test_codes)
    num_classes = len(np.unique(test_codes))
    if num_classes >= 2 and len(test_codes) > num_classes:
        scores["kmeans_nmi"] = kmeans_nmi(features[cut:], test_codes, num_classes)
    return scores


def before_after(
    vectors: np.ndarray,
    refine: Refine | None,
    label_codes: np.ndarray | None,
    split: LabelSplit | None,
    selection: Selection,
    input_scores: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Scores of the original and the refined vectors.

    With labels: a linear probe and a k-NN trained on the fit+val rows and scored on the test
    rows that selection never saw, plus k-means NMI on the test rows (Strehl & Ghosh 2002;
    K = number of classes; :func:`infoclr.evaluation.clustering.kmeans_nmi`). With
    ``test_fraction`` 0 the val split is reused and the protocol says that the refined score is
    optimistic (it is the maximum over the candidates). Without labels: the k-means stability
    of the input (``input_scores``, default epoch 0's) and of the kept candidate, as selection
    scored them.

    Returns:
        ``protocol``, ``split`` sizes (with labels), and ``original``, ``refined`` and
        ``change`` (refined − original) score dicts.
    """
    if split is None or label_codes is None:
        by_epoch = {int(c["epoch"]): c for c in selection.candidates}
        before = (input_scores or by_epoch[0])["kmeans_stability"]
        after = by_epoch[selection.chosen_epoch]["kmeans_stability"]
        return {
            "protocol": "no labels: k-means stability of the evaluation rows (selection's score)",
            "original": {"kmeans_stability": before},
            "refined": {"kmeans_stability": after},
            "change": {"kmeans_stability": after - before},
        }
    if len(split.test):
        train_rows, test_rows = np.concatenate([split.fit, split.val]), split.test
        protocol = "probes trained on the fit+val rows, scored on the test rows selection never saw"
    else:
        train_rows, test_rows = split.fit, split.val
        protocol = (
            "test_fraction=0: probes trained on fit, scored on val, the split selection used; "
            "the refined score is optimistic"
        )
    original = gather_rows(vectors, np.concatenate([train_rows, test_rows]))
    refined = original if refine is None else refine(original)
    cut = len(train_rows)
    codes = label_codes[train_rows], label_codes[test_rows]
    before = _report_scores(original, cut, *codes)
    after = _report_scores(refined, cut, *codes)
    return {
        "protocol": protocol,
        "split": split.sizes() | {"stratified": split.stratified},
        "original": before,
        "refined": after,
        "change": {key: after[key] - before[key] for key in before if key in after},
    }
