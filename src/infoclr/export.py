"""``infoclr export``: a finished run's backbone as ONNX, TorchScript or a plain state dict.

The exported model maps normalised images (batch, C, S, S), the run's evaluation view, to
features (batch, D), the vectors the run's linear probe and k-NN saw. Each export is checked
before it is kept: the exported file is loaded back (onnxruntime for ONNX, ``torch.jit.load``,
or a fresh backbone for a state dict) and its outputs on two random batches of other sizes than
the one traced must equal PyTorch's to ``tolerance`` (1e-4 by default); otherwise nothing is
written. Each export also refreshes two files in the run folder: ``exports.json`` (every export,
its check and the :class:`ExportConfig` that made it) and ``model-card.md`` (data, method,
configuration, metrics, exports, and how to feed the model).

ONNX needs the ``onnx`` extra (``pip install 'infoclr[onnx]'``: onnx and onnxruntime).
"""

from __future__ import annotations

import datetime
import importlib.util
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from infoclr.config import check_fields, option
from infoclr.errors import ConfigError, DataError

__all__ = ["FORMATS", "ExportConfig", "ExportResult", "export", "model_card"]

#: Format -> default file name in the run folder.
FORMATS = {
    "onnx": "backbone.onnx",
    "torchscript": "backbone.torchscript.pt",
    "state-dict": "backbone.state_dict.pt",
}
CARD = "model-card.md"
RECORD = "exports.json"


@dataclass
class ExportConfig:
    """Every knob of ``infoclr export``."""

    run: str | None = option(None, "A finished run folder.", cli=False)
    format: Literal["onnx", "torchscript", "state-dict"] = option(
        "onnx", "onnx | torchscript | state-dict."
    )
    out: str | None = option(None, "Output file; none: RUN/backbone.onnx, .torchscript.pt, ...")
    check: bool = option(True, "Check the exported outputs against PyTorch's.")
    tolerance: float = option(1e-4, "Largest absolute difference the check accepts.", gt=0)
    opset: int = option(17, "ONNX opset version.", min=9, cli=False)
    overwrite: bool = option(False, "Replace an existing export.")

    def output(self) -> Path:
        if self.out is not None:
            return Path(self.out).expanduser()
        return Path(self.run).expanduser() / FORMATS[self.format]  # type: ignore[arg-type]

    def validate(self) -> None:
        """One-line errors for anything that cannot work (no torch)."""
        from infoclr.runs import check_new_outputs, check_run_folder

        check_fields(self)
        if self.format not in FORMATS:
            raise ConfigError(f"format must be one of {', '.join(FORMATS)}; got {self.format!r}")
        if self.run is None:
            raise ConfigError("give the run folder to export: infoclr export RUN --format onnx")
        check_run_folder(self.run)
        if self.format == "onnx":
            needed = ["onnx"] + (["onnxruntime"] if self.check else [])
            missing = [name for name in needed if importlib.util.find_spec(name) is None]
            if missing:
                raise ConfigError(
                    f"--format onnx needs {' and '.join(missing)}, not installed here; "
                    "pip install 'infoclr[onnx]'"
                )
        check_new_outputs([self.output()], self.overwrite)


@dataclass
class ExportResult:
    out: Path
    format: str
    max_abs_diff: float | None
    card: Path


def _save_state_dict(backbone: Any, example: Any, handle: io.BufferedIOBase) -> None:
    import torch

    torch.save({k: v.detach().clone() for k, v in backbone.export_state_dict().items()}, handle)


def _save_torchscript(backbone: Any, example: Any, handle: io.BufferedIOBase) -> None:
    import warnings

    import torch

    with warnings.catch_warnings():
        # torch.jit says it is deprecated; the guide says so once, not on every export.
        warnings.simplefilter("ignore", FutureWarning)
        traced = torch.jit.trace(backbone, example, check_trace=False)
        torch.jit.save(traced, handle)


def _save_onnx(backbone: Any, example: Any, handle: io.BufferedIOBase, opset: int) -> None:
    import warnings

    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The TorchScript-based exporter: no onnxscript needed, dynamic batch size.
        torch.onnx.export(
            backbone,
            (example,),
            buffer,
            dynamo=False,
            input_names=["images"],
            output_names=["features"],
            dynamic_axes={"images": {0: "batch"}, "features": {0: "batch"}},
            opset_version=opset,
        )
    handle.write(buffer.getvalue())


def _exported_outputs(kind: str, path: Path, saved: Any, batch: Any) -> Any:
    """The exported file's outputs for ``batch``, loaded back as a user would."""
    import torch

    if kind == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (features,) = session.run(["features"], {"images": batch.numpy()})
        return torch.from_numpy(features)
    if kind == "torchscript":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(str(path), map_location="cpu")(batch)
    fresh = saved.backbone()
    fresh.load_exported(torch.load(path, map_location="cpu", weights_only=True))
    return fresh(batch)


def _check(kind: str, path: Path, saved: Any, backbone: Any, shape: tuple[int, ...]) -> float:
    import torch

    generator = torch.Generator().manual_seed(1)
    worst = 0.0
    for size in (1, 5):
        batch = torch.randn((size, *shape), generator=generator)
        with torch.no_grad():
            expected = backbone(batch).float()
            got = _exported_outputs(kind, path, saved, batch).float()
        if tuple(got.shape) != tuple(expected.shape):
            raise DataError(
                f"the exported model returns {tuple(got.shape)} for a batch of {size}, PyTorch "
                f"{tuple(expected.shape)}; it was not written"
            )
        worst = max(worst, float((got - expected).abs().max()))
    return worst


def export(config: ExportConfig, echo: Any = print) -> ExportResult:
    """Export ``config.run``'s backbone (module docstring); returns where it went."""
    import torch

    from infoclr.runs import OutputSet
    from infoclr.saved_run import load_saved_run

    config.validate()
    saved = load_saved_run(config.run)  # type: ignore[arg-type]
    backbone = saved.backbone()
    shape = (int(saved.resolved["channels"]), *(2 * [int(saved.resolved["image_size"])]))
    example = torch.randn((2, *shape), generator=torch.Generator().manual_seed(0))
    out = config.output()
    run_dir = saved.run_dir
    outputs = OutputSet([out, run_dir / RECORD, run_dir / CARD])
    try:
        with torch.no_grad():
            if config.format == "onnx":
                outputs.write(out, lambda h: _save_onnx(backbone, example, h, config.opset))
            elif config.format == "torchscript":
                outputs.write(out, lambda h: _save_torchscript(backbone, example, h))
            else:
                outputs.write(out, lambda h: _save_state_dict(backbone, example, h))
        difference = None
        if config.check:
            difference = _check(config.format, outputs.staged[out], saved, backbone, shape)
            if difference > config.tolerance:
                raise DataError(
                    f"the {config.format} export differs from PyTorch by {difference:.2e} "
                    f"(> tolerance {config.tolerance:g}); it was not written"
                )
        records = _records(run_dir, out, config, difference)
        outputs.write_text(run_dir / RECORD, json.dumps(records, indent=2) + "\n")
        outputs.write_text(run_dir / CARD, model_card(saved, records))
        outputs.commit()
    except BaseException:
        outputs.abort()
        raise
    return ExportResult(out, config.format, difference, run_dir / CARD)


def _records(
    run_dir: Path, out: Path, config: ExportConfig, difference: float | None
) -> list[dict[str, Any]]:
    import torch

    previous: list[dict[str, Any]] = []
    if (run_dir / RECORD).is_file():
        try:
            previous = json.loads((run_dir / RECORD).read_text())
        except ValueError:
            previous = []
    try:
        shown = str(out.resolve().relative_to(run_dir.resolve()))
    except ValueError:
        shown = str(out)
    from infoclr.config import to_dict

    entry = {
        "file": shown,
        "format": config.format,
        "max_abs_diff": difference,
        "tolerance": config.tolerance if config.check else None,
        "torch": torch.__version__,
        "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "config": to_dict(config),
    }
    return [r for r in previous if r.get("file") != shown] + [entry]


def _fmt(value: Any, spec: str = ".4f") -> str:
    if isinstance(value, float):
        return format(value, spec)
    return "n/a" if value is None else str(value)


def model_card(saved: Any, exports: list[dict[str, Any]]) -> str:
    """A short markdown model card for a finished run."""
    config, resolved, metrics = saved.config, saved.resolved, saved.metrics
    view = saved.view_config()
    channels, size = int(resolved["channels"]), int(resolved["image_size"])
    mean = list(view.mean) * (channels if len(view.mean) == 1 else 1)
    std = list(view.std) * (channels if len(view.std) == 1 else 1)
    options = ", ".join(f"{k}={v}" for k, v in config.method_options.items() if v is not None)
    data_options = ", ".join(f"{k}={v}" for k, v in config.data_options.items()) or "none"
    lines = [
        f"# Model card: {saved.run_dir.name}",
        "",
        "Written by `infoclr export`; regenerated by every export of this run.",
        "",
        "## Model",
        f"- Backbone: `{resolved['backbone']}`, features of size "
        f"{resolved.get('feature_dim', 'n/a')} (before the projection head).",
        f"- Input: float images (batch, {channels}, {size}, {size}): centre crop, resize to "
        f"{size}, scale to [0, 1], then normalise with mean {mean} and std {std}.",
        f"- Initialised from: {(resolved.get('init') or {}).get('path', 'random weights')}.",
        "",
        "## Data",
        f"- Data set: `{config.dataset}` (options: {data_options}); "
        f"{resolved.get('train_images', 'n/a')} training and "
        f"{resolved.get('test_images', 'n/a')} test images.",
        "",
        "## Method",
        f"- `{config.method}` ({options or 'default options'}).",
        "",
        "## Training configuration",
        f"- {config.epochs} epochs, batch {config.batch_size} per device x {config.devices} "
        f"device(s) x {config.num_nodes} node(s), optimiser {config.optimizer}, learning rate "
        f"{_fmt(resolved.get('lr'), 'g')} (scaling: {config.lr_scaling}), weight decay "
        f"{_fmt(resolved.get('weight_decay'), 'g')}, precision {resolved.get('precision', 'n/a')}, "
        f"seed {config.seed}.",
        "- Reproduce: `infoclr pretrain -c config.yaml` (the run's own config file).",
        "",
        "## Metrics (frozen features, test split)",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    names = {
        "linear_top1": "linear probe top-1",
        "knn_top1": "k-NN top-1",
        "baseline_raw_pixels_linear_top1": "linear top-1, raw pixels (baseline)",
        "baseline_random_init_linear_top1": "linear top-1, random-init backbone (baseline)",
        "train_seconds": "training time (s)",
        "epochs": "epochs trained",
    }
    for key, label in names.items():
        if key in metrics:
            lines.append(f"| {label} | {_fmt(metrics[key])} |")
    lines += ["", "## Exports", "", "| file | format | max abs. difference to PyTorch |"]
    lines.append("|---|---|---|")
    for record in exports:
        difference = record.get("max_abs_diff")
        shown = "not checked" if difference is None else f"{difference:.1e}"
        lines.append(f"| `{record['file']}` | {record['format']} | {shown} |")
    lines.append("")
    return "\n".join(lines)
