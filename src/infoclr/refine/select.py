"""Checkpoint selection for SimSkip: keep the refiner only where it helps.

SimSkip's guarantee (Liu, Kim & Bansal, arXiv 2404.08701) is about what the skip-connected
refiner *can* represent: the identity is always available, so the best refiner is never worse
than the input. Training does not find that best refiner by itself (a prototype lowered the
5-fold linear accuracy of BBC News / MiniLM from 0.969 to 0.956-0.961), so infoclr makes the
guarantee hold on a validation split by *selection*: epoch 0 (the identity, i.e. exactly the
input) and the refiner after every evaluated epoch are candidates, and a later candidate wins
only if it scores strictly higher (by more than ``min_gain``) than every earlier one.

* With labels: a linear probe and a k-NN classifier are trained on the refined "fit" rows and
  scored (top-1) on the refined "val" rows (a stratified split of the labelled rows). The
  default score is their mean, and a candidate whose linear or k-NN score falls below the
  input's is never kept (``select_by="both"``); ``"linear"`` / ``"knn"`` use one of them. A
  third "test" split is kept away from selection for the before/after report.
* Without labels: k-means stability (Ben-Hur, Elisseeff & Guyon, "A stability based method for
  discovering structure in clustered data", PSB 2002; Lange et al., Neural Computation 2004):
  k-means is fitted on several random halves of the evaluation rows and the mean pairwise
  adjusted Rand index of the resulting partitions of all evaluation rows is the score. It
  rewards vectors with crisper cluster structure; it cannot know the downstream task, so it is
  a heuristic, not a guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from infoclr.errors import ConfigError, DataError

__all__ = [
    "LabelSplit",
    "Selection",
    "encode_values",
    "kmeans_nmi_restarts",
    "kmeans_stability",
    "probe_scores",
    "split_labelled",
]

SelectBy = Literal["both", "linear", "knn"]


def encode_values(values: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Map arbitrary per-row values (None = missing) to int64 codes (−1 = missing).

    Returns ``(codes, classes)``: codes (N,) int64 indexing ``classes`` (sorted by value).
    """
    values = np.asarray(values, dtype=object)
    present = np.array([v is not None for v in values], dtype=bool)
    codes = np.full(values.shape[0], -1, dtype=np.int64)
    if not present.any():
        return codes, []
    kept = values[present]
    # Integers written as text ("3") and as numbers (3) must be the same class.
    normalised = np.array([_normalise(v) for v in kept], dtype=object)
    try:
        classes, inverse = np.unique(normalised, return_inverse=True)
    except TypeError:
        classes, inverse = np.unique(normalised.astype(str), return_inverse=True)
    codes[present] = inverse
    return codes, classes.tolist()


def _normalise(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else float(value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else text


@dataclass
class LabelSplit:
    """Row indices (into the full input) of the labelled rows, split three ways.

    Attributes:
        fit: rows the selection probe is trained on.
        val: rows the selection probe is scored on.
        test: rows kept away from selection; the before/after report scores on them.
        stratified: whether the split is stratified by label.
    """

    fit: np.ndarray
    val: np.ndarray
    test: np.ndarray
    stratified: bool

    def sizes(self) -> dict[str, int]:
        return {"fit": len(self.fit), "val": len(self.val), "test": len(self.test)}


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
    from sklearn.model_selection import train_test_split

    if not 0 < val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ConfigError(
            f"val_fraction ({val_fraction}) and test_fraction ({test_fraction}) must be in "
            "(0, 1) and [0, 1) with a sum below 1"
        )
    labelled = np.flatnonzero(codes >= 0)
    if labelled.size < 10:
        raise DataError(
            f"only {labelled.size} rows have a label; selection needs at least 10 labelled rows"
        )
    if len(np.unique(codes[labelled])) < 2:
        raise DataError("the labels have a single class; evaluation needs at least 2 classes")
    rng = np.random.default_rng(seed)
    counts = np.bincount(codes[labelled])
    stratified = bool(counts[counts > 0].min() >= 3)
    if max_rows is not None and labelled.size > max_rows:
        labelled, _ = train_test_split(
            labelled,
            train_size=max_rows,
            random_state=int(rng.integers(2**31)),
            stratify=codes[labelled] if stratified else None,
        )
    strata = codes[labelled] if stratified else None
    held_fraction = val_fraction + test_fraction
    fit, held = train_test_split(
        labelled,
        test_size=held_fraction,
        random_state=int(rng.integers(2**31)),
        stratify=strata,
    )
    if test_fraction > 0:
        val, test = train_test_split(
            held,
            test_size=test_fraction / held_fraction,
            random_state=int(rng.integers(2**31)),
            stratify=codes[held] if stratified else None,
        )
    else:
        val, test = held, np.empty(0, dtype=np.int64)
    return LabelSplit(np.sort(fit), np.sort(val), np.sort(test), stratified)


def _probe_scale(train_features: np.ndarray) -> float:
    norms = np.linalg.norm(train_features, axis=1)
    return float(max(norms.mean(), 1e-12))


def probe_scores(
    train_features: np.ndarray,
    train_codes: np.ndarray,
    test_features: np.ndarray,
    test_codes: np.ndarray,
    knn_k: int = 200,
    knn_temperature: float = 0.1,
    linear: bool = True,
    knn: bool = True,
) -> dict[str, float]:
    """Linear-probe and k-NN top-1 of (N_train, D) → (N_test, D) features.

    * Linear probe: multinomial logistic regression with scikit-learn's default strength
      (C = 1, i.e. ``weight_decay = 1 / N_train``; full-batch L-BFGS,
      :func:`infoclr.evaluation.linear.linear_probe`). The features are first divided by one
      scalar, the mean training-row norm, so the regularisation means the same for vectors of
      any scale (refined and original vectors are compared fairly) while the geometry is
      untouched.
    * k-NN: cosine-weighted vote, k = 200, T = 0.1 (Wu et al. 2018;
      :func:`infoclr.evaluation.knn.knn_top1`).
    """
    from infoclr.evaluation.knn import knn_top1
    from infoclr.evaluation.linear import linear_probe

    scores: dict[str, float] = {}
    if linear:
        scale = _probe_scale(train_features)
        scores["linear_top1"] = linear_probe(
            train_features / scale,
            train_codes,
            test_features / scale,
            test_codes,
            epochs=100,
            weight_decay=1.0 / len(train_features),
            standardize=False,
        ).top1
    if knn:
        scores["knn_top1"] = knn_top1(
            train_features, train_codes, test_features, test_codes, knn_k, knn_temperature
        )
    return scores


def kmeans_nmi_restarts(
    features: np.ndarray, labels: np.ndarray, num_clusters: int, seed: int = 0, restarts: int = 5
) -> float:
    """NMI (Strehl & Ghosh 2002) of cosine k-means clusters of (N, D) features vs (N,) labels.

    k-means++ with ``restarts`` runs, keeping the best objective. A single randomly
    initialised run is not enough to compare two sets of vectors: on BBC News / MiniLM its NMI
    ranged from 0.61 to 0.87 across seeds for the *same* vectors, while 5 k-means++ restarts
    gave 0.866-0.872.
    """
    from sklearn.metrics import normalized_mutual_info_score

    from infoclr.clusters.kmeans import kmeans

    cluster_ids, _ = kmeans(features, num_clusters, seed=seed, nredo=restarts, init="kmeans++")
    return float(normalized_mutual_info_score(labels, cluster_ids))


def kmeans_stability(
    features: np.ndarray,
    num_clusters: int,
    halves: list[np.ndarray],
    seed: int = 0,
) -> float:
    """Mean pairwise adjusted Rand index of k-means partitions fitted on random halves.

    Args:
        features: (N, D) evaluation rows (cosine k-means: rows are L2-normalised).
        num_clusters: K.
        halves: index arrays of the random subsets to fit on; reusing the same halves for
            every candidate compares candidates with common random numbers (lower variance).
        seed: k-means initialisation seed (offset by the half's position). Each half runs
            k-means++ with 3 restarts and keeps the best objective, so that the score measures
            the data's cluster structure rather than bad initialisations.

    Returns:
        Stability in [−0.5, 1]; 1 means every half finds the same partition.
    """
    from sklearn.metrics import adjusted_rand_score

    from infoclr.clusters.kmeans import kmeans

    unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    unit = np.ascontiguousarray(unit, dtype=np.float32)
    partitions = []
    for position, half in enumerate(halves):
        _, centroids = kmeans(
            unit[half], num_clusters, niter=20, seed=seed + position, nredo=3, init="kmeans++"
        )
        partitions.append((unit @ centroids.T).argmax(axis=1))
    pairs = [
        adjusted_rand_score(partitions[i], partitions[j])
        for i in range(len(partitions))
        for j in range(i + 1, len(partitions))
    ]
    return float(np.mean(pairs))


@dataclass
class Selection:
    """The candidates that were scored and the one that was kept.

    Attributes:
        criterion: what the score is (human-readable).
        metric: the key of ``candidates[i]`` that is compared.
        min_gain: a later candidate must beat the best so far by more than this.
        guards: score keys on which a candidate may not fall below epoch 0 (the input).
        candidates: one dict per evaluated epoch: ``{"epoch": e, <metric>: score, ...}``.
        chosen_epoch: the kept epoch (0 = the input itself for a skip refiner).
        reason: one sentence on why.
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
        score = scores[self.metric]
        if len(self.candidates) == 1:
            self.best_score = score
            self.chosen_epoch = epoch
            return True
        first = self.candidates[0]
        if any(scores[key] < first[key] for key in self.guards):
            return False
        if score > self.best_score + self.min_gain:
            self.best_score = score
            self.chosen_epoch = epoch
            return True
        return False

    def explain(self, identity_at_zero: bool) -> str:
        first = self.candidates[0][self.metric]
        start = "epoch 0 (the input itself)" if identity_at_zero else "epoch 0 (untrained)"
        if self.chosen_epoch == 0:
            self.reason = (
                f"no trained epoch beat {start} on {self.criterion} by more than "
                f"{self.min_gain:g} (best {max(c[self.metric] for c in self.candidates):.4f} vs "
                f"{first:.4f}), so {start} is kept"
            )
        else:
            self.reason = (
                f"epoch {self.chosen_epoch} scored {self.best_score:.4f} on {self.criterion}, "
                f"the best of {len(self.candidates)} candidates and above {start} ({first:.4f})"
            )
        return self.reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "metric": self.metric,
            "min_gain": self.min_gain,
            "guards": list(self.guards),
            "chosen_epoch": self.chosen_epoch,
            "best_score": self.best_score,
            "reason": self.reason,
            "candidates": self.candidates,
        }
