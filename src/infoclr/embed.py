"""``infoclr embed``: images in, vectors out, in the formats ``infoclr refine`` reads.

The encoder is a finished run (its ``backbone.pt`` and its evaluation view) or a weights file
plus a backbone name. The images are any data set infoclr reads (built-in sets, an image
folder, a CSV manifest), the run's own by default. Each split is read in index order, sent
through the deterministic evaluation view (centre crop, resize, normalise) and the frozen
backbone (eval mode), and written batch by batch (:class:`~infoclr.data.embedding_stream.
EmbeddingStream`), so memory stays O(batch) whatever the number of images. Outputs, which
appear together or not at all:

* ``OUT`` (``.npy`` or ``.parquet``) and, for ``.npy``, ``OUT-stem.ids.csv``;
* ``OUT-stem.embed.yaml``: the :class:`EmbedConfig` that made them.

Every input (run folder, weights, names, output paths) is checked before any work.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from infoclr.config import check_fields, option
from infoclr.errors import ConfigError, DataError

__all__ = ["EmbedConfig", "EmbedResult", "embed"]


@dataclass
class EmbedConfig:
    """Every knob of ``infoclr embed``."""

    run: str | None = option(None, "A finished run folder (its backbone and views).", cli=False)
    out: str | None = option(None, "Output file: .parquet (ids in the table) or .npy.")
    weights: str | None = option(
        None, "A weights file to embed with instead of a run (needs --backbone)."
    )
    backbone: str | None = option(None, "Backbone of --weights (any pretrain --backbone name).")
    image_size: int | None = option(
        None, "Side the images are resized to; none: the run's, else the data set's.", min=1
    )
    dataset: str | None = option(None, "Data set to embed; none: the run's.")
    data_root: str | None = option(None, "Where the data set lives; none: the run's.")
    data_options: dict[str, Any] = option(
        help="The data set's own options, e.g. {path: m.csv, image_size: 64}.",
        factory=dict,
        cli=False,
    )
    split: Literal["train", "test", "all"] = option("all", "train | test | all (train, test).")
    batch_size: int = option(256, "Images per forward pass.", min=1)
    num_workers: int = option(0, "Loader workers for sets read from files.", min=0)
    device: Literal["auto", "cpu", "cuda"] = option("auto", "auto | cpu | cuda.")
    overwrite: bool = option(False, "Replace existing outputs.")

    def validate(self) -> None:
        """One-line ConfigError/DataError for anything that cannot work (no torch)."""
        from infoclr.data import check_dataset_name
        from infoclr.data.embedding_stream import EMBEDDING_SUFFIXES
        from infoclr.models import check_backbone_name
        from infoclr.runs import check_new_outputs, check_run_folder

        check_fields(self)
        if (self.run is None) == (self.weights is None):
            raise ConfigError("give either a run folder or --weights FILE --backbone NAME")
        if self.run is not None:
            check_run_folder(self.run)
        else:
            if self.backbone is None:
                raise ConfigError("--weights needs --backbone NAME (the architecture)")
            if not Path(self.weights).expanduser().exists():  # type: ignore[arg-type]
                raise DataError(f"weights file {self.weights} does not exist; check the path")
            if self.dataset is None:
                raise ConfigError("--weights needs --dataset (a run folder knows its own)")
        if self.backbone is not None:
            if self.run is not None:
                raise ConfigError("--backbone goes with --weights; a run knows its backbone")
            check_backbone_name(self.backbone)
        if self.dataset is not None:
            check_dataset_name(self.dataset)
        if self.out is None:
            raise ConfigError("give the output file: --out vectors.parquet (or .npy)")
        out = Path(self.out)
        if out.suffix.lower() not in EMBEDDING_SUFFIXES:
            raise ConfigError(
                f"output {self.out!r} must end in .parquet or .npy (the formats refine reads)"
            )
        check_new_outputs(output_paths(out), self.overwrite)


def output_paths(out: Path) -> list[Path]:
    """Every file an embed run writes for ``out``."""
    from infoclr.data.embedding_stream import ids_path

    paths = [out, out.with_name(out.stem + ".embed.yaml")]
    if out.suffix.lower() == ".npy":
        paths.insert(1, ids_path(out))
    return paths


@dataclass
class EmbedResult:
    out: Path
    rows: int
    dim: int
    seconds: float
    files: list[Path]

    @property
    def images_per_second(self) -> float:
        return self.rows / max(self.seconds, 1e-9)


@dataclass
class _Source:
    """The encoder and the images: built and checked before any output exists."""

    backbone: Any
    eval_view: Any
    splits: list[tuple[str, Any]]
    note: str | None


def _data_arguments(config: EmbedConfig, saved: Any) -> tuple[str, dict[str, Any]]:
    if config.dataset is None or (saved is not None and config.dataset == saved.config.dataset):
        base = saved.config
        options = {**base.data_options, **config.data_options}
        root = config.data_root if config.data_root is not None else base.data_root
        return base.dataset, {"root": root, "seed": base.seed, **options}
    return config.dataset, {"root": config.data_root, **config.data_options}


def _load_splits(config: EmbedConfig, saved: Any) -> list[tuple[str, Any]]:
    from infoclr.data import load_dataset

    name, arguments = _data_arguments(config, saved)
    wanted = ("train", "test") if config.split == "all" else (config.split,)
    splits = [(split, load_dataset(name, split, **arguments)) for split in wanted]
    if len(splits) == 2:
        train, test = splits[0][1], splits[1][1]
        # An image folder without train/ and test/ gives the same files for both splits.
        if getattr(train, "paths", None) is not None and train.paths == test.paths:
            splits = splits[:1]
    return splits


def _prepare(config: EmbedConfig) -> _Source:
    import torch

    from infoclr.augment import EvalView, ViewConfig
    from infoclr.models import build_backbone
    from infoclr.models.init import load_init_state, read_weights
    from infoclr.saved_run import load_saved_run

    saved = load_saved_run(config.run) if config.run is not None else None
    splits = _load_splits(config, saved)
    first = splits[0][1]
    note = None
    if saved is not None:
        backbone = saved.backbone()
        view_config = saved.view_config()
        channels = int(saved.resolved["channels"])
        if config.image_size is not None:
            view_config = dataclasses.replace(view_config, image_size=config.image_size)
    else:
        channels = first.channels
        size = config.image_size or first.image_size
        view_config = ViewConfig.for_resolution(size, channels)
        torch.manual_seed(0)
        backbone = build_backbone(config.backbone, channels, size)  # type: ignore[arg-type]
        state, source = read_weights(config.weights)  # type: ignore[arg-type]
        merged, report = load_init_state(
            backbone.export_state_dict(), state, str(source), "backbone"
        )
        if report.missing:
            raise DataError(
                f"{source} lacks {len(report.missing)} of the backbone's tensors (first: "
                f"{report.missing[0]!r}); pass complete weights of {config.backbone}"
            )
        backbone.load_exported(merged)
        if report.unexpected:
            note = report.summary()
        backbone.eval()
    for split, data in splits:
        if data.channels != channels:
            raise DataError(
                f"the {split} images have {data.channels} channel(s) but the backbone takes "
                f"{channels}; embed images with the channel count it was trained on"
            )
    return _Source(backbone, EvalView(view_config), splits, note)


def _device(name: str) -> Any:
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was requested but this machine has no CUDA GPU")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def _row_meta(split: str, data: Any, start: int, stop: int) -> dict[str, Any]:
    import numpy as np

    index = np.arange(start, stop, dtype=np.int64)
    paths = getattr(data, "paths", None)
    meta: dict[str, Any] = {}
    if paths is not None:
        meta["id"] = np.array([str(p) for p in paths[start:stop]], dtype=object)
    else:
        meta["id"] = np.array([f"{split}/{i}" for i in index], dtype=object)
    meta["split"] = np.array([split] * (stop - start), dtype=object)
    meta["index"] = index
    labels = data.labels
    meta["label"] = labels[start:stop] if labels is not None else np.full(stop - start, -1)
    return meta


def embed(
    config: EmbedConfig,
    progress: bool = True,
    echo: Callable[[str], Any] = print,
) -> EmbedResult:
    """Embed ``config``'s data set with its encoder and write the outputs (module docstring)."""
    import pandas as pd
    import torch
    import yaml

    from infoclr.config import to_dict
    from infoclr.data.embedding_stream import EmbeddingStream, ids_path
    from infoclr.data.loaders import OrderedBatches
    from infoclr.runs import OutputSet

    config.validate()
    device = _device(config.device)
    source = _prepare(config)
    if source.note:
        echo(f"note: {source.note}")
    backbone = source.backbone.to(device)
    eval_view = source.eval_view.to(device)
    out = Path(config.out).expanduser()  # type: ignore[arg-type]
    paths = output_paths(out)
    total = sum(len(data) for _, data in source.splits)
    dim = int(backbone.feature_dim)
    columns = ["id", "split", "index", "label"]
    outputs = OutputSet(paths)
    started = time.perf_counter()

    def write_vectors(handle: Any) -> None:
        stream = EmbeddingStream(handle, out.suffix.lower(), total, dim, columns)
        with _progress_bar(progress, total) as advance, torch.inference_mode():
            for split, data in source.splits:
                start = 0
                batches = OrderedBatches(data, config.batch_size, config.num_workers)
                for images, _ in batches():
                    views = eval_view(images.to(device, non_blocking=True))
                    vectors = backbone(views).flatten(1).float().cpu().numpy()
                    stop = start + vectors.shape[0]
                    stream.write(vectors, _row_meta(split, data, start, stop))
                    advance(vectors.shape[0])
                    start = stop
        stream.close()

    try:
        outputs.write(out, write_vectors)
        seconds = time.perf_counter() - started
        if out.suffix.lower() == ".npy":
            frames = [
                pd.DataFrame(_row_meta(split, data, 0, len(data))) for split, data in source.splits
            ]
            table = pd.concat(frames, ignore_index=True)
            outputs.write(ids_path(out), lambda h: table.to_csv(h, index=False))
        recorded = {**to_dict(config), "rows": total, "dim": dim}
        outputs.write_text(paths[-1], yaml.safe_dump(recorded, sort_keys=False))
        outputs.commit()
    except BaseException:
        outputs.abort()
        raise
    return EmbedResult(out, total, dim, seconds, paths)


@contextlib.contextmanager
def _progress_bar(enabled: bool, total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar over rows (or nothing); yields ``advance(n)``."""
    if not enabled:
        yield lambda n: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("embedding"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} images"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("embed", total=total)
        yield lambda n: bar.advance(task, n)
