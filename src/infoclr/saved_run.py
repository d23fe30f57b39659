"""A finished pretraining run, read back from its folder: config, settings, metrics, backbone.

``infoclr embed`` and ``infoclr export`` start from a run folder. :func:`load_saved_run` reads
what the folder records (no torch); :meth:`SavedRun.backbone` rebuilds the backbone and loads
``backbone.pt``; :meth:`SavedRun.view_config` is the run's evaluation view (image size and
normalisation), which every input must go through to get the features the run evaluated.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infoclr.runs import check_run_folder, load_run_weights

__all__ = ["SavedRun", "load_saved_run"]

# Settings a finished run no longer needs; dropped so that a moved --init file or an
# uninstalled logger does not stop the run from being read.
_TRAINING_ONLY = ("init", "logger", "logger_options", "resolved")


@dataclass
class SavedRun:
    """What a finished run's folder records.

    Attributes:
        run_dir: the folder.
        config: its :class:`~infoclr.pretrain.PretrainConfig`.
        resolved: the settings the run resolved (backbone, image size, channels, ...).
        metrics: ``metrics.json`` (empty when absent).
    """

    run_dir: Path
    config: Any
    resolved: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def backbone_name(self) -> str:
        return str(self.resolved["backbone"])

    def backbone_options(self) -> dict[str, Any]:
        config = self.config
        pairs = (
            ("cifar_stem", config.cifar_stem),
            ("width", config.backbone_width),
            ("patch_size", config.patch_size),
        )
        return {key: value for key, value in pairs if value is not None}

    def backbone(self) -> Any:
        """The run's backbone with ``backbone.pt`` loaded, in eval mode, on the CPU."""
        from infoclr.models import build_backbone

        backbone = build_backbone(
            self.backbone_name,
            int(self.resolved["channels"]),
            int(self.resolved["image_size"]),
            **self.backbone_options(),
        )
        load_run_weights(backbone, self.run_dir, self.backbone_name)
        return backbone.eval()

    def view_config(self) -> Any:
        """The run's :class:`~infoclr.augment.ViewConfig` (evaluation view: size, mean, std)."""
        import dataclasses

        from infoclr.augment import ViewConfig

        defaults = ViewConfig.for_resolution(
            int(self.resolved["image_size"]), int(self.resolved["channels"])
        )
        values = {
            key: tuple(value) if isinstance(value, list) else value
            for key, value in self.config.view_options.items()
        }
        return dataclasses.replace(defaults, **values)


def load_saved_run(run_dir: str | Path) -> SavedRun:
    """Read a finished run's folder (config, resolved settings, metrics); no torch unless the
    folder predates the recorded settings and the data set must be opened to find them."""
    from infoclr.config import read_yaml_mapping
    from infoclr.pretrain import PretrainConfig

    run_dir = check_run_folder(run_dir)
    recorded = read_yaml_mapping(run_dir / "config.yaml")
    resolved = dict(recorded.get("resolved") or {})
    mapping = {k: v for k, v in recorded.items() if k not in _TRAINING_ONLY}
    # Where the run would put new runs does not matter here; a read-only place (a shared
    # folder of runs) must not stop it from being read.
    mapping["output_dir"] = tempfile.gettempdir()
    config = PretrainConfig.from_mapping(mapping)
    if not {"backbone", "image_size", "channels"} <= set(resolved):
        resolved.update(_resolve_from_data(config))
    metrics_file = run_dir / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    return SavedRun(run_dir, config, resolved, metrics)


def _resolve_from_data(config: Any) -> dict[str, Any]:
    from infoclr.data import load_dataset
    from infoclr.models import auto_backbone

    train = load_dataset(
        config.dataset,
        "train",
        root=config.data_root,
        download=False,
        seed=config.seed,
        **config.data_options,
    )
    backbone = auto_backbone(train.image_size) if config.backbone == "auto" else config.backbone
    return {"backbone": backbone, "image_size": train.image_size, "channels": train.channels}
