"""Experiment trackers through Lightning's own loggers: TensorBoard, CSV, MLflow, W&B.

``--logger tensorboard,csv,mlflow,wandb`` picks them; ``logger_options`` holds each one's
settings (the keyword arguments of Lightning's ``MLFlowLogger`` / ``WandbLogger``). Defaults:

* ``tensorboard``: ``RUN/logs/tensorboard``; ``csv``: ``RUN/logs/csv/metrics.csv``;
* ``mlflow``: experiment ``infoclr``, run name = the run folder's name, tracking URI from
  ``MLFLOW_TRACKING_URI`` or else ``file:RUN/logs/mlruns`` (a local file store);
* ``wandb``: project ``infoclr``, run name = the run folder's name, files under ``RUN/logs``;
  ``offline: true`` (or ``WANDB_MODE=offline``) logs without a network, for ``wandb sync``.

The run's configuration is logged as hyper-parameters and the final evaluation (linear and
k-NN top-1, ...) as ``eval/*`` metrics. MLflow and W&B are optional extras
(``pip install 'infoclr[mlflow]'`` / ``'infoclr[wandb]'``); names and installs are checked
without importing them. Lightning is imported only by :func:`build_loggers`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from infoclr.errors import ConfigError

__all__ = ["LOGGERS", "build_loggers", "check_loggers", "log_final_metrics", "logger_names"]

#: Logger name -> the package it needs (None: part of infoclr's own dependencies).
LOGGERS: dict[str, tuple[str, str] | None] = {
    "tensorboard": None,
    "csv": None,
    "mlflow": ("mlflow", "mlflow"),
    "wandb": ("wandb", "wandb"),
}


def logger_names(spec: str) -> list[str]:
    """``"tensorboard, csv"`` -> ``["tensorboard", "csv"]`` (empty or ``none``: no logger)."""
    names = [part.strip().lower() for part in spec.split(",") if part.strip()]
    return [] if names == ["none"] else names


def check_loggers(spec: str, options: dict[str, Any]) -> None:
    """One-line ConfigError for an unknown logger, a missing extra, or options of a logger
    that was not chosen."""
    names = logger_names(spec)
    for name in names:
        if name not in LOGGERS:
            raise ConfigError(
                f"unknown logger {name!r}; choose from {', '.join(LOGGERS)} (comma-separated)"
            )
        needs = LOGGERS[name]
        if needs is not None and importlib.util.find_spec(needs[0]) is None:
            raise ConfigError(
                f"logger {name!r} needs {needs[0]}, which is not installed; "
                f"pip install 'infoclr[{needs[1]}]'"
            )
    if len(set(names)) != len(names):
        raise ConfigError(f"logger {spec!r} names a logger twice")
    for key, value in options.items():
        if key not in names:
            raise ConfigError(
                f"logger_options has settings for {key!r}, which is not among --logger "
                f"{','.join(names) or 'none'}; add it there or drop the settings"
            )
        if not isinstance(value, dict):
            raise ConfigError(f"logger_options.{key} must be a mapping of setting: value")


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flat(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


def build_loggers(config: Any, run_dir: Path, resumed: bool) -> list[Any]:
    """Lightning loggers for a PretrainConfig ``config``, writing under ``run_dir``; the
    configuration is logged as hyper-parameters."""
    from infoclr.config import to_dict
    from infoclr.runs import csv_log_version

    run_dir = Path(run_dir)
    loggers: list[Any] = []
    for name in logger_names(config.logger):
        settings = dict(config.logger_options.get(name, {}))
        try:
            loggers.append(_one_logger(name, settings, run_dir, resumed, csv_log_version))
        except TypeError as error:
            raise ConfigError(f"logger_options.{name}: {error}") from None
        except Exception as error:  # noqa: BLE001 - trackers raise their own types
            reason = " ".join(str(error).split())[:200]
            raise ConfigError(f"logger {name!r} could not start: {reason}") from None
    params: dict[str, Any] = {}
    _flat("", to_dict(config), params)
    for logger in loggers:
        logger.log_hyperparams(params)
    return loggers


def _one_logger(
    name: str, settings: dict[str, Any], run_dir: Path, resumed: bool, csv_version: Any
) -> Any:
    if name == "tensorboard":
        from lightning.pytorch.loggers import TensorBoardLogger

        return TensorBoardLogger(
            run_dir, name="logs", version="tensorboard", default_hp_metric=False, **settings
        )
    if name == "csv":
        from lightning.pytorch.loggers import CSVLogger

        return CSVLogger(run_dir, name="logs", version=csv_version(run_dir, resumed), **settings)
    if name == "mlflow":
        import os

        from lightning.pytorch.loggers import MLFlowLogger

        settings.setdefault("experiment_name", "infoclr")
        settings.setdefault("run_name", run_dir.name)
        settings.setdefault(
            "tracking_uri",
            os.environ.get("MLFLOW_TRACKING_URI")
            or (run_dir / "logs" / "mlruns").resolve().as_uri(),
        )
        if str(settings["tracking_uri"]).startswith("file:"):
            # MLflow 3 keeps its local file store only on request; it is the one store that
            # needs no server and no database, so infoclr asks for it.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        return MLFlowLogger(**settings)
    from lightning.pytorch.loggers import WandbLogger

    settings.setdefault("project", "infoclr")
    settings.setdefault("name", run_dir.name)
    settings.setdefault("save_dir", str(run_dir / "logs"))
    return WandbLogger(**settings)


def log_final_metrics(loggers: list[Any], metrics: dict[str, Any], step: int) -> None:
    """Log the numeric final metrics as ``eval/<name>`` at ``step`` and close the loggers."""
    numbers = {
        f"eval/{key}": float(value)
        for key, value in metrics.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    for logger in loggers:
        logger.log_metrics(numbers, step=step)
        logger.save()
        logger.finalize("success")
