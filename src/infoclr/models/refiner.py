"""The SimSkip refiner, and the ``.refiner.pt`` file it is saved in.

SimSkip (Liu, Kim & Bansal, "Can Contrastive Learning Refine Embeddings", arXiv 2404.08701,
ESWC 2024) refines embeddings that an existing encoder already produced. The refiner has a skip
connection, ``h = x + F(x)``, so it can represent the identity; with F's last layer
zero-initialised, training *starts* at the identity. The objective around it is a
reconstruction (the paper body was not readable); see ``docs/guide-refine.md``.

Inputs are standardised per dimension with statistics of the training rows before F sees them,
because embeddings from different encoders differ in scale by orders of magnitude and F's
initialisation and learning rate should not depend on that (``standardize=False`` in
:mod:`infoclr.refine` gives F the raw coordinates instead: mean 0, std 1).

The projection head that SimSkip trains with is :class:`infoclr.models.heads.ProjectionHead`.

A ``.refiner.pt`` file (:func:`save_refiner`, :func:`load_refiner`) is a plain dict that
``torch.load(weights_only=True)`` can read (no pickled classes):

* ``format``: ``"infoclr.refiner/1"``;
* ``refiner_config``: the :class:`Refiner` constructor arguments; ``input_dim``: D;
* ``state_dict``: the refiner's weights, including the standardisation buffers
  ``feature_mean`` / ``feature_std`` (the statistics of the training rows), which are also
  stored on their own as (D,) tensors for readers that do not build the module;
* ``train_config``: the run's configuration; ``selection``: the chosen epoch and why;
* ``infoclr_version``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from torch import Tensor, nn

from infoclr.errors import ConfigError, DataError

__all__ = ["REFINER_FORMAT", "LoadedRefiner", "Refiner", "load_refiner", "save_refiner"]

REFINER_FORMAT = "infoclr.refiner/1"


def _check_dim(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


class Refiner(nn.Module):
    """Residual MLP refiner ``h = x + F(x)`` (SimSkip, arXiv 2404.08701).

    ``F = Linear(d, hidden) → BatchNorm1d → ReLU → Dropout → Linear(hidden, d)`` acts on the
    standardised input ``u = (x − mean) / std``. Its output is mapped back to the input's
    coordinates, so the refined vectors live where the input vectors live:

    * ``skip=True``: ``h = x + std · F(u)``. F's last layer is zero-initialised, so a fresh
      refiner returns its input *exactly* (bit for bit), in train and eval mode alike.
    * ``skip=False`` (the no-skip ablation): ``h = mean + std · F(u)``, a plain MLP with
      PyTorch's default initialisation.

    Args:
        dim: d, the input and output dimension.
        hidden: width of F's hidden layer (default ``max(1, d // 2)``).
        dropout: dropout probability after the ReLU.
        skip: use the skip connection.
        feature_mean: (d,) per-dimension mean of the training rows (default zeros).
        feature_std: (d,) per-dimension standard deviation of the training rows (default
            ones); must be > 0.

    Shapes:
        ``forward``: (N, d) → (N, d). ``standardized``: (N, d) → (N, d).
    """

    feature_mean: Tensor
    feature_std: Tensor

    def __init__(
        self,
        dim: int,
        hidden: int | None = None,
        dropout: float = 0.1,
        skip: bool = True,
        feature_mean: Tensor | None = None,
        feature_std: Tensor | None = None,
    ) -> None:
        super().__init__()
        _check_dim("dim", dim)
        hidden = max(1, dim // 2) if hidden is None else hidden
        _check_dim("hidden", hidden)
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        self.dim = dim
        self.hidden = hidden
        self.dropout = float(dropout)
        self.skip = bool(skip)
        mean = torch.zeros(dim) if feature_mean is None else feature_mean.detach().float()
        std = torch.ones(dim) if feature_std is None else feature_std.detach().float()
        if mean.shape != (dim,) or std.shape != (dim,):
            raise ConfigError(
                f"feature_mean and feature_std must have shape ({dim},), got "
                f"{tuple(mean.shape)} and {tuple(std.shape)}"
            )
        if not bool((std > 0).all()) or not bool(torch.isfinite(std).all()):
            raise ConfigError("feature_std must be finite and > 0 in every dimension")
        self.register_buffer("feature_mean", mean.clone())
        self.register_buffer("feature_std", std.clone())
        self.residual = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(self.dropout),
            nn.Linear(hidden, dim),
        )
        if self.skip:
            # Zero output layer: F(x) = 0 exactly, so training starts at the identity and the
            # initial refiner is a candidate that reproduces the input embeddings.
            last = self.residual[-1]
            assert isinstance(last, nn.Linear)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def identity(self) -> Refiner:
        """A fresh skip refiner of the same shape and statistics: it returns its input exactly
        (what is saved when the guard keeps the input)."""
        fresh = Refiner(
            self.dim, self.hidden, self.dropout, True, self.feature_mean, self.feature_std
        )
        return fresh.to(self.feature_std.device).eval()

    def standardize(self, x: Tensor) -> Tensor:
        """(N, d) input coordinates → (N, d) standardised coordinates ``(x − mean) / std``."""
        return (x - self.feature_mean) / self.feature_std

    def standardized(self, x: Tensor) -> Tensor:
        """The refined vectors in standardised coordinates: ``u + F(u)`` (or ``F(u)``).

        This is what the projection head sees during training; (N, d) → (N, d).
        """
        u = self.standardize(x)
        delta = self.residual(u)
        return u + delta if self.skip else delta

    def forward(self, x: Tensor) -> Tensor:
        """Refine (N, d) vectors; returns (N, d) vectors in the input's coordinates."""
        x = x.to(self.feature_std.dtype)
        delta = self.residual(self.standardize(x))
        if self.skip:
            return x + delta * self.feature_std
        return self.feature_mean + delta * self.feature_std

    @torch.no_grad()
    def refine_rows(self, rows: np.ndarray, batch_size: int = 32768) -> np.ndarray:
        """Refine (N, D) numpy rows in eval mode, ``batch_size`` rows at a time.

        Returns (N, D) float32 on the CPU; the module's train/eval mode is restored afterwards.
        """
        was_training = self.training
        self.eval()
        device = self.feature_std.device
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        try:
            for start in range(0, len(rows), batch_size):
                # A copy: the rows may be a read-only memmap, which torch must not wrap.
                part = np.array(rows[start : start + batch_size], dtype=np.float32)
                refined = self(torch.from_numpy(part).to(device))
                out[start : start + len(part)] = refined.cpu().numpy()
        finally:
            self.train(was_training)
        return out

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this refiner (with its state_dict)."""
        return {"dim": self.dim, "hidden": self.hidden, "dropout": self.dropout, "skip": self.skip}

    def extra_repr(self) -> str:
        return f"dim={self.dim}, hidden={self.hidden}, dropout={self.dropout}, skip={self.skip}"


def _plain(value: Any) -> Any:
    """JSON-like copy (floats, ints, strings, lists, dicts) that weights_only loading accepts."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def refiner_payload(
    refiner: Refiner,
    train_config: dict[str, Any] | None = None,
    selection: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The dict a ``.refiner.pt`` file holds (see the module docstring)."""
    from infoclr import __version__

    return {
        "format": REFINER_FORMAT,
        "refiner_config": refiner.config(),
        "input_dim": refiner.dim,
        "state_dict": {k: v.detach().cpu().clone() for k, v in refiner.state_dict().items()},
        "feature_mean": refiner.feature_mean.detach().cpu().clone(),
        "feature_std": refiner.feature_std.detach().cpu().clone(),
        "train_config": _plain(dict(train_config or {})),
        "selection": _plain(selection or {}),
        "infoclr_version": __version__,
    }


def save_refiner(
    path: str | os.PathLike[str] | IO[bytes],
    refiner: Refiner,
    train_config: dict[str, Any] | None = None,
    selection: dict[str, Any] | None = None,
) -> None:
    """Write ``refiner`` (weights, config, input dim, standardisation stats) to ``path``.

    ``path`` may be an open binary handle (an :class:`infoclr.runs.OutputSet` stage); a path is
    written atomically.
    """
    payload = refiner_payload(refiner, train_config, selection)
    if isinstance(path, (str, os.PathLike)):
        from infoclr.io import atomic_torch_save

        atomic_torch_save(payload, path)
    else:
        torch.save(payload, path)


@dataclass
class LoadedRefiner:
    """A refiner read from disk, in eval mode, with the metadata it was saved with."""

    refiner: Refiner
    train_config: dict[str, Any]
    selection: dict[str, Any]
    path: Path

    def refine(self, rows: np.ndarray) -> np.ndarray:
        """Refine (N, D) rows; returns (N, D) float32."""
        return self.refiner.refine_rows(rows)


def load_refiner(path: str | os.PathLike[str]) -> LoadedRefiner:
    """Load a file written by :func:`save_refiner`; a one-line DataError when it is not one."""
    path = Path(path)
    hint = "pass the .refiner.pt file that infoclr refine wrote beside its --out"
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise DataError(f"refiner file {path} {what}; {hint}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a corrupt file
        raise DataError(
            f"{path} is not a readable torch file ({type(err).__name__}); {hint}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != REFINER_FORMAT:
        raise DataError(
            f"{path} is a torch file but not an infoclr refiner (no format "
            f"{REFINER_FORMAT!r}); {hint}"
        )
    try:
        config = payload["refiner_config"]
        refiner = Refiner(
            int(config["dim"]),
            hidden=int(config["hidden"]),
            dropout=float(config["dropout"]),
            skip=bool(config["skip"]),
        )
        refiner.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise DataError(
            f"{path} is an incomplete or damaged refiner file ({type(err).__name__}: "
            f"{str(err).splitlines()[0][:80] if str(err) else 'missing entry'}); {hint}"
        ) from None
    refiner.eval()
    return LoadedRefiner(
        refiner=refiner,
        train_config=payload.get("train_config", {}),
        selection=payload.get("selection", {}),
        path=path,
    )
