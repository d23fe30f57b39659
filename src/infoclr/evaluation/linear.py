"""Linear probe: multinomial logistic regression on frozen features.

The standard linear evaluation protocol of self-supervised learning (Zhang, Isola, Efros,
"Colorful Image Colorization", ECCV 2016; Oord et al. 2018; Chen et al., SimCLR, ICML 2020,
appendix B.5): the encoder is frozen, and a single linear layer trained with cross-entropy on its
features measures how linearly separable the classes are.

Objective, the same for every optimiser (bias not penalised, as in scikit-learn)::

    mean_i CE(W x_i + b, y_i) + weight_decay / 2 * ||W||^2

With ``weight_decay = 1 / (C * N_train)`` this is scikit-learn's ``LogisticRegression(C=C)``
objective divided by ``C * N_train``, so both have the same minimiser.

Default optimiser, chosen by measurement: full-batch L-BFGS with a strong-Wolfe line search.
The objective is convex and smooth, so a quasi-Newton method reaches the optimum in tens of full
passes, where minibatch Adam or SGD need ~100 epochs of many small steps. Measured with this
module (100 epochs/iterations, batch 256, Adam lr 1e-3, SGD lr 0.1 with Nesterov momentum):

====================================  ===========  ==========  ==========
features (train x dim, 10 classes)    L-BFGS       Adam        SGD
====================================  ===========  ==========  ==========
50,000 x 512 Gaussian, 16-core CPU    0.15 s       12.8 s      11.7 s
50,000 x 512, 2 shared, loaded cores  4.0-4.4 s    176 s       166 s
digits 1,257 x 64, 16-core CPU        0.02-0.07 s  0.2-0.35 s  0.15-0.25 s
====================================  ===========  ==========  ==========

All three reached the same training loss (1.0770) and test accuracy (0.601) on the Gaussian
features. On digits, unregularised L-BFGS separates the training set (test 0.956); with the
scikit-learn-matched ``weight_decay = 1/N`` it gives 0.974 against sklearn's 0.972. The first
torch optimiser built in a process also imports ``torch._dynamo`` once (1.5-5 s), whichever
optimiser it is.

``epochs`` is the L-BFGS iteration budget (each iteration is one or a few full passes over the
data; it stops earlier once converged); for ``"adam"``/``"sgd"`` it is the number of minibatch
epochs under a cosine learning-rate schedule.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from infoclr.arrays import (
    ArrayLike,
    as_labelled_features,
    check_same_width,
)
from infoclr.errors import ConfigError, DataError

OPTIMIZERS = ("lbfgs", "adam", "sgd")
_DEFAULT_LR = {"lbfgs": 1.0, "adam": 1e-3, "sgd": 0.1}


@dataclass
class LinearProbeResult:
    """Outcome of :func:`linear_probe`.

    Attributes:
        top1: accuracy on the test split, in [0, 1].
        train_top1: accuracy on the training split (a large gap to ``top1`` means overfitting).
        epochs: the iteration/epoch budget that was run (see the module docstring).
        steps: optimiser updates actually taken: L-BFGS iterations (fewer than ``epochs`` when
            it converged early) or minibatch steps.
        train_loss: final value of the training objective (cross-entropy plus the L2 term).
        num_classes: width C of the classifier.
        optimizer: ``"lbfgs"``, ``"adam"`` or ``"sgd"``.
        lr: the learning rate used (the default for the optimiser when none was given).
        weight_decay: the L2 coefficient used.
        seconds: wall-clock time of training and prediction.
        test_predictions: (N_test,) int64 predicted class ids.
    """

    top1: float
    train_top1: float
    epochs: int
    steps: int
    train_loss: float
    num_classes: int
    optimizer: str
    lr: float
    weight_decay: float
    seconds: float
    test_predictions: np.ndarray


def _objective(
    classifier: torch.nn.Linear,
    features: torch.Tensor,
    class_ids: torch.Tensor,
    weight_decay: float,
) -> torch.Tensor:
    loss = F.cross_entropy(classifier(features), class_ids)
    if weight_decay:
        loss = loss + 0.5 * weight_decay * classifier.weight.pow(2).sum()
    return loss


def _train_lbfgs(
    classifier: torch.nn.Linear,
    features: torch.Tensor,
    class_ids: torch.Tensor,
    *,
    iterations: int,
    lr: float,
    weight_decay: float,
) -> int:
    """Full-batch L-BFGS; returns the number of iterations taken."""
    optimizer = torch.optim.LBFGS(
        classifier.parameters(),
        lr=lr,
        max_iter=iterations,
        tolerance_grad=1e-6,
        tolerance_change=1e-9,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        loss = _objective(classifier, features, class_ids, weight_decay)
        loss.backward()
        return loss

    optimizer.step(closure)
    return int(optimizer.state[classifier.weight].get("n_iter", 0))


def _train_minibatch(
    classifier: torch.nn.Linear,
    features: torch.Tensor,
    class_ids: torch.Tensor,
    *,
    optimizer_name: str,
    epochs: int,
    lr: float,
    weight_decay: float,
    batch_size: int,
    generator: torch.Generator,
) -> int:
    """Minibatch Adam or SGD under a cosine schedule; returns the number of steps taken."""
    if optimizer_name == "adam":
        optimizer: torch.optim.Optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    else:
        optimizer = torch.optim.SGD(classifier.parameters(), lr=lr, momentum=0.9, nesterov=True)
    num_rows = len(features)
    steps_per_epoch = math.ceil(num_rows / batch_size)
    total_steps = epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
    )
    for _ in range(epochs):
        order = torch.randperm(num_rows, generator=generator).to(features.device)
        for start in range(0, num_rows, batch_size):
            batch = order[start : start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            _objective(classifier, features[batch], class_ids[batch], weight_decay).backward()
            optimizer.step()
            schedule.step()
    return total_steps


@torch.no_grad()
def _predict(
    classifier: torch.nn.Linear, features: torch.Tensor, chunk: int = 65536
) -> torch.Tensor:
    """(N,) predicted class ids, in chunks so that the logits never need N x C memory at once."""
    return torch.cat(
        [classifier(features[i : i + chunk]).argmax(1) for i in range(0, len(features), chunk)]
    )


def linear_probe(
    train_features: ArrayLike,
    train_labels: ArrayLike,
    test_features: ArrayLike,
    test_labels: ArrayLike,
    *,
    epochs: int = 100,
    lr: float | None = None,
    weight_decay: float | str = 0.0,
    batch_size: int = 256,
    seed: int = 0,
    standardize: bool = True,
    device: str = "cpu",
    optimizer: str = "lbfgs",
) -> LinearProbeResult:
    """Train a linear classifier on frozen training features and score it on the test split.

    Args:
        train_features: (N_train, D) frozen features (numpy or torch, any device).
        train_labels: (N_train,) integer class ids; at least two distinct classes.
        test_features: (N_test, D) features of the held-out split.
        test_labels: (N_test,) integer class ids.
        epochs: L-BFGS iterations (default optimiser) or minibatch epochs (Adam/SGD).
        lr: learning rate; ``None`` picks 1.0 for L-BFGS (a line search scales the step),
            1e-3 for Adam, 0.1 for SGD with Nesterov momentum 0.9.
        weight_decay: L2 coefficient on the weights (not the bias); see the module docstring
            for the match with scikit-learn's ``C``. ``"auto"`` picks it from
            :data:`WEIGHT_DECAY_GRID` by accuracy on a stratified 20% validation split of the
            training rows (:func:`select_weight_decay`), then refits on all training rows.
        batch_size: minibatch size for Adam/SGD; ignored by full-batch L-BFGS.
        seed: seeds the minibatch order. Weights start at zero, so L-BFGS is deterministic.
        standardize: z-score every feature with the training split's mean and standard
            deviation (constant features are only centred). It conditions the problem so that
            one default learning rate works for features of any scale.
        device, optimizer: torch device to train on; ``"lbfgs"`` (default), ``"adam"``, ``"sgd"``.

    Returns:
        A :class:`LinearProbeResult`.

    Raises:
        ConfigError: for a bad optimiser or a non-positive / negative setting; DataError: for
            empty, non-finite or mismatched inputs, or fewer than two classes.
    """
    weight_decay, lr_used = _checked_settings(
        train_features, train_labels, optimizer, epochs, lr, weight_decay, batch_size,
        seed, standardize, device,
    )  # fmt: skip
    train_matrix, train_ids, test_matrix, test_ids = _checked_inputs(
        train_features, train_labels, test_features, test_labels
    )
    num_classes = int(max(train_ids.max(), test_ids.max())) + 1
    started = time.perf_counter()
    torch_device = torch.device(device)
    train_x, test_x, train_y = (
        torch.from_numpy(a).to(torch_device) for a in (train_matrix, test_matrix, train_ids)
    )
    if standardize:
        train_x, test_x = _standardize(train_x, test_x)
    classifier = torch.nn.Linear(train_matrix.shape[1], num_classes).to(torch_device)
    for parameter in classifier.parameters():  # zero start: L-BFGS is deterministic
        torch.nn.init.zeros_(parameter)
    steps = _train(classifier, train_x, train_y, optimizer, epochs, lr_used, weight_decay,
                   batch_size, seed)  # fmt: skip
    with torch.no_grad():
        train_loss = float(_objective(classifier, train_x, train_y, weight_decay))
    train_predictions = _predict(classifier, train_x).cpu().numpy()
    test_predictions = _predict(classifier, test_x).cpu().numpy()
    return LinearProbeResult(
        top1=float((test_predictions == test_ids).mean()),
        train_top1=float((train_predictions == train_ids).mean()),
        epochs=int(epochs),
        steps=steps,
        train_loss=train_loss,
        num_classes=num_classes,
        optimizer=optimizer,
        lr=lr_used,
        weight_decay=float(weight_decay),
        seconds=time.perf_counter() - started,
        test_predictions=test_predictions.astype(np.int64),
    )


def _checked_inputs(
    train_features: ArrayLike,
    train_labels: ArrayLike,
    test_features: ArrayLike,
    test_labels: ArrayLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    train_matrix, train_ids = as_labelled_features(train_features, train_labels, "train")
    test_matrix, test_ids = as_labelled_features(test_features, test_labels, "test")
    check_same_width(train_matrix, test_matrix, "train_features", "test_features")
    if len(np.unique(train_ids)) < 2:
        raise DataError(
            "the linear probe needs at least 2 classes in train_labels, got "
            f"{len(np.unique(train_ids))}; check the labels column"
        )
    return train_matrix, train_ids, test_matrix, test_ids


def _checked_settings(
    train_features: ArrayLike,
    train_labels: ArrayLike,
    optimizer: str,
    epochs: int,
    lr: float | None,
    weight_decay: float | str,
    batch_size: int,
    seed: int,
    standardize: bool,
    device: str,
) -> tuple[float, float]:
    """(weight decay, learning rate) after the checks; ``"auto"`` weight decay is selected."""
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"unknown probe optimizer {optimizer!r}; choose one of {OPTIMIZERS}")
    if epochs < 1:
        raise ConfigError(f"epochs must be >= 1, got {epochs}")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    if weight_decay == "auto":
        weight_decay = select_weight_decay(
            train_features,
            train_labels,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            seed=seed,
            standardize=standardize,
            device=device,
            optimizer=optimizer,
        )
    if isinstance(weight_decay, str) or weight_decay < 0:
        raise ConfigError(f"weight_decay must be >= 0 or 'auto', got {weight_decay!r}")
    lr_used = _DEFAULT_LR[optimizer] if lr is None else float(lr)
    if not lr_used > 0:
        raise ConfigError(f"lr must be positive, got {lr}")
    return float(weight_decay), lr_used


def _standardize(train_x: torch.Tensor, test_x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Both splits z-scored with the training split's statistics."""
    mean = train_x.mean(dim=0)
    std = train_x.std(dim=0, unbiased=False)
    # Constant training features carry no signal; divide by 1 rather than by ~0.
    std = torch.where(std > 1e-6 * std.max().clamp_min(1e-12), std, torch.ones_like(std))
    return (train_x - mean) / std, (test_x - mean) / std


def _train(
    classifier: torch.nn.Linear,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    optimizer: str,
    epochs: int,
    lr: float,
    weight_decay: float,
    batch_size: int,
    seed: int,
) -> int:
    # Training must not leak into an outer no_grad / inference context.
    with torch.enable_grad():
        if optimizer == "lbfgs":
            return _train_lbfgs(
                classifier, train_x, train_y, iterations=epochs, lr=lr, weight_decay=weight_decay
            )
        return _train_minibatch(
            classifier,
            train_x,
            train_y,
            optimizer_name=optimizer,
            epochs=epochs,
            lr=lr,
            weight_decay=weight_decay,
            batch_size=batch_size,
            generator=torch.Generator().manual_seed(seed),
        )


def linear_top1(
    train_features: ArrayLike,
    train_labels: ArrayLike,
    test_features: ArrayLike,
    test_labels: ArrayLike,
    **options: Any,
) -> float:
    """Test top-1 accuracy in [0, 1] of :func:`linear_probe` (same arguments; ``options`` are
    its keyword-only settings)."""
    return linear_probe(train_features, train_labels, test_features, test_labels, **options).top1


#: Candidates of ``weight_decay="auto"``; 0 keeps the unregularised probe in the running.
WEIGHT_DECAY_GRID: tuple[float, ...] = (0.0, 1e-5, 1e-4, 1e-3, 1e-2)


def select_weight_decay(
    train_features: ArrayLike,
    train_labels: ArrayLike,
    grid: tuple[float, ...] = WEIGHT_DECAY_GRID,
    val_fraction: float = 0.2,
    seed: int = 0,
    **probe_options,
) -> float:
    """The weight decay from ``grid`` with the best accuracy on a held-out stratified split of
    the *training* rows (the test split is never looked at). Ties go to the smaller value."""
    from sklearn.model_selection import train_test_split

    matrix, ids = as_labelled_features(train_features, train_labels, "train")
    counts = np.bincount(ids)
    stratify = ids if counts[counts > 0].min() >= 2 else None
    fit_rows, val_rows = train_test_split(
        np.arange(len(ids)), test_size=val_fraction, random_state=seed, stratify=stratify
    )
    best, best_accuracy = grid[0], -1.0
    for candidate in grid:
        result = linear_probe(
            matrix[fit_rows],
            ids[fit_rows],
            matrix[val_rows],
            ids[val_rows],
            weight_decay=candidate,
            seed=seed,
            **probe_options,
        )
        if result.top1 > best_accuracy + 1e-12:
            best, best_accuracy = candidate, result.top1
    return float(best)
