"""Linear probe: multinomial logistic regression on frozen features.

The standard linear evaluation protocol of self-supervised learning (Zhang, Isola, Efros,
"Colorful Image Colorization", ECCV 2016; Oord et al. 2018; Chen et al., SimCLR, ICML 2020,
appendix B.5): the encoder is frozen, and a single linear layer trained with cross-entropy on its
features measures how linearly separable the classes are.

Objective, the same for every optimiser (bias not penalised, as in scikit-learn)::

    mean_i CE(W x_i + b, y_i) + weight_decay / 2 * ||W||^2

With ``weight_decay = 1 / (C * N_train)`` this is scikit-learn's ``LogisticRegression(C=C)``
objective divided by ``C * N_train``, so both have the same minimiser.

Default optimiser, chosen by measurement (docs/benchmarks.md and the module test): full-batch
L-BFGS with a strong-Wolfe line search. The objective is convex and smooth, so a quasi-Newton
method reaches the optimum in a few dozen full passes; minibatch Adam or SGD need ~100 epochs of
many small steps, are slower on CPU at these sizes, and stop short of the optimum. ``epochs`` is
the L-BFGS iteration budget (each iteration is one or a few full passes over the data); for
``"adam"``/``"sgd"`` it is the number of minibatch epochs under a cosine learning-rate schedule.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from infoclr.errors import ConfigError, DataError
from infoclr.evaluation._inputs import (
    ArrayLike,
    as_feature_matrix,
    as_label_vector,
    check_same_width,
)

OPTIMIZERS = ("lbfgs", "adam", "sgd")
_DEFAULT_LR = {"lbfgs": 1.0, "adam": 1e-3, "sgd": 0.1}


@dataclass
class LinearProbeResult:
    """Outcome of :func:`linear_probe`.

    Attributes:
        top1: accuracy on the test split, in [0, 1].
        train_top1: accuracy on the training split (a large gap to ``top1`` means overfitting).
        epochs: the iteration/epoch budget that was run (see the module docstring).
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
) -> None:
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
) -> None:
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
    weight_decay: float = 0.0,
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
            for the match with scikit-learn's ``C``.
        batch_size: minibatch size for Adam/SGD; ignored by full-batch L-BFGS.
        seed: seeds the minibatch order. Weights start at zero, so L-BFGS is deterministic.
        standardize: z-score every feature with the training split's mean and standard
            deviation (constant features are only centred). It conditions the problem so that
            one default learning rate works for features of any scale.
        device: torch device to train on (``"cpu"``, ``"cuda"``).
        optimizer: ``"lbfgs"`` (default), ``"adam"`` or ``"sgd"``.

    Returns:
        A :class:`LinearProbeResult`.

    Raises:
        ConfigError: for a bad optimiser name, non-positive epochs/lr/batch size or negative
            weight decay.
        DataError: for empty, non-finite or mismatched inputs, or fewer than two classes.
    """
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"unknown probe optimizer {optimizer!r}; choose one of {OPTIMIZERS}")
    if epochs < 1:
        raise ConfigError(f"epochs must be >= 1, got {epochs}")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    if weight_decay < 0:
        raise ConfigError(f"weight_decay must be >= 0, got {weight_decay}")
    lr_used = _DEFAULT_LR[optimizer] if lr is None else float(lr)
    if not lr_used > 0:
        raise ConfigError(f"lr must be positive, got {lr}")

    train_matrix = as_feature_matrix(train_features, "train_features")
    train_ids = as_label_vector(
        train_labels, len(train_matrix), "train_labels", features_name="train_features"
    )
    test_matrix = as_feature_matrix(test_features, "test_features")
    test_ids = as_label_vector(
        test_labels, len(test_matrix), "test_labels", features_name="test_features"
    )
    check_same_width(train_matrix, test_matrix, "train_features", "test_features")
    if len(np.unique(train_ids)) < 2:
        raise DataError(
            "the linear probe needs at least 2 classes in train_labels, got "
            f"{len(np.unique(train_ids))}; check the labels column"
        )
    num_classes = int(max(train_ids.max(), test_ids.max())) + 1

    started = time.perf_counter()
    torch_device = torch.device(device)
    train_x = torch.from_numpy(train_matrix).to(torch_device)
    test_x = torch.from_numpy(test_matrix).to(torch_device)
    train_y = torch.from_numpy(train_ids).to(torch_device)
    if standardize:
        mean = train_x.mean(dim=0)
        std = train_x.std(dim=0, unbiased=False)
        # Constant training features carry no signal; divide by 1 rather than by ~0.
        std = torch.where(std > 1e-6 * std.max().clamp_min(1e-12), std, torch.ones_like(std))
        train_x = (train_x - mean) / std
        test_x = (test_x - mean) / std

    classifier = torch.nn.Linear(train_matrix.shape[1], num_classes).to(torch_device)
    torch.nn.init.zeros_(classifier.weight)
    torch.nn.init.zeros_(classifier.bias)
    generator = torch.Generator().manual_seed(seed)

    # Training must not leak into an outer no_grad / inference context.
    with torch.enable_grad():
        if optimizer == "lbfgs":
            _train_lbfgs(
                classifier,
                train_x,
                train_y,
                iterations=epochs,
                lr=lr_used,
                weight_decay=weight_decay,
            )
        else:
            _train_minibatch(
                classifier,
                train_x,
                train_y,
                optimizer_name=optimizer,
                epochs=epochs,
                lr=lr_used,
                weight_decay=weight_decay,
                batch_size=batch_size,
                generator=generator,
            )

    with torch.no_grad():
        train_loss = float(_objective(classifier, train_x, train_y, weight_decay))
    train_predictions = _predict(classifier, train_x).cpu().numpy()
    test_predictions = _predict(classifier, test_x).cpu().numpy()
    return LinearProbeResult(
        top1=float((test_predictions == test_ids).mean()),
        train_top1=float((train_predictions == train_ids).mean()),
        epochs=int(epochs),
        train_loss=train_loss,
        num_classes=num_classes,
        optimizer=optimizer,
        lr=lr_used,
        weight_decay=float(weight_decay),
        seconds=time.perf_counter() - started,
        test_predictions=test_predictions.astype(np.int64),
    )


def linear_top1(
    train_features: ArrayLike,
    train_labels: ArrayLike,
    test_features: ArrayLike,
    test_labels: ArrayLike,
    *,
    epochs: int = 100,
    lr: float | None = None,
    weight_decay: float = 0.0,
    batch_size: int = 256,
    seed: int = 0,
    standardize: bool = True,
    device: str = "cpu",
    optimizer: str = "lbfgs",
) -> float:
    """Test top-1 accuracy in [0, 1] of :func:`linear_probe` (same arguments)."""
    return linear_probe(
        train_features,
        train_labels,
        test_features,
        test_labels,
        epochs=epochs,
        lr=lr,
        weight_decay=weight_decay,
        batch_size=batch_size,
        seed=seed,
        standardize=standardize,
        device=device,
        optimizer=optimizer,
    ).top1
