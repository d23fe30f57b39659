"""Contrastive losses as pure functions: NT-Xent, SupCon (L_out) and Cl-InfoNCE.

All three share one core. For anchor a with positives P(a) and all other rows A(a):

    ℓ_a = log Σ_{b∈A(a)} exp s(a,b)  −  (1/|P(a)|) Σ_{p∈P(a)} s(a,p),    s(a,b) = ẑ_a·ẑ_b / t

The first term is :func:`~infoclr.functional.row_logsumexp` (dense or chunked, hand-written
backward). The second is O(N·D): with group sums g_k = Σ_{i: id_i = k} ẑ_i, the positives of a
sum to g_{id_a} − ẑ_a, so no (N×N) positive mask is ever built.

References:
    Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations", 2020.
    Khosla et al., "Supervised Contrastive Learning", 2020.
    Tsai et al., "Integrating Auxiliary Information in Self-supervised Learning", 2021
    (arXiv 2106.02869); ICLR 2022 as "Learning Weakly-Supervised Contrastive Representations".
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from infoclr.errors import InfoclrError
from infoclr.functional._lse import row_logsumexp

__all__ = [
    "check_ids",
    "check_pair",
    "check_rows",
    "check_temperature",
    "cl_info_nce",
    "nt_xent",
    "sup_con",
    "sup_con_per_anchor",
]


def check_temperature(temperature: float, name: str = "temperature") -> None:
    """Raise a one-line :class:`ValueError` unless ``temperature`` is a finite number > 0."""
    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature):
        raise InfoclrError(f"{name} must be a finite number > 0, got {temperature!r}")
    if temperature <= 0:
        raise InfoclrError(f"{name} must be > 0 (try 0.1-0.5), got {temperature}")


def check_rows(name: str, x: Tensor, check_finite: bool = True, min_rows: int = 2) -> None:
    """Validate a (N, D) batch of vectors: 2-D, at least ``min_rows`` rows, finite values.

    ``check_finite`` costs a device synchronisation on a GPU; training loops may switch it off.
    """
    if not isinstance(x, Tensor):
        raise InfoclrError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise InfoclrError(
            f"{name} must be 2-D (rows, features), got shape {tuple(x.shape)}; "
            "flatten it with x.flatten(1)"
        )
    if x.shape[0] < min_rows:
        raise InfoclrError(
            f"{name} needs at least {min_rows} rows for a contrastive loss, got {x.shape[0]}; "
            "use a larger batch"
        )
    if check_finite and not bool(torch.isfinite(x).all()):
        bad = (~torch.isfinite(x)).any(dim=1).nonzero().flatten()[:5].tolist()
        raise InfoclrError(
            f"{name} contains NaN or inf (rows {bad}); lower the learning rate or check the "
            "inputs, or pass check_finite=False to skip this check"
        )


def _check_chunk(chunk_size: int | None) -> None:
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise InfoclrError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")


def _scaled(loss: Tensor, temperature: float, base_temperature: float | None) -> Tensor:
    """``loss · temperature / base_temperature`` (the official SupCon factor), if one is set."""
    return loss if base_temperature is None else loss * (temperature / base_temperature)


def _normalise(x: Tensor) -> Tensor:
    # Losses run in float32 even under bf16 autocast: exp(s/t) at t=0.01 overflows bf16 sums.
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    return F.normalize(x, dim=1, eps=1e-12)


def sup_con_per_anchor(
    z: Tensor,
    group_ids: Tensor,
    temperature: float,
    start: int = 0,
    stop: int | None = None,
    chunk_size: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Per-anchor SupCon L_out terms for anchors ``z[start:stop]`` against all rows of ``z``.

    This is the building block that the loss modules use across ranks. No input checks.

    Args:
        z: (N, D) L2-normalised rows, float32.
        group_ids: (N,) integer group ids; rows sharing an id are positives.
        temperature: t > 0.
        start, stop: anchor rows (default all).
        chunk_size: see :func:`row_logsumexp`.

    Returns:
        ``(loss, has_positive)``, both (stop−start,): ℓ_a, and whether anchor a has any
        positive (anchors without one must be left out of the mean).
    """
    stop = z.shape[0] if stop is None else stop
    _, inverse, counts = torch.unique(group_ids, return_inverse=True, return_counts=True)
    group_sums = torch.zeros(counts.shape[0], z.shape[1], dtype=z.dtype, device=z.device)
    group_sums = group_sums.index_add(0, inverse, z)
    anchors = z[start:stop]
    anchor_groups = inverse[start:stop]
    n_pos = counts[anchor_groups] - 1
    pos_sum = (anchors * (group_sums[anchor_groups] - anchors)).sum(dim=1)
    has_positive = n_pos > 0
    pos_mean = pos_sum / (n_pos.clamp(min=1).to(z.dtype) * temperature)
    lse = row_logsumexp(z, temperature, start, stop, chunk_size)
    return lse - pos_mean, has_positive


def _masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values`` over ``mask``; 0 (keeping the graph) when no anchor has a positive.
    No host synchronisation: the count is clamped, not tested."""
    return (values * mask).sum() / mask.sum().clamp(min=1)


_STACKED_IDS = "pass one id per row, the ids of every view stacked like the features"


def check_ids(name: str, ids: Tensor, rows: int, hint: str = "pass one id per row") -> None:
    """Raise a one-line error unless ``ids`` is a 1-D integer tensor of ``rows`` entries;
    ``hint`` ends the message of a length mismatch."""
    if not isinstance(ids, Tensor) or ids.dim() != 1 or ids.is_floating_point():
        raise InfoclrError(f"{name} must be a 1-D integer tensor with one id per row")
    if ids.shape[0] != rows:
        raise InfoclrError(f"{name} has {ids.shape[0]} entries for {rows} rows; {hint}")


def _with_memory(
    z: Tensor, ids: Tensor, memory: tuple[Tensor, Tensor] | None
) -> tuple[Tensor, Tensor]:
    """The columns every anchor meets: the rows ``z`` (N, D) with their ``ids`` (N,), then the
    bank's normalised rows (K, D) and ids (K,), if any, as constants in ``z``'s dtype."""
    if memory is None:
        return z, ids
    rows, row_ids = memory
    return (
        torch.cat([z, rows.detach().to(z.device, z.dtype)]),
        torch.cat([ids, row_ids.to(ids.device)]),
    )


def _check_memory(memory: tuple[Tensor, Tensor], features: Tensor) -> None:
    rows, ids = memory
    if not isinstance(rows, Tensor) or rows.dim() != 2 or rows.shape[1] != features.shape[1]:
        shape = tuple(rows.shape) if isinstance(rows, Tensor) else type(rows).__name__
        raise InfoclrError(
            f"memory rows must be (K, {features.shape[1]}) like the features, got {shape}; "
            "pass memory=(rows, ids)"
        )
    check_ids("memory ids", ids, rows.shape[0])


def sup_con(
    features: Tensor,
    group_ids: Tensor,
    temperature: float = 0.1,
    base_temperature: float | None = None,
    chunk_size: int | None = None,
    check_finite: bool = True,
    memory: tuple[Tensor, Tensor] | None = None,
) -> Tensor:
    """Supervised contrastive loss, L_out form (Khosla et al. 2020), optionally with a memory bank.

    ``ℓ_a = −(1/|P(a)|) Σ_{p∈P(a)} [s(a,p) − log Σ_{b∈A(a)} exp s(a,b)]``, averaged over anchors
    that have at least one positive. With group ids = instance ids of two views this equals
    :func:`nt_xent`; with cluster ids it is Cl-InfoNCE as the official code computes it.

    ``memory`` holds K rows from earlier batches with their group ids: a memory bank (Wu et al.
    2018, "Unsupervised Feature Learning via Non-Parametric Instance Discrimination"; the queue
    of He et al. 2020, "Momentum Contrast"). They join every anchor's A(a) as extra columns, are
    never anchors and get no gradient; bank rows with the anchor's group id are positives, as in
    cross-batch memory (Wang et al. 2020), so that SupCon and Cl-InfoNCE keep their meaning.
    With instance ids (SimCLR) a bank row is a positive only when it holds an earlier view of
    the same input. An empty bank (K = 0) gives the loss without one.

    Args:
        features: (N, D) view features, all views stacked; normalised inside.
        group_ids: (N,) integer group ids (labels, cluster ids, instance ids).
        temperature: t > 0.
        base_temperature: if set, multiply the loss by ``temperature / base_temperature``
            (the official SupCon / Cl-InfoNCE code hard-codes 0.07). Default: no factor.
        chunk_size: evaluate ``chunk_size`` anchors at a time (O(chunk·(N+K)) memory).
        check_finite: raise on NaN/inf inputs (forces a GPU sync; switch off in hot loops).
        memory: ``(rows, ids)``: (K, D) earlier projections (normalised inside) and their (K,)
            group ids.

    Returns:
        Scalar loss (float32).
    """
    check_rows("features", features, check_finite)
    check_temperature(temperature)
    _check_chunk(chunk_size)
    if base_temperature is not None:
        check_temperature(base_temperature, "base_temperature")
    check_ids("group_ids", group_ids, features.shape[0], _STACKED_IDS)
    if memory is not None:
        _check_memory(memory, features)
    with torch.autocast(device_type=features.device.type, enabled=False):
        z = _normalise(features)
        bank = None if memory is None else (_normalise(memory[0].to(z.device)), memory[1])
        columns, ids = _with_memory(z, group_ids.to(z.device), bank)
        per_anchor, valid = sup_con_per_anchor(
            columns, ids, temperature, 0, z.shape[0], chunk_size=chunk_size
        )
        loss = _masked_mean(per_anchor, valid)
    return _scaled(loss, temperature, base_temperature)


def check_pair(z1: Tensor, z2: Tensor, check_finite: bool = True) -> None:
    """Validate two (B, D) views of the same batch: each as :func:`check_rows`, equal shapes."""
    check_rows("z1", z1, check_finite, min_rows=1)
    check_rows("z2", z2, check_finite, min_rows=1)
    if z1.shape != z2.shape:
        raise InfoclrError(
            f"z1 and z2 must have the same shape (two views of the same batch), got "
            f"{tuple(z1.shape)} and {tuple(z2.shape)}"
        )


def nt_xent(
    z1: Tensor,
    z2: Tensor,
    temperature: float = 0.5,
    chunk_size: int | None = None,
    check_finite: bool = True,
) -> Tensor:
    """SimCLR's NT-Xent loss (Chen et al. 2020).

    Every one of the 2B views is an anchor; its positive is the other view of the same input
    and the denominator holds all 2B−1 other views:
    ``ℓ_a = −s(a, p(a)) + log Σ_{b≠a} exp s(a,b)``, averaged over the 2B anchors.

    Args:
        z1, z2: (B, D) projections of the two views; row i of each comes from input i.
        temperature: t > 0 (0.5 is usual on small images, 0.1-0.2 on ImageNet).
        chunk_size: evaluate ``chunk_size`` anchors at a time (O(chunk·B) memory).
        check_finite: raise on NaN/inf inputs.

    Returns:
        Scalar loss (float32).
    """
    check_pair(z1, z2, check_finite)
    check_temperature(temperature)
    _check_chunk(chunk_size)
    with torch.autocast(device_type=z1.device.type, enabled=False):
        z = _normalise(torch.cat([z1, z2], dim=0))
        b = z1.shape[0]
        lse = row_logsumexp(z, temperature, chunk_size=chunk_size)
        pos = (z[:b] * z[b:]).sum() * (2.0 / temperature)
        return (lse.sum() - pos) / (2 * b)


def cl_info_nce(
    z1: Tensor,
    z2: Tensor,
    cluster_ids: Tensor,
    temperature: float = 0.1,
    form: Literal["official", "paper"] = "official",
    base_temperature: float | None = None,
    chunk_size: int | None = None,
    generator: torch.Generator | None = None,
    check_finite: bool = True,
) -> Tensor:
    """Cl-InfoNCE (Tsai et al. 2021): views of samples in the same cluster are positives.

    * ``form="official"`` (default) is what the authors' code computes: :func:`sup_con` over
      both views stacked, group ids = cluster ids. All 2B views are anchors.
    * ``form="paper"`` is the estimator as the paper writes it. For each anchor x_i in one view
      one positive y_p is drawn uniformly from the *other* view's rows of the same cluster
      (possibly x_i's own other view), and the negatives are all rows y_j of the other view,
      not filtered by cluster: ``ℓ_i = −f(x_i,y_p) + log((1/B) Σ_j e^{f(x_i,y_j)})``,
      symmetrised over the two views. Dense only.

    Args:
        z1, z2: (B, D) projections of two views of the same B inputs.
        cluster_ids: (B,) integer cluster id of each input.
        temperature: t > 0 (the official runs use 0.1 for attribute clusters, 0.2 for k-means).
        form: ``"official"`` or ``"paper"``.
        base_temperature: official form only; multiply by ``temperature/base_temperature``.
        chunk_size: official form only; see :func:`sup_con`.
        generator: paper form only; the RNG that draws positives (default: torch's global RNG,
            which Lightning's ``seed_everything`` seeds).
        check_finite: raise on NaN/inf inputs.

    Returns:
        Scalar loss (float32).
    """
    check_pair(z1, z2, check_finite)
    if not isinstance(cluster_ids, Tensor) or cluster_ids.dim() != 1:
        raise InfoclrError("cluster_ids must be a 1-D integer tensor with one id per input")
    if cluster_ids.shape[0] != z1.shape[0]:
        raise InfoclrError(
            f"cluster_ids has {cluster_ids.shape[0]} entries but z1 has {z1.shape[0]} rows; "
            "pass one cluster id per input (not per view)"
        )
    if form == "official":
        ids = cluster_ids.to(z1.device)
        return sup_con(
            torch.cat([z1, z2], dim=0),
            torch.cat([ids, ids], dim=0),
            temperature,
            base_temperature=base_temperature,
            chunk_size=chunk_size,
            check_finite=False,
        )
    if form != "paper":
        raise InfoclrError(f"form must be 'official' or 'paper', got {form!r}")
    if chunk_size is not None:
        raise InfoclrError("chunk_size applies to form='official' only; drop it for 'paper'")
    check_temperature(temperature)
    with torch.autocast(device_type=z1.device.type, enabled=False):
        x, y = _normalise(z1), _normalise(z2)
        ids = cluster_ids.to(x.device)
        same = ids[:, None] == ids[None, :]
        b = x.shape[0]
        losses = []
        for anchors, candidates in ((x, y), (y, x)):
            logits = anchors @ candidates.t() / temperature
            noise_device = generator.device if generator is not None else x.device
            scores = torch.rand((b, b), generator=generator, device=noise_device).to(x.device)
            positive = torch.where(same, scores, torch.full_like(scores, -1.0)).argmax(dim=1)
            pos_logit = logits.gather(1, positive[:, None]).squeeze(1)
            losses.append(torch.logsumexp(logits, dim=1) - math.log(b) - pos_logit)
        return torch.cat(losses).mean()
