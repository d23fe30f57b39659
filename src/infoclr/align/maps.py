"""Fit, choose, guard, save and load a map from one encoder's space into another's.

Candidates, simplest first (:data:`~infoclr.align.config.MAP_KINDS`):

* ``identity``: no map (only when both spaces have the same dimension);
* ``procrustes``: orthogonal Procrustes (:func:`infoclr.functional.orthogonal_procrustes`);
* ``lstsq``: ridge least squares (:func:`infoclr.functional.least_squares_map`);
* ``refiner``: the better linear map followed by SimSkip's skip-connected refiner
  ``h = z + F(z)`` in the target space, trained with the in-batch ranking loss so that a mapped
  row finds its own target row among the batch; it starts at the linear map it sits on.

The rows embedded by both encoders are split into fit / select / guard. Each candidate is
scored by Recall@k (default 10) of its mapped select rows against the *whole* target index
(each row's relevant document: its own target vector). Starting from the simplest candidate,
each richer one that scores higher on the select rows replaces the map kept so far only when
the guard finds its Recall@k gain on the guard rows above the noise and its MRR not lower
(:func:`infoclr.evaluation.guard.guard`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from infoclr.align.config import AlignConfig
from infoclr.errors import DataError
from infoclr.evaluation.guard import GuardDecision

__all__ = ["AlignmentMap", "AlignResult", "fit_alignment", "load_alignment"]


@dataclass
class AlignmentMap:
    """``x ↦ refiner(x W + b)`` (W, b None for identity; refiner None for linear maps).

    Shapes: ``apply`` (N, d_source) → (N, d_target).
    """

    kind: str
    source_dim: int
    target_dim: int
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    refiner: Any = None

    def apply(self, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.source_dim:
            raise DataError(
                f"the map takes {self.source_dim}-dimensional rows, got shape {x.shape}; use "
                "vectors of the encoder it was fitted on"
            )
        z = x if self.weight is None else x @ self.weight + self.bias
        if self.refiner is not None:
            z = self.refiner.refine(z.astype(np.float32), batch_size)
        return np.asarray(z, dtype=np.float32)


@dataclass
class AlignResult:
    """The map that was kept, every candidate's scores, and the guard's decision.

    Attributes:
        map: the kept :class:`AlignmentMap`.
        baseline: the simplest candidate.
        decisions: the guard's decision for every richer map that the select rows preferred
            to the map kept so far.
        reason: one sentence on which map is kept and why.
        scores: ``{kind: {"select": {...}, "guard": {...}}}`` mean Recall@k / MRR.
        split: sizes of the fit / select / guard parts.
        refiner_epochs: the refiner's per-epoch select scores.
        candidates: every fitted candidate map, by kind.
    """

    map: AlignmentMap
    baseline: str
    decisions: list[GuardDecision]
    reason: str
    scores: dict[str, dict[str, dict[str, float]]]
    split: dict[str, Any]
    config: AlignConfig
    refiner_epochs: list[dict[str, float]] = field(default_factory=list)
    candidates: dict[str, AlignmentMap] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "kept": self.map.kind,
            "baseline": self.baseline,
            "reason": self.reason,
            "guard": [decision.as_dict() for decision in self.decisions],
            "scores": self.scores,
            "split": self.split,
            "refiner_epochs": self.refiner_epochs,
            "config": asdict(self.config),
        }


def _split(count: int, config: AlignConfig) -> dict[str, np.ndarray]:
    order = np.random.default_rng(config.seed).permutation(count)
    num_select = max(2, round(config.select_fraction * count))
    num_guard = max(2, round(config.guard_fraction * count))
    return {
        "select": np.sort(order[:num_select]),
        "guard": np.sort(order[num_select : num_select + num_guard]),
        "fit": np.sort(order[num_select + num_guard :]),
    }


def _task_parts(
    queries: np.ndarray, pairs: np.ndarray, config: AlignConfig
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Task queries split into select / guard (by query), with their relevance pairs
    renumbered to rows of each part."""
    queries = np.asarray(queries, dtype=np.float32)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    distinct = np.unique(pairs[:, 0])
    if distinct.size < 10:
        raise DataError(f"only {distinct.size} task queries have pairs; give at least 10")
    order = np.random.default_rng(config.seed).permutation(distinct)
    cut = round(
        distinct.size * config.select_fraction / (config.select_fraction + config.guard_fraction)
    )
    out = {}
    for part, rows in (("select", np.sort(order[:cut])), ("guard", np.sort(order[cut:]))):
        position = np.full(len(queries), -1)
        position[rows] = np.arange(len(rows))
        kept = pairs[np.isin(pairs[:, 0], rows)]
        out[part] = (queries[rows], np.stack([position[kept[:, 0]], kept[:, 1]], 1))
    return out


def fit_alignment(
    source: np.ndarray,
    index: np.ndarray,
    index_rows: np.ndarray,
    config: AlignConfig,
    task: tuple[np.ndarray, np.ndarray] | None = None,
) -> AlignResult:
    """Fit the candidate maps and keep one (see the module docstring).

    Args:
        source: (S, d_s) the shared rows in the source space.
        index: (N, d_t) the target index (all rows of the target table).
        index_rows: (S,) the row of ``index`` that holds shared row i in the target space.
        config: the settings.
        task: optional ``(queries, pairs)``: (Q, d_s) queries in the source space and (P, 2)
            ``(query row, index row)`` relevance pairs. Then the maps are chosen and guarded
            by Recall@k of these queries (split into select / guard halves) instead of the
            shared rows finding themselves, and every shared row is fitted on.
    """
    source, index, index_rows, kinds = _checked_inputs(source, index, index_rows, config)
    split = _split(len(source), config)
    target = index[index_rows]
    if task is None:
        parts = {
            part: (source[split[part]], np.stack([np.arange(len(rows)), index_rows[rows]], 1))
            for part, rows in split.items()
        }
    else:
        split["fit"] = np.arange(len(source))
        parts = _task_parts(*task, config)
    scorer = _Scorer(index, parts, config.recall_k)
    previous = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        maps, per, epochs = _fit_candidates(
            source, target, index_rows, split["fit"], kinds, config, scorer
        )
        scores = _mean_scores(per, maps)
        order = [kind for kind in kinds if kind in maps]
        if not order:  # only the refiner was asked for, and no epoch beat its starting map
            raise DataError(
                "no map to keep: the refiner beat its starting map in no epoch; add procrustes "
                "or lstsq to the maps (e.g. --maps procrustes,refiner)"
            )
        kept, decisions, reason = _choose_map(order, per, scores, config)
    finally:
        torch.set_num_threads(previous)
    return AlignResult(
        map=maps[kept],
        baseline=order[0],
        decisions=decisions,
        reason=reason,
        scores=scores,
        split={
            "fit": int(len(split["fit"])),
            "select": int(len(parts["select"][0])),
            "guard": int(len(parts["guard"][0])),
            "scored_by": "task queries" if task is not None else "shared rows",
        },
        config=config,
        refiner_epochs=epochs,
        candidates=maps,
    )


def _checked_inputs(
    source: np.ndarray, index: np.ndarray, index_rows: np.ndarray, config: AlignConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The inputs as float32 / int64 arrays and the candidate kinds that apply to them;
    DataError (or ConfigError) when they cannot be aligned."""
    config.validate()
    source = np.asarray(source, dtype=np.float32)
    index = np.asarray(index, dtype=np.float32)
    index_rows = np.asarray(index_rows, dtype=np.int64)
    if len(source) != len(index_rows):
        raise DataError("source and index_rows must have one entry per shared row")
    if len(source) < config.min_shared:
        raise DataError(
            f"only {len(source)} rows are embedded by both encoders; at least "
            f"{config.min_shared} are needed (min_shared)"
        )
    source_dim, target_dim = source.shape[1], index.shape[1]
    kinds = config.map_kinds()
    if source_dim != target_dim and "identity" in kinds:
        kinds.remove("identity")
    if not kinds:
        raise DataError(
            f"the spaces have {source_dim} and {target_dim} dimensions, so 'identity' cannot "
            "map one into the other; add procrustes, lstsq or refiner to --maps"
        )
    return source, index, index_rows, kinds


class _Scorer:
    """Per-query Recall@k and MRR of mapped select / guard rows against the whole index."""

    def __init__(
        self, index: np.ndarray, parts: dict[str, tuple[np.ndarray, np.ndarray]], k: int
    ) -> None:
        self.index, self.parts, self.k = index, parts, k

    def per_query(self, mapped: np.ndarray, part: str) -> dict[str, np.ndarray]:
        from infoclr.evaluation.retrieval import retrieval_scores

        k = self.k
        scores = retrieval_scores(mapped, self.index, self.parts[part][1], ks=(k,)).per_query()
        return {f"recall@{k}": scores[f"recall@{k}"], "mrr": scores["mrr"]}

    def evaluate(self, candidate: AlignmentMap) -> dict[str, dict[str, np.ndarray]]:
        return {
            part: self.per_query(candidate.apply(self.parts[part][0]), part)
            for part in ("select", "guard")
        }


def _fit_candidates(
    source: np.ndarray,
    target: np.ndarray,
    index_rows: np.ndarray,
    fit_rows: np.ndarray,
    kinds: list[str],
    config: AlignConfig,
    scorer: _Scorer,
) -> tuple[
    dict[str, AlignmentMap], dict[str, dict[str, dict[str, np.ndarray]]], list[dict[str, float]]
]:
    """Every candidate map that was fitted, their per-query scores and the refiner's epochs."""
    source_dim, target_dim = source.shape[1], target.shape[1]
    maps: dict[str, AlignmentMap] = {}
    if "identity" in kinds:
        maps["identity"] = AlignmentMap("identity", source_dim, target_dim)
    linear = _fit_linear(
        torch.from_numpy(source[fit_rows]), torch.from_numpy(target[fit_rows]), kinds, config
    )
    per: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for kind, candidate in linear.items():
        per[kind] = scorer.evaluate(candidate)
    maps.update({kind: m for kind, m in linear.items() if kind in kinds})
    if "identity" in maps:
        per["identity"] = scorer.evaluate(maps["identity"])
    epochs: list[dict[str, float]] = []
    if "refiner" in kinds:
        k = config.recall_k
        base_kind = max(linear, key=lambda kind: per[kind]["select"][f"recall@{k}"].mean())
        refiner, epochs = _fit_refiner(
            linear[base_kind], base_kind, source, target, index_rows, fit_rows, config, scorer
        )
        if refiner is not None:
            maps["refiner"] = refiner
            per["refiner"] = scorer.evaluate(refiner)
        # else no epoch beat the linear map it starts from: that map is the candidate.
    return maps, per, epochs


def _fit_linear(
    x_fit: torch.Tensor, y_fit: torch.Tensor, kinds: list[str], config: AlignConfig
) -> dict[str, AlignmentMap]:
    """The linear maps that were asked for or that the refiner may start from."""
    from infoclr.functional.alignment import least_squares_map, orthogonal_procrustes

    source_dim, target_dim = x_fit.shape[1], y_fit.shape[1]
    linear: dict[str, AlignmentMap] = {}
    if "procrustes" in kinds or "refiner" in kinds:
        weight = orthogonal_procrustes(x_fit, y_fit).numpy()
        linear["procrustes"] = AlignmentMap(
            "procrustes", source_dim, target_dim, weight, np.zeros(target_dim, np.float32)
        )
    if "lstsq" in kinds or "refiner" in kinds:
        weight, bias = least_squares_map(x_fit, y_fit, config.ridge)
        linear["lstsq"] = AlignmentMap(
            "lstsq", source_dim, target_dim, weight.numpy(), bias.numpy()
        )
    return linear


def _fit_refiner(
    base: AlignmentMap,
    base_kind: str,
    source: np.ndarray,
    target: np.ndarray,
    index_rows: np.ndarray,
    fit_rows: np.ndarray,
    config: AlignConfig,
    scorer: _Scorer,
) -> tuple[AlignmentMap | None, list[dict[str, float]]]:
    """The refiner on ``base`` (None when no epoch beat ``base`` on the select rows) and its
    per-epoch select scores."""
    from infoclr.adapters.config import AdapterConfig
    from infoclr.adapters.engine import VectorAdapter, train_with_selection
    from infoclr.losses import MultipleNegativesRankingLoss

    k = config.recall_k
    mapped_fit = base.apply(source[fit_rows])
    mapped_select = base.apply(scorer.parts["select"][0])
    adapter_config = AdapterConfig(
        objective="pairs",
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        hidden=config.hidden,
        dropout=config.dropout,
        projector=False,
        seed=config.seed,
    )
    torch.manual_seed(config.seed)
    mean, std = mapped_fit.mean(axis=0), mapped_fit.std(axis=0)
    std = np.where(std < 1e-12, 1.0, std)
    adapter = VectorAdapter(base.target_dim, mean, std, adapter_config)
    loss_fn = MultipleNegativesRankingLoss(config.temperature)

    def batch_loss(positions: np.ndarray) -> torch.Tensor:
        queries = adapter(torch.from_numpy(mapped_fit[positions]))
        documents = torch.from_numpy(target[fit_rows[positions]])
        ids = torch.from_numpy(index_rows[fit_rows[positions]])
        return loss_fn(queries, documents, document_ids=ids)

    def select_score(candidate: Any) -> float:
        mapped = mapped_select if candidate is None else candidate.refine(mapped_select)
        if not np.isfinite(mapped).all():
            return float("-inf")
        return float(scorer.per_query(mapped, "select")[f"recall@{k}"].mean())

    training = train_with_selection(
        adapter, adapter_config, len(fit_rows), batch_loss, select_score
    )
    epochs = [dict(c, base=base_kind) for c in training.candidates]
    if training.chosen_epoch == 0:
        return None, epochs
    refiner = AlignmentMap(
        "refiner", base.source_dim, base.target_dim, base.weight, base.bias, adapter
    )
    return refiner, epochs


def _mean_scores(
    per: dict[str, dict[str, dict[str, np.ndarray]]], maps: dict[str, AlignmentMap]
) -> dict[str, dict[str, dict[str, float]]]:
    """``{kind: {part: {metric: mean}}}`` of every candidate map."""
    return {
        kind: {
            part: {name: float(v.mean()) for name, v in per[kind][part].items()}
            for part in ("select", "guard")
        }
        for kind in maps
    }


def _choose_map(
    order: list[str],
    per: dict[str, dict[str, dict[str, np.ndarray]]],
    scores: dict[str, dict[str, dict[str, float]]],
    config: AlignConfig,
) -> tuple[str, list[GuardDecision], str]:
    """The kept kind, the guard's decisions and the reason, walking ``order`` simplest first."""
    from infoclr.evaluation.guard import guard

    k = config.recall_k
    kept, decisions, steps = order[0], [], []
    for kind in order[1:]:
        # A richer map challenges the current one only if the select rows prefer it; it
        # replaces it only if the guard rows show a gain above the noise.
        if scores[kind]["select"][f"recall@{k}"] <= scores[kept]["select"][f"recall@{k}"]:
            steps.append(f"{kind} not better than {kept} on the select rows")
            continue
        decision = guard(
            per[kept]["guard"],
            per[kind]["guard"],
            f"recall@{k}",
            protected=("mrr",),
            method=config.guard_method,
            z=config.guard_z,
            seed=config.seed,
        )
        decisions.append(decision)
        verdict = "replaces" if decision.accepted else "does not replace"
        steps.append(f"{kind} {verdict} {kept} (guard Recall@{k} {_band(decision)})")
        if decision.accepted:
            kept = kind
    reason = f"kept {kept}: " + "; ".join(steps) if steps else f"kept {kept}, the only map"
    return kept, decisions, reason


def _band(decision: GuardDecision) -> str:
    gain = decision.primary
    return f"{gain.gain:+.4f}, noise band {gain.lower:+.4f} to {gain.upper:+.4f}"


def save_alignment(result: AlignResult, handle: IO[bytes], direction: str) -> None:
    """Write the kept map (torch.save of plain tensors and numbers) to an open file."""
    chosen = result.map
    payload: dict[str, Any] = {
        "format": "infoclr-align-1",
        "kind": chosen.kind,
        "direction": direction,
        "source_dim": chosen.source_dim,
        "target_dim": chosen.target_dim,
        "weight": None if chosen.weight is None else torch.from_numpy(chosen.weight),
        "bias": None if chosen.bias is None else torch.from_numpy(chosen.bias),
        "refiner": None,
    }
    if chosen.refiner is not None:
        refiner = chosen.refiner.refiner
        payload["refiner"] = {
            "dim": refiner.dim,
            "hidden": refiner.hidden,
            "dropout": refiner.dropout,
            "skip": refiner.skip,
            "state": {k: v.cpu() for k, v in refiner.state_dict().items()},
        }
    torch.save(payload, handle)


def load_alignment(path: str | Path) -> AlignmentMap:
    """Load a map written by ``infoclr align`` (apply it with ``.apply(x)``)."""
    from infoclr.models.refiner import Refiner

    path = Path(path)
    if not path.is_file():
        raise DataError(f"map file {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a corrupt file
        raise DataError(f"cannot read {path} as an infoclr map ({type(err).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != "infoclr-align-1":
        raise DataError(f"{path} is not a map written by infoclr align")
    weight = None if payload["weight"] is None else payload["weight"].numpy()
    bias = None if payload["bias"] is None else payload["bias"].numpy()
    result = AlignmentMap(
        payload["kind"], payload["source_dim"], payload["target_dim"], weight, bias
    )
    if payload["refiner"] is not None:
        spec = payload["refiner"]
        refiner = Refiner(spec["dim"], spec["hidden"], spec["dropout"], spec["skip"])
        refiner.load_state_dict(spec["state"])
        refiner.eval()
        result.refiner = _RefinerApply(refiner)
    return result


class _RefinerApply:
    """``refine(x)`` of a bare :class:`~infoclr.models.refiner.Refiner` (numpy in and out)."""

    def __init__(self, refiner: Any) -> None:
        self.refiner = refiner

    @torch.no_grad()
    def refine(self, x: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        parts = [
            self.refiner(torch.from_numpy(np.asarray(x[s : s + batch_size], np.float32))).numpy()
            for s in range(0, len(x), batch_size)
        ]
        return np.concatenate(parts)
