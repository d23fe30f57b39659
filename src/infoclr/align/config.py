"""Settings of ``infoclr align``; torch-free, fields declared with :func:`infoclr.config.option`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from infoclr.config import check_fields, option
from infoclr.errors import ConfigError

__all__ = ["MAP_KINDS", "AlignConfig"]

#: Candidate maps, simplest first: the guard lets a later one replace the first only when its
#: gain is above the noise.
MAP_KINDS = ("identity", "procrustes", "lstsq", "refiner")


@dataclass
class AlignConfig:
    """Learn a map between two encoders' spaces from rows embedded by both."""

    direction: Literal["new-to-old", "old-to-new"] = option(
        "new-to-old",
        "new-to-old: map NEW vectors (e.g. new queries) into OLD's space to search the old "
        "index | old-to-new: map the OLD index into NEW's space.",
    )
    maps: str = option(
        "identity,procrustes,lstsq,refiner",
        "Candidate maps, comma-separated, simplest first: identity (only for equal "
        "dimensions), procrustes, lstsq, refiner (skip-connected refiner on the best linear map).",
    )
    ridge: float = option(1e-3, "lstsq ridge strength, relative to the mean eigenvalue.", min=0)
    recall_k: int = option(10, "Score maps by Recall@k of mapped rows against the index.", min=1)
    epochs: int = option(30, "Training epochs of the refiner map.", min=0)
    batch_size: int = option(256, "Rows per batch of the refiner map.", min=2)
    lr: float = option(1e-3, "Adam learning rate of the refiner map.", gt=0)
    temperature: float = option(0.05, "Temperature of the in-batch ranking loss.", gt=0)
    hidden: int | None = option(None, "Refiner hidden width (default dim / 2).", min=1)
    dropout: float = option(0.1, "Refiner dropout.", min=0, lt=1)
    select_fraction: float = option(
        0.2, "Shared rows that choose the map (never fitted on).", gt=0, lt=1
    )
    guard_fraction: float = option(
        0.2, "Shared rows that decide whether a richer map replaces the simplest.", gt=0, lt=1
    )
    guard_method: Literal["se", "bootstrap"] = option("se", "se | bootstrap.")
    guard_z: float = option(2.0, "The gain must exceed this many standard errors.", gt=0)
    min_shared: int = option(50, "Fewest rows embedded by both encoders.", min=10)
    seed: int = option(0, "Random seed.")
    threads: int | None = option(None, "torch CPU threads.", min=1)

    def map_kinds(self) -> list[str]:
        """The candidate maps in MAP_KINDS order."""
        asked = [part.strip() for part in self.maps.split(",") if part.strip()]
        unknown = [kind for kind in asked if kind not in MAP_KINDS]
        if unknown or not asked:
            raise ConfigError(
                f"unknown map {unknown[0] if unknown else '(none)'!r}; choose from "
                f"{', '.join(MAP_KINDS)} (comma-separated)"
            )
        return [kind for kind in MAP_KINDS if kind in asked]

    def validate(self) -> None:
        check_fields(self)
        self.map_kinds()
        if self.select_fraction + self.guard_fraction >= 1:
            raise ConfigError(
                "select_fraction + guard_fraction must be below 1: rows must be left to fit on"
            )
