"""infoclr's main job: pretrain an encoder, evaluate it, and hand over reusable weights.

``pretrain(PretrainConfig(...))`` assembles data → views → backbone → method → Lightning
Trainer → evaluation. Everything a user can get wrong (names, paths, sizes, coefficients) is
checked *before* a run folder is created, so a mistake leaves nothing behind. A run folder holds:

* ``config.yaml``: the resolved configuration (reproduce the run from it);
* ``checkpoints/last.ckpt``: written atomically every epoch; ``resume=True`` continues from it;
* ``logs/``: TensorBoard events and ``metrics.csv``;
* ``backbone.pt``: the backbone state dict (torchvision-compatible for ResNets);
* ``metrics.json``: written last; its presence marks the run complete.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import torch

from infoclr.config import save_config, to_dict
from infoclr.errors import ConfigError, InfoclrWarning
from infoclr.io import atomic_torch_save, atomic_write_json

MethodName = str
_RUN_DIR_ENV = "INFOCLR_RUN_DIR"


@dataclass
class PretrainConfig:
    """Every knob of ``infoclr pretrain``. ``None`` means "pick a sensible default"."""

    # what to train
    method: MethodName = "simclr"
    dataset: str = "digits"
    data_root: str | None = None
    download: bool = False
    data_options: dict[str, Any] = field(default_factory=dict)
    # model
    backbone: str = "auto"
    cifar_stem: bool | None = None
    backbone_width: int | None = None
    patch_size: int | None = None
    projection_dim: int = 128
    projection_hidden: int | None = None
    # optimisation
    epochs: int = 50
    batch_size: int = 128
    optimizer: Literal["adamw", "sgd", "lars"] = "adamw"
    lr: float | None = None
    weight_decay: float | None = None
    warmup_epochs: float = 0.0
    # objective
    temperature: float | None = None
    base_temperature: float | None = None
    chunk_size: int | None = None
    cluster_column: str | None = None
    cluster_attributes: list[str] | None = None
    cluster_top_k: int | None = None
    loss_form: Literal["official", "paper"] = "official"
    kmeans_clusters: int = 100
    kmeans_every: int = 1
    # MRCL (METHODS.md §3, a reconstruction)
    mask_ratio: float = 0.5
    mask_fill: Literal["zero", "learned"] = "zero"
    rec_weight: float = 1.0
    mask_normalize_target: bool = True
    # SuperInfo (METHODS.md §4, a reconstruction)
    lambda_pred: float = 1.0
    lambda_superfluous: float = 0.01
    lambda_rec: float = 0.1
    anneal_fraction: float = 0.15
    anneal_start: float = 1e-4
    anneal_schedule: Literal["log-linear", "linear"] = "log-linear"
    initial_logvar: float = -4.0
    # views
    view_options: dict[str, Any] = field(default_factory=dict)
    # hardware
    accelerator: str = "auto"
    devices: int = 1
    strategy: str = "auto"
    precision: Literal["auto", "32", "bf16-mixed", "16-mixed"] = "auto"
    channels_last: bool | None = None
    num_workers: int = 0
    # evaluation
    knn_every: int = 10
    knn_k: int = 200
    knn_temperature: float = 0.1
    probe_epochs: int = 100
    probe_weight_decay: float | None = None
    baselines: bool | None = None
    # bookkeeping
    log_every_n_steps: int | None = None
    seed: int = 0
    output_dir: str = "runs"
    name: str | None = None

    # -- resolved defaults ---------------------------------------------------------------
    def resolved_temperature(self) -> float:
        if self.temperature is not None:
            return self.temperature
        if self.method == "clinfonce-kmeans":
            return 0.2
        if self.method in ("clinfonce", "supcon"):
            return 0.1
        # SimCLR-style objectives: 0.2, solo-learn's CIFAR setting; on digits it beat 0.5
        # and 0.1 (docs/benchmarks.md).
        return 0.2

    def resolved_backbone(self, image_size: int) -> str:
        from infoclr.models import auto_backbone

        return auto_backbone(image_size) if self.backbone == "auto" else self.backbone

    def resolved_channels_last(self, image_size: int) -> bool:
        if self.channels_last is not None:
            return self.channels_last
        return self.resolved_backbone(image_size).startswith("resnet") and (
            self.resolved_precision(image_size) == "bf16-mixed"
        )

    def resolved_precision(self, image_size: int) -> str:
        """bf16 autocast where it was measured to pay: on GPUs, and for ResNets/ViTs on CPUs
        with AVX-512 bf16 (ResNet-18 train step 35 → 84 img/s, docs/benchmarks.md). The small
        CNN for tiny images stays in float32."""
        if self.precision != "auto":
            return self.precision
        if torch.cuda.is_available() and self.accelerator in ("auto", "gpu", "cuda"):
            return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
        fast = _cpu_has_fast_bf16() and self.resolved_backbone(image_size) != "smallcnn"
        return "bf16-mixed" if fast else "32"

    def run_name(self) -> str:
        return self.name or f"{self.method}-{self.dataset}"

    def validate(self) -> None:
        """Raise a one-line ConfigError for any value that cannot work."""
        positive = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "devices": self.devices,
            "projection_dim": self.projection_dim,
            "kmeans_clusters": self.kmeans_clusters,
            "kmeans_every": self.kmeans_every,
            "knn_k": self.knn_k,
        }
        for key, value in positive.items():
            if value < 1:
                raise ConfigError(f"{key} must be >= 1, got {value}")
        for key in ("temperature", "base_temperature", "lr", "knn_temperature"):
            value = getattr(self, key)
            if value is not None and not value > 0:
                raise ConfigError(f"{key} must be > 0, got {value}")
        if not 0.0 < self.mask_ratio < 1.0:
            raise ConfigError(f"mask_ratio must be in (0, 1), got {self.mask_ratio}; try 0.5")
        for key in ("rec_weight", "lambda_pred", "lambda_superfluous", "lambda_rec"):
            if getattr(self, key) < 0:
                raise ConfigError(
                    f"{key} must be >= 0, got {getattr(self, key)}; a negative weight on a "
                    "bound makes the objective ill-posed"
                )
        if not 0.0 <= self.anneal_fraction <= 1.0:
            raise ConfigError(f"anneal_fraction must be in [0, 1], got {self.anneal_fraction}")
        if not self.anneal_start > 0:
            raise ConfigError(
                f"anneal_start must be > 0 (λ2's first value), got {self.anneal_start}; try 1e-4"
            )
        if self.warmup_epochs < 0 or self.warmup_epochs >= self.epochs:
            raise ConfigError(
                f"warmup_epochs must be in [0, epochs={self.epochs}), got {self.warmup_epochs}"
            )
        if self.cluster_top_k is not None and self.cluster_top_k < 1:
            raise ConfigError(f"cluster_top_k must be >= 1, got {self.cluster_top_k}")
        if self.cluster_column is not None and self.cluster_attributes is not None:
            raise ConfigError("give either cluster_column or cluster_attributes, not both")
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ConfigError(f"chunk_size must be >= 1, got {self.chunk_size}")


def _cpu_has_fast_bf16() -> bool:
    try:
        return (
            bool(torch.backends.mkldnn.is_available())
            and "AVX512" in (torch.backends.cpu.get_cpu_capability())
            and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        )
    except Exception:  # capability probes differ across builds; fall back to fp32
        return False


# ---------------------------------------------------------------------------------------
# data plumbing


class _InMemoryBatches(torch.utils.data.Dataset):
    """Index a whole in-memory uint8 tensor by a list of indices: one gather per batch."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, indices: list[int]):
        idx = torch.as_tensor(indices, dtype=torch.long)
        return self.images[idx], self.labels[idx], idx


def _labels_tensor(data) -> torch.Tensor:
    if data.labels is None:
        return torch.full((len(data),), -1, dtype=torch.long)
    return torch.as_tensor(np.asarray(data.labels), dtype=torch.long)


def train_loader(data, config: PretrainConfig, distributed: bool) -> torch.utils.data.DataLoader:
    """A shuffled loader of (images uint8, labels, index) batches with ``drop_last``."""
    images = data.tensors()
    generator = torch.Generator().manual_seed(config.seed)
    if images is not None:
        dataset = _InMemoryBatches(images, _labels_tensor(data))
        if distributed:
            base = torch.utils.data.DistributedSampler(
                dataset, shuffle=True, seed=config.seed, drop_last=True
            )
        else:
            base = torch.utils.data.RandomSampler(dataset, generator=generator)
        sampler = torch.utils.data.BatchSampler(base, config.batch_size, drop_last=True)
        return torch.utils.data.DataLoader(dataset, sampler=sampler, batch_size=None, num_workers=0)
    sampler = (
        torch.utils.data.DistributedSampler(data, shuffle=True, seed=config.seed, drop_last=True)
        if distributed
        else torch.utils.data.RandomSampler(data, generator=generator)
    )
    return torch.utils.data.DataLoader(
        data,
        batch_size=config.batch_size,
        sampler=sampler,
        drop_last=True,
        num_workers=config.num_workers,
        persistent_workers=config.num_workers > 0,
    )


class _TrainData(L.LightningDataModule):
    """Builds the training loader once Lightning has set up the process group, so that a
    DistributedSampler can read the world size and rank."""

    def __init__(self, data, config: PretrainConfig, distributed: bool) -> None:
        super().__init__()
        self.data, self.config, self.distributed = data, config, distributed

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return train_loader(self.data, self.config, self.distributed)


class OrderedBatches:
    """A re-iterable, picklable source of un-augmented ``(images uint8, labels)`` batches in
    index order (for k-NN monitoring, k-means re-clustering and the final evaluation)."""

    def __init__(self, data, batch_size: int = 512, num_workers: int = 0) -> None:
        self.data, self.batch_size, self.num_workers = data, batch_size, num_workers

    def __call__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        images = self.data.tensors()
        labels = _labels_tensor(self.data)
        if images is not None:
            for lo in range(0, images.shape[0], self.batch_size):
                yield images[lo : lo + self.batch_size], labels[lo : lo + self.batch_size]
            return
        loader = torch.utils.data.DataLoader(
            self.data, batch_size=self.batch_size, shuffle=False, num_workers=self.num_workers
        )
        for batch in loader:
            yield batch[0], batch[1]


# ---------------------------------------------------------------------------------------
# run folders


def _csv_version(run_dir: Path, resumed: bool) -> str:
    if not resumed:
        return "csv"
    part = 2
    while (run_dir / "logs" / f"csv-part{part}").exists():
        part += 1
    return f"csv-part{part}"


def _is_complete(run_dir: Path) -> bool:
    return (run_dir / "metrics.json").is_file()


def resolve_run_dir(config: PretrainConfig, resume: bool) -> tuple[Path, Path | None]:
    """Pick the run folder and, when resuming, the checkpoint to continue from.

    A fresh run never overwrites an existing folder: it takes the next free ``NAME-2``,
    ``NAME-3`` … A resume continues the newest unfinished folder of that name.
    """
    root = Path(config.output_dir)
    base = config.run_name()
    candidates = [root / base] + sorted(
        (p for p in root.glob(f"{base}-*") if p.name[len(base) + 1 :].isdigit()),
        key=lambda p: int(p.name[len(base) + 1 :]),
    )
    existing = [p for p in candidates if p.exists()]
    if resume:
        for run_dir in reversed(existing):
            ckpt = run_dir / "checkpoints" / "last.ckpt"
            if not _is_complete(run_dir) and ckpt.is_file():
                return run_dir, ckpt
        raise ConfigError(
            f"nothing to resume: no unfinished run named {base!r} with a checkpoint under "
            f"{str(root)!r}; drop --resume to start a new run"
        )
    if not existing:
        return root / base, None
    suffix = 2
    while (root / f"{base}-{suffix}").exists():
        suffix += 1
    return root / f"{base}-{suffix}", None


# ---------------------------------------------------------------------------------------
# the job


@dataclass
class PretrainResult:
    run_dir: Path
    metrics: dict[str, Any]


def _quiet_lightning() -> None:
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    warnings.filterwarnings("ignore", ".*number of training batches.*")


def prepare(config: PretrainConfig):
    """Load data and build every piece; raises before anything is written."""
    from infoclr.augment import BatchViews, ViewConfig
    from infoclr.data import load_dataset
    from infoclr.methods import MethodParts, OptimConfig, build_method
    from infoclr.models import build_backbone

    config.validate()
    train = load_dataset(
        config.dataset,
        "train",
        root=config.data_root,
        download=config.download,
        seed=config.seed,
        **config.data_options,
    )
    test = load_dataset(
        config.dataset,
        "test",
        root=config.data_root,
        download=config.download,
        seed=config.seed,
        **config.data_options,
    )
    per_rank_batch = config.batch_size
    if per_rank_batch * config.devices > len(train):
        raise ConfigError(
            f"batch size {config.batch_size} x {config.devices} device(s) is larger than the "
            f"training set ({len(train)} images); use --batch-size {max(2, len(train) // 2)} "
            "or smaller"
        )
    view_config = ViewConfig.for_resolution(train.image_size, train.channels)
    for key, value in config.view_options.items():
        if not hasattr(view_config, key):
            raise ConfigError(f"unknown view option {key!r}; see infoclr.augment.ViewConfig")
        setattr(view_config, key, tuple(value) if isinstance(value, list) else value)
    backbone_options: dict[str, Any] = {}
    if config.cifar_stem is not None:
        backbone_options["cifar_stem"] = config.cifar_stem
    if config.backbone_width is not None:
        backbone_options["width"] = config.backbone_width
    if config.patch_size is not None:
        backbone_options["patch_size"] = config.patch_size
    torch.manual_seed(config.seed)
    backbone = build_backbone(config.backbone, train.channels, train.image_size, **backbone_options)
    optim = OptimConfig(
        name=config.optimizer,
        lr=config.lr,
        weight_decay=config.weight_decay,
        warmup_epochs=config.warmup_epochs,
        max_epochs=config.epochs,
        batch_size=config.batch_size * config.devices,
    )
    parts = MethodParts(
        backbone=backbone,
        views=BatchViews(view_config),
        optim=optim,
        num_samples=len(train),
        labels=train.labels,
        aux=train.aux,
        image_size=train.image_size,
        channels=train.channels,
    )
    method = build_method(config, parts)
    return train, test, view_config, method


def _device_for(config: PretrainConfig) -> torch.device:
    if config.accelerator in ("gpu", "cuda") or (
        config.accelerator == "auto" and torch.cuda.is_available()
    ):
        return torch.device("cuda")
    return torch.device("cpu")


def pretrain(
    config: PretrainConfig, resume: bool = False, progress: bool = True, echo=print
) -> PretrainResult:
    """Train ``config.method`` on ``config.dataset``, evaluate, and write the run folder."""
    from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from infoclr.augment import EvalView
    from infoclr.methods.callbacks import KMeansReclustering, KNNMonitor
    from infoclr.methods.checkpoint import AtomicCheckpointIO

    _quiet_lightning()
    started = time.perf_counter()
    L.seed_everything(config.seed, verbose=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InfoclrWarning)
        train, test, view_config, method = prepare(config)
    for caught_warning in caught:
        if issubclass(caught_warning.category, InfoclrWarning):
            echo(f"note: {caught_warning.message}")
        else:  # not ours: hand it back to the warnings machinery unchanged
            warnings.warn_explicit(
                caught_warning.message,
                caught_warning.category,
                caught_warning.filename,
                caught_warning.lineno,
            )
    if os.environ.get(_RUN_DIR_ENV) and int(os.environ.get("LOCAL_RANK", "0")) > 0:
        # A DDP worker started by Lightning's launcher: rank 0 already chose the folder.
        run_dir = Path(os.environ[_RUN_DIR_ENV])
        ckpt = run_dir / "checkpoints" / "last.ckpt"
        ckpt_path = ckpt if resume and ckpt.is_file() else None
    else:
        run_dir, ckpt_path = resolve_run_dir(config, resume)
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, run_dir / "config.yaml")
        os.environ[_RUN_DIR_ENV] = str(run_dir)
        echo(f"run folder: {run_dir}" + (f" (resuming from {ckpt_path.name})" if ckpt_path else ""))

    distributed = config.devices > 1
    eval_view = EvalView(view_config)
    callbacks: list[Any] = [
        ModelCheckpoint(
            dirpath=run_dir / "checkpoints",
            filename="last",
            save_last=False,
            save_top_k=1,
            every_n_epochs=1,
            enable_version_counter=False,
        ),
    ]
    knn = KNNMonitor(
        OrderedBatches(train),
        OrderedBatches(test),
        eval_view,
        every_n_epochs=config.knn_every,
        k=config.knn_k,
        temperature=config.knn_temperature,
    )
    callbacks.append(knn)
    reclustering = None
    if config.method == "clinfonce-kmeans":
        if config.kmeans_clusters > len(train):
            raise ConfigError(
                f"kmeans_clusters {config.kmeans_clusters} exceeds the {len(train)} training "
                "images; choose fewer clusters"
            )
        reclustering = KMeansReclustering(
            OrderedBatches(train),
            eval_view,
            config.kmeans_clusters,
            config.kmeans_every,
            seed=config.seed,
        )
        callbacks.append(reclustering)
    if progress:
        callbacks.append(RichProgressBar(leave=True))
    loggers = [
        TensorBoardLogger(run_dir, name="logs", version="tensorboard", default_hp_metric=False),
        # A resumed run logs beside, not over, the CSV of the part before the stop.
        CSVLogger(run_dir, name="logs", version=_csv_version(run_dir, ckpt_path is not None)),
    ]
    steps_per_epoch = max(1, len(train) // (config.batch_size * config.devices))
    trainer = L.Trainer(
        max_epochs=config.epochs,
        accelerator=config.accelerator,
        devices=config.devices,
        strategy=config.strategy
        if config.strategy != "auto"
        else ("ddp_spawn" if distributed and _device_for(config).type == "cpu" else "auto"),
        precision=config.resolved_precision(train.image_size),
        logger=loggers,
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],
        default_root_dir=run_dir,
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=config.log_every_n_steps or min(50, steps_per_epoch),
        use_distributed_sampler=False,
        # SimCLR's global BatchNorm (statistics over the global batch) needs GPUs; on CPU
        # ranks each normalise their own shard.
        sync_batchnorm=distributed and _device_for(config).type == "cuda",
        num_sanity_val_steps=0,
        deterministic=False,
    )
    loader = _TrainData(train, config, distributed)
    start_step = 0
    if ckpt_path is not None:
        start_step = int(
            torch.load(ckpt_path, map_location="cpu", weights_only=False).get("global_step", 0)
        )
    train_started = time.perf_counter()
    trainer.fit(method, datamodule=loader, ckpt_path=str(ckpt_path) if ckpt_path else None)
    train_seconds = time.perf_counter() - train_started
    if trainer.interrupted:
        raise KeyboardInterrupt
    if trainer.global_rank != 0:
        return PretrainResult(run_dir, {})

    device = _device_for(config) if config.devices == 1 else torch.device("cpu")
    method = method.to(device)
    metrics = evaluate_backbone(method, train, test, eval_view.to(device), config, device)
    epochs_run = trainer.current_epoch
    steps_run = trainer.global_step - start_step
    images_seen = steps_run * config.batch_size * config.devices
    metrics.update(
        method=config.method,
        dataset=config.dataset,
        epochs=epochs_run,
        train_seconds=round(train_seconds, 3),
        images_per_second=round(images_seen / max(train_seconds, 1e-9), 1),
        knn_history=[{"epoch": e, "knn_top1": v} for e, v in knn.history],
    )
    if reclustering is not None and reclustering.history:
        metrics["cluster_history"] = reclustering.history
    atomic_torch_save(method.backbone.export_state_dict(), run_dir / "backbone.pt")
    metrics["wall_seconds"] = round(time.perf_counter() - started, 3)
    atomic_write_json(run_dir / "metrics.json", metrics)
    return PretrainResult(run_dir, metrics)


def evaluate_backbone(
    method,
    train,
    test,
    eval_view,
    config: PretrainConfig,
    device: torch.device,
    baselines: bool | None = None,
) -> dict[str, Any]:
    """Linear probe and k-NN on frozen backbone features; optional raw-pixel and random-init
    baselines (default: on for data sets up to 20,000 training images)."""
    from infoclr.evaluation.knn import knn_top1
    from infoclr.evaluation.linear import linear_probe
    from infoclr.methods.callbacks import embed

    train_f, train_y = embed(method, OrderedBatches(train), eval_view, device)
    test_f, test_y = embed(method, OrderedBatches(test), eval_view, device)
    if bool((train_y < 0).any()) or bool((test_y < 0).any()):
        return {
            "linear_top1": None,
            "knn_top1": None,
            "note": "data set has no labels; no probe was run",
        }
    weight_decay = "auto" if config.probe_weight_decay is None else config.probe_weight_decay
    probe = dict(epochs=config.probe_epochs, seed=config.seed, weight_decay=weight_decay)
    metrics: dict[str, Any] = {
        "linear_top1": linear_probe(train_f, train_y, test_f, test_y, **probe).top1,
        "knn_top1": knn_top1(
            train_f, train_y, test_f, test_y, k=config.knn_k, temperature=config.knn_temperature
        ),
        "knn_k": config.knn_k,
        "knn_temperature": config.knn_temperature,
        "feature_dim": int(train_f.shape[1]),
    }
    want = config.baselines if baselines is None else baselines
    if want is None:
        want = len(train) <= 20_000
    if want:

        def pixels(data):
            chunks = [
                eval_view(images.to(device)).flatten(1).float().cpu()
                for images, _ in OrderedBatches(data)()
            ]
            return torch.cat(chunks)

        metrics["baseline_raw_pixels_linear_top1"] = linear_probe(
            pixels(train), train_y, pixels(test), test_y, **probe
        ).top1
        random_method = _random_init_copy(method, config).to(device)
        rf, _ = embed(random_method, OrderedBatches(train), eval_view, device)
        rt, _ = embed(random_method, OrderedBatches(test), eval_view, device)
        metrics["baseline_random_init_linear_top1"] = linear_probe(
            rf, train_y, rt, test_y, **probe
        ).top1
    return metrics


def _random_init_copy(method, config: PretrainConfig):
    import copy

    clone = copy.deepcopy(method)
    torch.manual_seed(config.seed + 12345)
    for module in clone.backbone.modules():
        if hasattr(module, "reset_parameters") and module is not clone.backbone:
            module.reset_parameters()
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
    return clone


def summary_rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    def fmt(value: Any) -> str:
        return (
            "n/a" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
        )

    rows = [
        ("linear top-1 (learned features)", fmt(metrics.get("linear_top1"))),
        ("k-NN top-1 (learned features)", fmt(metrics.get("knn_top1"))),
    ]
    if "baseline_raw_pixels_linear_top1" in metrics:
        rows.append(("linear top-1, raw pixels", fmt(metrics["baseline_raw_pixels_linear_top1"])))
    if "baseline_random_init_linear_top1" in metrics:
        rows.append(
            ("linear top-1, random-init backbone", fmt(metrics["baseline_random_init_linear_top1"]))
        )
    for key in ("epochs", "train_seconds", "images_per_second", "wall_seconds"):
        if key in metrics:
            rows.append((key.replace("_", " "), fmt(metrics[key])))
    return rows


__all__ = [
    "PretrainConfig",
    "PretrainResult",
    "evaluate_backbone",
    "prepare",
    "pretrain",
    "resolve_run_dir",
    "summary_rows",
    "to_dict",
]
