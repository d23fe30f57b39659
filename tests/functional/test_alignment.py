"""Closed-form maps between embedding spaces against direct solutions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes as scipy_procrustes

from infoclr.errors import InfoclrError
from infoclr.functional import least_squares_map, orthogonal_procrustes


def test_procrustes_square_matches_scipy_and_recovers_a_rotation() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 8))
    rotation, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    w = orthogonal_procrustes(torch.from_numpy(x), torch.from_numpy(x @ rotation)).numpy()
    np.testing.assert_allclose(w, rotation, atol=1e-8)
    y = x @ rotation + 0.3 * rng.normal(size=x.shape)
    expected, _ = scipy_procrustes(x, y)
    got = orthogonal_procrustes(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-8)


@pytest.mark.parametrize("dx,dy", [(5, 9), (9, 5)])
def test_procrustes_rectangular_is_semi_orthogonal_and_optimal(dx: int, dy: int) -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, dx)), rng.normal(size=(40, dy))
    w = orthogonal_procrustes(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    gram = w.T @ w if dx >= dy else w @ w.T
    np.testing.assert_allclose(gram, np.eye(min(dx, dy)), atol=1e-8)
    best = np.linalg.norm(x @ w - y)
    for _ in range(200):  # no random semi-orthogonal map does better
        q, _ = np.linalg.qr(rng.normal(size=(max(dx, dy), min(dx, dy))))
        other = q if dx >= dy else q.T
        assert np.linalg.norm(x @ other - y) >= best - 1e-9


def test_least_squares_matches_normal_equations() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(50, 6)), rng.normal(size=(50, 4))
    w, b = least_squares_map(torch.from_numpy(x), torch.from_numpy(y), ridge=0.0)
    design = np.hstack([x, np.ones((50, 1))])
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    np.testing.assert_allclose(w.numpy(), solution[:6], atol=1e-8)
    np.testing.assert_allclose(b.numpy(), solution[6], atol=1e-8)
    # Ridge: (Xc'Xc + λ I) W = Xc'Yc with λ = ridge · trace(Xc'Xc) / d, written out row by row.
    w, b = least_squares_map(torch.from_numpy(x), torch.from_numpy(y), ridge=0.5)
    xc, yc = x - x.mean(0), y - y.mean(0)
    gram = sum(np.outer(row, row) for row in xc)
    lam = 0.5 * np.trace(gram) / 6
    expected = np.linalg.solve(gram + lam * np.eye(6), xc.T @ yc)
    np.testing.assert_allclose(w.numpy(), expected, atol=1e-8)
    np.testing.assert_allclose(b.numpy(), y.mean(0) - x.mean(0) @ expected, atol=1e-8)


def test_bad_inputs() -> None:
    with pytest.raises(InfoclrError, match="same rows"):
        orthogonal_procrustes(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(InfoclrError, match="ridge"):
        least_squares_map(torch.randn(4, 3), torch.randn(4, 3), ridge=-1.0)
