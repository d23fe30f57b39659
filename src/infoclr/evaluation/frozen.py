"""The standard evaluation of a pretrained backbone: linear probe and k-NN on frozen features,
with two baselines that say what the pretraining bought.

* linear probe: multinomial logistic regression on the frozen features
  (:func:`~infoclr.evaluation.linear.linear_probe`; SimCLR's protocol, Chen et al. 2020 B.5);
* k-NN: cosine-weighted vote (Wu et al. 2018; :func:`~infoclr.evaluation.knn.knn_top1`);
* baselines: the same linear probe on the raw (centre-view) pixels, and on the features of a
  randomly initialised copy of the backbone.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from infoclr.evaluation.features import extract_features
from infoclr.evaluation.knn import knn_top1
from infoclr.evaluation.linear import linear_probe

__all__ = ["ProbeSettings", "evaluate_frozen", "random_init_copy"]


@dataclass
class ProbeSettings:
    """How a frozen backbone is scored.

    Attributes:
        knn_k, knn_temperature: the k-NN classifier (k = 200, T = 0.1 are the usual values).
        probe_epochs: L-BFGS iterations of the linear probe.
        probe_weight_decay: the probe's L2 coefficient; None = chosen on a validation split.
        seed: seeds the probe and the random-init baseline.
        baselines: also score raw pixels and a random-init backbone.
    """

    knn_k: int = 200
    knn_temperature: float = 0.1
    probe_epochs: int = 100
    probe_weight_decay: float | None = None
    seed: int = 0
    baselines: bool = True


def random_init_copy(backbone: nn.Module, seed: int) -> nn.Module:
    """A copy of ``backbone`` with every layer re-initialised (seeded) and fresh BN stats."""
    clone = copy.deepcopy(backbone)
    torch.manual_seed(seed + 12345)
    for module in clone.modules():
        if hasattr(module, "reset_parameters") and module is not clone:
            module.reset_parameters()
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
    return clone


def evaluate_frozen(
    backbone: nn.Module,
    train_batches: Any,
    test_batches: Any,
    eval_view: nn.Module,
    device: torch.device,
    settings: ProbeSettings,
) -> dict[str, Any]:
    """Linear-probe and k-NN top-1 of ``backbone``'s frozen features, and the baselines.

    Args:
        backbone: maps (B, C, H, W) float views to (B, D) features.
        train_batches, test_batches: re-iterable sources of ``(images uint8, labels)``
            (:class:`~infoclr.data.loaders.OrderedBatches`).
        eval_view: the deterministic view (centre crop, normalisation).
        device: where the backbone runs.
        settings: k-NN, probe and baseline settings.

    Returns:
        ``linear_top1``, ``knn_top1`` (None without labels), ``knn_k``, ``knn_temperature``,
        ``feature_dim`` and, with baselines, ``baseline_raw_pixels_linear_top1`` and
        ``baseline_random_init_linear_top1``.
    """
    train_f, train_y = extract_features(backbone, train_batches, eval_view, device)
    test_f, test_y = extract_features(backbone, test_batches, eval_view, device)
    if bool((train_y < 0).any()) or bool((test_y < 0).any()):
        return {
            "linear_top1": None,
            "knn_top1": None,
            "note": "data set has no labels; no probe was run",
        }
    weight_decay = "auto" if settings.probe_weight_decay is None else settings.probe_weight_decay
    probe = dict(epochs=settings.probe_epochs, seed=settings.seed, weight_decay=weight_decay)
    metrics: dict[str, Any] = {
        "linear_top1": linear_probe(train_f, train_y, test_f, test_y, **probe).top1,
        "knn_top1": knn_top1(
            train_f, train_y, test_f, test_y, k=settings.knn_k, temperature=settings.knn_temperature
        ),
        "knn_k": settings.knn_k,
        "knn_temperature": settings.knn_temperature,
        "feature_dim": int(train_f.shape[1]),
    }
    if settings.baselines:
        pixels = nn.Flatten()
        raw_train, _ = extract_features(pixels, train_batches, eval_view, device)
        raw_test, _ = extract_features(pixels, test_batches, eval_view, device)
        metrics["baseline_raw_pixels_linear_top1"] = linear_probe(
            raw_train, train_y, raw_test, test_y, **probe
        ).top1
        random_backbone = random_init_copy(backbone, settings.seed).to(device)
        rf, _ = extract_features(random_backbone, train_batches, eval_view, device)
        rt, _ = extract_features(random_backbone, test_batches, eval_view, device)
        metrics["baseline_random_init_linear_top1"] = linear_probe(
            rf, train_y, rt, test_y, **probe
        ).top1
    return metrics
