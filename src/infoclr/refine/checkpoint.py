"""Save a trained refiner to one ``.refiner.pt`` file and load it back.

The file is a plain dict that ``torch.load(weights_only=True)`` can read (no pickled classes):

* ``format``: ``"infoclr.refiner/1"``;
* ``refiner_config``: the :class:`~infoclr.models.refiner.Refiner` constructor arguments;
* ``input_dim``: D;
* ``state_dict``: the refiner's weights, including the standardisation buffers
  ``feature_mean`` / ``feature_std`` (the statistics of the training rows);
* ``feature_mean`` / ``feature_std``: the same statistics, as (D,) tensors, for readers that do
  not build the module;
* ``train_config``: the :class:`~infoclr.refine.fit.RefineConfig` of the run;
* ``selection``: the chosen epoch and why;
* ``infoclr_version``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from infoclr.errors import DataError
from infoclr.io import atomic_torch_save
from infoclr.models.refiner import Refiner

__all__ = ["REFINER_FORMAT", "LoadedRefiner", "load_refiner", "save_refiner"]

REFINER_FORMAT = "infoclr.refiner/1"


def save_refiner(
    path: str | os.PathLike[str],
    refiner: Refiner,
    train_config: dict[str, Any] | None = None,
    selection: dict[str, Any] | None = None,
) -> Path:
    """Write ``refiner`` (weights, config, input dim, standardisation stats) atomically."""
    from infoclr import __version__

    path = Path(path)
    payload = {
        "format": REFINER_FORMAT,
        "refiner_config": {
            "dim": refiner.dim,
            "hidden": refiner.hidden,
            "dropout": refiner.dropout,
            "skip": refiner.skip,
        },
        "input_dim": refiner.dim,
        "state_dict": {k: v.detach().cpu().clone() for k, v in refiner.state_dict().items()},
        "feature_mean": refiner.feature_mean.detach().cpu().clone(),
        "feature_std": refiner.feature_std.detach().cpu().clone(),
        "train_config": dict(train_config or {}),
        "selection": _plain(selection or {}),
        "infoclr_version": __version__,
    }
    return atomic_torch_save(payload, path)


def _plain(value: Any) -> Any:
    """JSON-like copy (floats, ints, strings, lists, dicts) that weights_only loading accepts."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


@dataclass
class LoadedRefiner:
    """A refiner read from disk, in eval mode, with the metadata it was saved with."""

    refiner: Refiner
    train_config: dict[str, Any]
    selection: dict[str, Any]
    path: Path

    @torch.no_grad()
    def refine(self, rows: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        """Refine (N, D) rows; returns (N, D) float32."""
        parts = [
            self.refiner(torch.from_numpy(np.array(rows[i : i + batch_size], np.float32)))
            for i in range(0, len(rows), batch_size)
        ]
        if not parts:
            return np.empty((0, self.refiner.dim), dtype=np.float32)
        return torch.cat(parts).numpy()


def load_refiner(path: str | os.PathLike[str]) -> LoadedRefiner:
    """Load a file written by :func:`save_refiner`; DataError when it is not one."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"refiner file {path} does not exist; train one with infoclr refine")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a corrupt file
        raise DataError(f"cannot read refiner {path} ({type(err).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != REFINER_FORMAT:
        raise DataError(f"{path} is not an infoclr refiner file (format {REFINER_FORMAT})")
    config = payload["refiner_config"]
    refiner = Refiner(
        int(config["dim"]),
        hidden=int(config["hidden"]),
        dropout=float(config["dropout"]),
        skip=bool(config["skip"]),
    )
    refiner.load_state_dict(payload["state_dict"])
    refiner.eval()
    return LoadedRefiner(
        refiner=refiner,
        train_config=payload.get("train_config", {}),
        selection=payload.get("selection", {}),
        path=path,
    )
