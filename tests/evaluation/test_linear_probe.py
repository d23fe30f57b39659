"""Linear probe: separable data, agreement with scikit-learn, and input checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from infoclr.errors import ConfigError, DataError
from infoclr.evaluation.linear import LinearProbeResult, linear_probe, linear_top1


@pytest.fixture(scope="module")
def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    images, labels = load_digits(return_X_y=True)
    # 1,257 train / 540 test, the split size quoted in the probe's speed target.
    return train_test_split(images, labels, test_size=540, random_state=0, stratify=labels)


def separable_blobs(seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, 20)) * 4
    train_labels = rng.integers(0, 4, size=200)
    test_labels = rng.integers(0, 4, size=100)
    train = centres[train_labels] + rng.normal(size=(200, 20))
    test = centres[test_labels] + rng.normal(size=(100, 20))
    return train, train_labels, test, test_labels


@pytest.mark.parametrize("optimizer, epochs", [("lbfgs", 100), ("adam", 20), ("sgd", 20)])
def test_separable_data_is_solved(optimizer: str, epochs: int) -> None:
    train, train_labels, test, test_labels = separable_blobs(seed=1)
    result = linear_probe(
        train,
        train_labels,
        test,
        test_labels,
        epochs=epochs,
        optimizer=optimizer,
        lr=0.05 if optimizer == "adam" else None,
    )
    assert isinstance(result, LinearProbeResult)
    assert result.top1 == 1.0
    assert result.train_top1 == 1.0
    assert result.num_classes == 4
    if optimizer == "lbfgs":
        assert 1 <= result.steps <= epochs
    else:
        assert result.steps == epochs  # 200 rows fit in one batch of 256
    assert result.test_predictions.shape == (100,)


def test_random_labels_stay_near_chance() -> None:
    train, _, test, _ = separable_blobs(seed=2)
    rng = np.random.default_rng(0)
    result = linear_probe(train, rng.integers(0, 4, 200), test, rng.integers(0, 4, 100))
    assert result.top1 < 0.45


def _sklearn_objective(
    model: LogisticRegression, features: np.ndarray, labels: np.ndarray, weight_decay: float
) -> float:
    probabilities = model.predict_proba(features)
    cross_entropy = -np.log(probabilities[np.arange(len(labels)), labels]).mean()
    return float(cross_entropy + 0.5 * weight_decay * (model.coef_**2).sum())


def test_agrees_with_sklearn_logistic_regression_on_digits(digits_split) -> None:
    train, test, train_labels, test_labels = digits_split
    scaler = StandardScaler().fit(train)
    reference = LogisticRegression(C=1.0, max_iter=5000).fit(scaler.transform(train), train_labels)
    reference_top1 = reference.score(scaler.transform(test), test_labels)
    reference_predictions = reference.predict(scaler.transform(test))

    # Default probe (no L2): a few points of sklearn's C = 1 model.
    default = linear_probe(train, train_labels, test, test_labels)
    assert abs(default.top1 - reference_top1) <= 0.03

    # weight_decay = 1 / (C * N) gives sklearn's objective up to a constant factor, hence the
    # same minimiser: same objective value and (nearly) the same predictions.
    matched_decay = 1.0 / len(train)
    matched = linear_probe(train, train_labels, test, test_labels, weight_decay=matched_decay)
    assert abs(matched.top1 - reference_top1) <= 0.01
    assert (matched.test_predictions == reference_predictions).mean() >= 0.99
    reference_loss = _sklearn_objective(
        reference, scaler.transform(train), train_labels, matched_decay
    )
    assert matched.train_loss == pytest.approx(reference_loss, abs=1e-3)


def test_torch_inputs_determinism_and_top1_wrapper(digits_split) -> None:
    train, test, train_labels, test_labels = digits_split
    as_tensors = [torch.as_tensor(array) for array in (train, train_labels, test, test_labels)]
    first = linear_probe(*as_tensors, epochs=30)
    second = linear_probe(train, train_labels, test, test_labels, epochs=30)
    assert first.top1 == second.top1
    assert (first.test_predictions == second.test_predictions).all()
    assert linear_top1(train, train_labels, test, test_labels, epochs=30) == first.top1


def test_standardize_makes_scale_irrelevant() -> None:
    train, train_labels, test, test_labels = separable_blobs(seed=3)
    plain = linear_probe(train, train_labels, test, test_labels, epochs=50)
    scaled = linear_probe(train * 1e4 + 7, train_labels, test * 1e4 + 7, test_labels, epochs=50)
    assert (plain.test_predictions == scaled.test_predictions).all()


def test_bad_inputs_raise_one_line_errors() -> None:
    train, train_labels, test, test_labels = separable_blobs(seed=4)
    with pytest.raises(DataError, match="at least 2 classes"):
        linear_probe(train, np.zeros(200, dtype=int), test, test_labels)
    with pytest.raises(DataError, match="columns"):
        linear_probe(train, train_labels, test[:, :3], test_labels)
    with pytest.raises(DataError, match="test_labels has 99 entries"):
        linear_probe(train, train_labels, test, test_labels[:-1])
    broken = test.copy()
    broken[5, 0] = np.inf
    with pytest.raises(DataError, match=r"\[5\]"):
        linear_probe(train, train_labels, broken, test_labels)
    with pytest.raises(DataError, match="negative"):
        linear_probe(train, train_labels - 1, test, test_labels)
    for kwargs, message in [
        (dict(optimizer="newton"), "optimizer"),
        (dict(epochs=0), "epochs"),
        (dict(lr=-1.0), "lr"),
        (dict(weight_decay=-0.1), "weight_decay"),
        (dict(batch_size=0), "batch_size"),
    ]:
        with pytest.raises(ConfigError, match=message) as caught:
            linear_probe(train, train_labels, test, test_labels, **kwargs)
        assert "\n" not in str(caught.value)
