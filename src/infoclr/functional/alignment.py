"""Linear maps between two embedding spaces, fitted in closed form on rows embedded by both.

* :func:`orthogonal_procrustes`: ``W = argmin ||X W − Y||_F`` over (semi-)orthogonal W
  (Schönemann 1966): with the SVD ``X^T Y = U Σ V^T``, ``W = U V^T``. For d_x ≠ d_y the thin
  SVD gives a W with orthonormal rows (d_x ≤ d_y) or columns (d_x ≥ d_y). Rotations keep
  cosine similarities within a space, which is why it is the usual baseline for aligning word
  vectors (Smith et al. 2017; Conneau et al. 2018) and model upgrades.
* :func:`least_squares_map`: ridge regression ``min ||X W + b − Y||² + λ ||W||²`` on centred
  rows, ``W = (X_c^T X_c + λ I)^{-1} X_c^T Y_c``, ``b = mean(Y) − mean(X) W``.

Shapes: X (N, d_x), Y (N, d_y) → W (d_x, d_y), b (d_y,).
"""

from __future__ import annotations

import torch
from torch import Tensor

from infoclr.errors import InfoclrError

__all__ = ["least_squares_map", "orthogonal_procrustes"]


def _check(x: Tensor, y: Tensor) -> None:
    if x.dim() != 2 or y.dim() != 2:
        raise InfoclrError("both sides must be 2-D (rows, dim) tensors")
    if x.shape[0] != y.shape[0]:
        raise InfoclrError(
            f"the two sides have {x.shape[0]} and {y.shape[0]} rows; give the same rows, "
            "embedded by both encoders, in the same order"
        )
    if x.shape[0] < 2:
        raise InfoclrError("fitting a map needs at least 2 rows embedded by both encoders")


def orthogonal_procrustes(x: Tensor, y: Tensor) -> Tensor:
    """The (semi-)orthogonal W minimising ``||x W − y||_F``; (d_x, d_y), float64 inside."""
    _check(x, y)
    u, _, vh = torch.linalg.svd(x.double().t() @ y.double(), full_matrices=False)
    return (u @ vh).to(x.dtype)


def least_squares_map(x: Tensor, y: Tensor, ridge: float = 1e-3) -> tuple[Tensor, Tensor]:
    """Ridge least squares ``(W, b)`` with ``x W + b ≈ y`` (see the module docstring).

    ``ridge`` is λ relative to the mean eigenvalue of ``X_c^T X_c`` (its trace / d_x), so that
    the same value means the same strength for vectors of any scale; 0 is plain least squares.
    """
    _check(x, y)
    if ridge < 0:
        raise InfoclrError(f"ridge must be >= 0, got {ridge}")
    xd, yd = x.double(), y.double()
    x_mean, y_mean = xd.mean(dim=0), yd.mean(dim=0)
    xc, yc = xd - x_mean, yd - y_mean
    gram = xc.t() @ xc
    strength = ridge * torch.trace(gram) / gram.shape[0]
    eye = torch.eye(gram.shape[0], dtype=gram.dtype)
    weight = torch.linalg.lstsq(gram + strength * eye, xc.t() @ yc).solution
    bias = y_mean - x_mean @ weight
    return weight.to(x.dtype), bias.to(x.dtype)
