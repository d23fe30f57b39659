"""infoclr's main job: pretrain an encoder, evaluate it, and hand over reusable weights.

``pretrain(PretrainConfig(...))`` assembles data → views → backbone → method → Lightning
Trainer → evaluation. Everything a user can get wrong (names, paths, sizes, coefficients) is
checked *before* a run folder is created, so a mistake leaves nothing behind; the values are
checked before torch is even imported. A run folder holds:

* ``config.yaml``: the resolved configuration (reproduce the run from it);
* ``checkpoints/last.ckpt``: written atomically every epoch; ``resume=True`` continues from it;
* ``logs/``: TensorBoard events and ``metrics.csv``;
* ``backbone.pt``: the backbone state dict (torchvision-compatible for ResNets);
* ``metrics.json``: written last; its presence marks the run complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from infoclr.config import (
    check_fields,
    from_dict,
    option,
    save_config,
    to_dict,
    unknown_key_error,
)
from infoclr.errors import ConfigError, InfoclrWarning

_RUN_DIR_ENV = "INFOCLR_RUN_DIR"
#: Settings a resumed run may change: more epochs, and how the result is evaluated or logged.
_MAY_CHANGE_ON_RESUME = frozenset(
    {
        "epochs",
        "name",
        "probe_epochs",
        "probe_weight_decay",
        "baselines",
        "knn_every",
        "knn_k",
        "knn_temperature",
        "log_every_n_steps",
        "num_workers",
    }
)

__all__ = [
    "PretrainConfig",
    "PretrainResult",
    "evaluate_run",
    "prepare",
    "pretrain",
    "summary_rows",
]


@dataclass
class PretrainConfig:
    """Every knob of ``infoclr pretrain``. ``None`` means "pick a sensible default".

    The objective's own options (temperature, cluster source, masking ratio, …) live in
    ``method_options``, checked against the chosen method's options dataclass
    (:mod:`infoclr.methods`). :meth:`from_mapping` also accepts them as top-level keys, as
    ``--set key=value`` gives them.
    """

    # what to train
    method: str = option("simclr", "The objective (see infoclr.methods.available_methods()).")
    method_options: dict[str, Any] = option(
        help="The method's options; each can also be given as --set KEY=VALUE.",
        factory=dict,
        cli=False,
    )
    dataset: str = option("digits", "Data set name.")
    data_root: str | None = option(None, "Where the data set lives (or downloads to).")
    download: bool = option(False, "Allow downloading the data set.")
    data_options: dict[str, Any] = option(
        help="The data set's own options, e.g. {image_size: 32}.", factory=dict, cli=False
    )
    # model
    backbone: str = option(
        "auto",
        "auto | smallcnn | resnet18 | resnet50 | vit-tiny | timm:NAME | torchvision:NAME | "
        "package.module:factory.",
    )
    init: str | None = option(
        None,
        "Start from these weights: a state dict (torchvision/timm checkpoint, backbone.pt) or "
        "an infoclr run folder.",
    )
    cifar_stem: bool | None = option(None, "ResNet 3x3 stem without max-pool.", cli=False)
    backbone_width: int | None = option(None, "Channel width of the small CNN.", min=1, cli=False)
    patch_size: int | None = option(None, "ViT patch size (and MRCL's mask patch).", min=1)
    projection_dim: int = option(128, "Output size of the projection head.", min=1, cli=False)
    projection_hidden: int | None = option(
        None, "Hidden size of the projection head (default: the feature size).", min=1, cli=False
    )
    # optimisation
    epochs: int = option(50, "Training epochs.", min=1)
    batch_size: int = option(128, "Images per batch and device.", min=2)
    optimizer: Literal["adamw", "sgd", "lars"] = option("adamw", "adamw | sgd | lars.")
    lr: float | None = option(
        None, "Learning rate (default 1e-3 for AdamW, 0.3·batch/256 for SGD/LARS).", gt=0
    )
    lr_scaling: Literal["none", "linear", "sqrt"] = option(
        "none",
        "Scale lr with the global batch B (batch·devices·nodes): linear lr·B/256, "
        "sqrt lr·sqrt(B/256).",
    )
    weight_decay: float | None = option(None, "Weight decay (default per optimiser).", min=0)
    warmup_epochs: float = option(0.0, "Linear warm-up before the cosine decay.", min=0)
    # views
    view_options: dict[str, Any] = option(
        help="Overrides of the view distribution (infoclr.augment.ViewConfig fields).",
        factory=dict,
        cli=False,
    )
    # hardware
    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = option("auto", "auto | cpu | gpu.")
    devices: int = option(1, "Number of devices per node (DDP when > 1).", min=1)
    num_nodes: int = option(1, "Number of machines; launch with torchrun or srun.", min=1)
    strategy: str = option("auto", "Lightning strategy, e.g. ddp.")
    precision: Literal["auto", "32", "bf16-mixed", "16-mixed"] = option(
        "auto", "auto | 32 | bf16-mixed | 16-mixed.", cli=False
    )
    channels_last: bool | None = option(
        None,
        "channels_last memory format (unset: on for the small CNN and ResNets at 16 px and more).",
        cli=False,
    )
    compile: bool = option(
        False,
        "torch.compile the backbone's training forward (evaluation and export keep the plain "
        "module). Small CNN at 28 px on 2 CPU cores: 1.10x per epoch after a 12-18 s cold "
        "compile, no faster at 8 px (docs/benchmarks.md); off by default.",
        cli=False,
    )
    num_workers: int = option(0, "Loader workers for sets read from files.", min=0, cli=False)
    # evaluation
    knn_every: int = option(10, "Online k-NN every this many epochs (0: off).", min=0, cli=False)
    knn_k: int = option(200, "k of the k-NN classifier.", min=1, cli=False)
    knn_temperature: float = option(0.1, "Temperature of the k-NN vote.", gt=0, cli=False)
    probe_epochs: int = option(100, "L-BFGS iterations of the linear probe.", min=1, cli=False)
    probe_weight_decay: float | None = option(
        None, "Linear-probe L2 (default: chosen on a validation split).", min=0, cli=False
    )
    baselines: bool | None = option(
        None, "Also probe raw pixels and a random-init backbone (default: sets <= 20k).", cli=False
    )
    # bookkeeping
    log_every_n_steps: int | None = option(None, "Log every this many steps.", min=1, cli=False)
    logger: str = option(
        "tensorboard,csv", "Loggers, comma-separated: tensorboard, csv, mlflow, wandb."
    )
    logger_options: dict[str, Any] = option(
        help="Per-logger settings, e.g. {mlflow: {tracking_uri: file:./mlruns}, wandb: "
        "{project: infoclr, offline: true}}.",
        factory=dict,
        cli=False,
    )
    seed: int = option(0, "Random seed.")
    output_dir: str = option("runs", "Parent folder of run folders.")
    name: str | None = option(None, "Run folder name (default METHOD-DATASET).")

    # -- construction and checks (no torch) -------------------------------------------------
    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> PretrainConfig:
        """Build from a flat mapping (YAML, ``--set``): keys that are not general settings are
        options of the chosen method; a key of another method is a one-line error naming it."""
        from infoclr.methods import method_class, option_owners

        data = dict(data)
        data.pop("resolved", None)  # the informational block infoclr writes into config.yaml
        nested = data.pop("method_options", None) or {}
        if not isinstance(nested, dict):
            raise ConfigError("method_options must be a mapping of option: value")
        nested = dict(nested)
        method = str(data.get("method", cls.method))
        own = {item.name for item in dataclasses.fields(method_class(method))}
        general = {item.name for item in dataclasses.fields(cls)}
        for key in list(data):
            if not isinstance(key, str):
                raise ConfigError(f"config key {key!r} is not a name; write keys as plain words")
            if key in general:
                continue
            if key in own:
                nested[key] = data.pop(key)
            elif option_owners(key):
                owners = option_owners(key)
                raise ConfigError(
                    f"{key!r} is an option of method {' / '.join(owners)}, not of {method!r}; "
                    f"add --method {owners[0]} or drop it"
                )
            else:
                raise unknown_key_error(key, sorted(general | own))
        config = from_dict(cls, data)
        config.method_options = nested
        config.validate()
        return config

    def method_spec(self) -> Any:
        """The chosen method's options object, converted and checked."""
        from infoclr.methods import method_options

        return method_options(self.method, self.method_options)

    def validate(self) -> None:
        """Raise a one-line ConfigError for any value that cannot work (no torch needed)."""
        from infoclr.augment import ViewConfig
        from infoclr.data import check_dataset_name
        from infoclr.methods.loggers import check_loggers
        from infoclr.models import check_backbone_name
        from infoclr.runs import check_writable

        check_fields(self)
        if self.warmup_epochs >= self.epochs:
            raise ConfigError(
                f"warmup_epochs must be below epochs={self.epochs}, got {self.warmup_epochs}"
            )
        check_dataset_name(self.dataset)
        check_backbone_name(self.backbone)
        check_loggers(self.logger, self.logger_options)
        if self.init is not None and not Path(self.init).expanduser().exists():
            raise ConfigError(
                f"--init {self.init!r} does not exist; give a weights file or run folder"
            )
        spec = self.method_spec()
        self.method_options = dataclasses.asdict(spec)
        known = {item.name for item in dataclasses.fields(ViewConfig)} - {"image_size"}
        for key in self.view_options:
            if key not in known:
                raise unknown_key_error(str(key), sorted(known), "view option")
        check_writable(Path(self.output_dir))

    def run_name(self) -> str:
        return self.name or f"{self.method}-{self.dataset}"


@dataclass
class PretrainResult:
    run_dir: Path
    metrics: dict[str, Any]


@dataclass
class Prepared:
    """Everything :func:`prepare` builds: the data, the views, the model and the resolved
    settings that ``config.yaml`` records."""

    train: Any
    test: Any
    view_config: Any
    model: Any
    precision: str
    resolved: dict[str, Any]


def _load_data(config: PretrainConfig) -> tuple[Any, Any]:
    from infoclr.data import load_dataset

    common = dict(root=config.data_root, download=config.download, seed=config.seed)
    train = load_dataset(config.dataset, "train", **common, **config.data_options)
    test = load_dataset(config.dataset, "test", **common, **config.data_options)
    if config.batch_size * config.devices * config.num_nodes > len(train):
        raise ConfigError(
            f"batch size {config.batch_size} x {config.devices * config.num_nodes} device(s) is "
            "larger than the "
            f"training set ({len(train)} images); use --batch-size {max(2, len(train) // 2)} "
            "or smaller"
        )
    return train, test


def _view_config(config: PretrainConfig, train: Any) -> Any:
    from infoclr.augment import ViewConfig

    defaults = ViewConfig.for_resolution(train.image_size, train.channels)
    values = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in config.view_options.items()
    }
    return dataclasses.replace(defaults, **values)


def prepare(config: PretrainConfig) -> Prepared:
    """Load data and build every piece; raises before anything is written."""
    import torch

    from infoclr.augment import BatchViews
    from infoclr.methods import ContrastiveMethod, MethodParts, OptimConfig
    from infoclr.methods.trainer import check_hardware, resolve_channels_last, resolve_precision
    from infoclr.models import auto_backbone, build_backbone

    config.validate()
    check_hardware(config.accelerator, config.strategy, config.devices)
    spec = config.method_spec()
    train, test = _load_data(config)
    spec.check_data(train)
    view_config = _view_config(config, train)
    backbone_name = (
        auto_backbone(train.image_size) if config.backbone == "auto" else config.backbone
    )
    precision = resolve_precision(config.precision, config.accelerator, backbone_name)
    backbone_options = {
        key: value
        for key, value in (
            ("cifar_stem", config.cifar_stem),
            ("width", config.backbone_width),
            ("patch_size", config.patch_size),
        )
        if value is not None
    }
    torch.manual_seed(config.seed)
    backbone = build_backbone(backbone_name, train.channels, train.image_size, **backbone_options)
    optim = OptimConfig(
        name=config.optimizer,
        lr=config.lr,
        weight_decay=config.weight_decay,
        warmup_epochs=config.warmup_epochs,
        max_epochs=config.epochs,
        batch_size=config.batch_size * config.devices * config.num_nodes,
        scaling=config.lr_scaling,
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
        projection_dim=config.projection_dim,
        projection_hidden=config.projection_hidden,
        channels_last=resolve_channels_last(config.channels_last, backbone_name, train.image_size),
        patch_size=config.patch_size,
        compile_backbone=config.compile,
    )
    model = ContrastiveMethod(spec, parts)
    init = None
    if config.init is not None:
        from infoclr.models.init import init_model

        report = init_model(model, config.init)
        warnings.warn(report.summary(), InfoclrWarning, stacklevel=2)
        init = report.as_dict()
    resolved = {
        "backbone": backbone_name,
        "feature_dim": int(backbone.feature_dim),
        "precision": precision,
        "compile": config.compile,
        "channels_last": parts.channels_last,
        "global_batch": optim.batch_size,
        "lr_scaling": config.lr_scaling,
        "lr": optim.resolved_lr(),
        "weight_decay": optim.resolved_weight_decay(),
        "image_size": train.image_size,
        "channels": train.channels,
        "train_images": len(train),
        "test_images": len(test),
        "split": test.split_note or train.split_note or "the data set's own train/test split",
        "init": init,
    }
    return Prepared(train, test, view_config, model, precision, resolved)


def _data_line(prepared: Prepared) -> str:
    resolved = prepared.resolved
    size, kind = resolved["image_size"], "grey" if resolved["channels"] == 1 else "RGB"
    return (
        f"data: {resolved['train_images']} train / {resolved['test_images']} test images, "
        f"{size}×{size} {kind}; split: {resolved['split']}"
    )


def _notes(echo: Callable[[str], Any], caught: list[warnings.WarningMessage]) -> list[str]:
    """Print infoclr's warnings as ``note:`` lines (and return them for metrics.json)."""
    notes: list[str] = []
    for caught_warning in caught:
        if issubclass(caught_warning.category, InfoclrWarning):
            notes.append(str(caught_warning.message))
            echo(f"note: {caught_warning.message}")
        else:  # not ours: hand it back to the warnings machinery unchanged
            warnings.warn_explicit(
                caught_warning.message,
                caught_warning.category,
                caught_warning.filename,
                caught_warning.lineno,
            )
    return notes


def _check_resume(config: PretrainConfig, run_dir: Path, ckpt: Path, model: Any) -> None:
    """The resumed run must be the same run: same settings (only ``epochs`` may change) and a
    readable checkpoint of the same model. Checked before anything is written."""
    import torch

    from infoclr.config import read_yaml_mapping
    from infoclr.errors import DataError

    saved = to_dict(PretrainConfig.from_mapping(read_yaml_mapping(run_dir / "config.yaml")))
    wanted = to_dict(config)
    for key in wanted:
        if key not in _MAY_CHANGE_ON_RESUME and saved.get(key) != wanted[key]:
            raise ConfigError(
                f"--resume: the run in {str(run_dir)!r} was started with {key}={saved.get(key)!r}, "
                f"not {wanted[key]!r}; resume with its own settings (-c {run_dir}/config.yaml)"
            )
    try:
        state = torch.load(ckpt, map_location="cpu", weights_only=False)["state_dict"]
    except Exception:  # noqa: BLE001 - a truncated or foreign file fails in many ways
        raise DataError(
            f"checkpoint {ckpt} cannot be read (truncated or not an infoclr checkpoint); "
            "delete it and start a new run"
        ) from None
    missing, unexpected = (
        model.state_dict().keys() - state.keys(),
        state.keys() - model.state_dict().keys(),
    )
    if missing or unexpected:
        raise ConfigError(
            f"checkpoint {ckpt} holds another model ({len(missing)} missing, {len(unexpected)} "
            "unexpected weights); resume with the run's own settings or start a new run"
        )


def _run_folder(
    config: PretrainConfig, resume: bool, model: Any, resolved: dict[str, Any]
) -> tuple[Path, Path | None]:
    """Claim a new run folder (or find the one to resume) and record the config in it."""
    from infoclr.config import to_dict
    from infoclr.launch import shared_run_dir
    from infoclr.runs import claim_run_dir, find_resumable

    shared = shared_run_dir(Path(config.output_dir), config.run_name(), resume)
    if shared is not None:
        # Started by torchrun or srun: every rank of every node uses the one folder.
        run_dir, ckpt, first = shared
        if first and ckpt is not None:
            _check_resume(config, run_dir, ckpt, model)
        if first and ckpt is None:
            save_config({**to_dict(config), "resolved": resolved}, run_dir / "config.yaml")
        return run_dir, ckpt
    if os.environ.get(_RUN_DIR_ENV) and int(os.environ.get("LOCAL_RANK", "0")) > 0:
        # A DDP worker started by Lightning's launcher: rank 0 already chose the folder.
        run_dir = Path(os.environ[_RUN_DIR_ENV])
        ckpt = run_dir / "checkpoints" / "last.ckpt"
        return run_dir, ckpt if resume and ckpt.is_file() else None
    if resume:
        run_dir, ckpt = find_resumable(Path(config.output_dir), config.run_name())
        _check_resume(config, run_dir, ckpt, model)
    else:
        run_dir, ckpt = claim_run_dir(Path(config.output_dir), config.run_name()), None
        save_config({**to_dict(config), "resolved": resolved}, run_dir / "config.yaml")
    os.environ[_RUN_DIR_ENV] = str(run_dir)
    return run_dir, ckpt


def _callbacks(config: PretrainConfig, prepared: Prepared) -> dict[str, Any]:
    """The callbacks of a run by role: k-NN monitor, clock, the method's own, the rest."""
    from infoclr.augment import EvalView
    from infoclr.data.loaders import OrderedBatches
    from infoclr.methods.callbacks import (
        EpochSeeds,
        KNNMonitor,
        RunClock,
        StopOnNonFinite,
        TrainContext,
    )

    eval_view = EvalView(prepared.view_config)
    train_batches = OrderedBatches(prepared.train)
    knn = KNNMonitor(
        train_batches,
        OrderedBatches(prepared.test),
        eval_view,
        every_n_epochs=config.knn_every,
        k=config.knn_k,
        temperature=config.knn_temperature,
    )
    context = TrainContext(train_batches, eval_view, config.seed)
    return {
        "knn": knn,
        "clock": RunClock(config.batch_size * config.devices * config.num_nodes),
        "method": prepared.model.method.callbacks(context),
        "other": [StopOnNonFinite(config.log_every_n_steps or 50), EpochSeeds(config.seed)],
    }


def _fit(config: PretrainConfig, prepared: Prepared, run_dir: Path, ckpt: Path | None, **kw: Any):
    """Build the Trainer and train; returns (trainer, callbacks and loggers by role)."""
    from infoclr.methods.loggers import build_loggers
    from infoclr.methods.trainer import TrainData, build_trainer

    callbacks = _callbacks(config, prepared)
    loggers = callbacks["loggers"] = build_loggers(config, run_dir, ckpt is not None)
    steps_per_epoch = max(1, len(prepared.train) // prepared.resolved["global_batch"])
    trainer = build_trainer(
        config,
        run_dir,
        # The non-finite check comes first: it must stop a run before a monitor scores NaNs.
        [*callbacks["other"], callbacks["knn"], callbacks["clock"], *callbacks["method"]],
        loggers,
        prepared.precision,
        kw.get("progress", True),
        steps_per_epoch,
    )
    distributed = config.devices * config.num_nodes > 1
    data = TrainData(
        prepared.train, config.batch_size, config.seed, distributed, config.num_workers
    )
    try:
        trainer.fit(prepared.model, datamodule=data, ckpt_path=str(ckpt) if ckpt else None)
    except SystemExit:
        # Lightning answers Ctrl-C with sys.exit(1); the CLI wants to say how to resume.
        if trainer.interrupted:
            raise KeyboardInterrupt from None
        raise
    if trainer.interrupted:
        raise KeyboardInterrupt
    return trainer, callbacks


def pretrain(
    config: PretrainConfig,
    resume: bool = False,
    progress: bool = True,
    echo: Callable[[str], Any] = print,
) -> PretrainResult:
    """Train ``config.method`` on ``config.dataset``, evaluate, and write the run folder.

    Everything is checked before the run folder is claimed. ``resume=True`` continues the
    newest unfinished run of the same name; the result equals an uninterrupted run's.
    """
    import lightning as L

    from infoclr.io import atomic_write_json
    from infoclr.launch import global_rank
    from infoclr.methods.loggers import log_final_metrics
    from infoclr.methods.trainer import quiet_lightning
    from infoclr.runs import RunLock

    quiet_lightning()
    L.seed_everything(config.seed, verbose=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InfoclrWarning)
        prepared = prepare(config)
    notes = _notes(echo, caught)
    run_dir, ckpt = _run_folder(config, resume, prepared.model, prepared.resolved)
    # A DDP worker (started by Lightning, torchrun or srun) trains in the folder rank 0 holds.
    worker = int(os.environ.get("LOCAL_RANK", "0")) > 0 or global_rank() > 0
    with contextlib.nullcontext() if worker else RunLock(run_dir):
        echo(f"run folder: {run_dir}" + (f" (resuming from {ckpt.name})" if ckpt else ""))
        echo(_data_line(prepared))
        trainer, callbacks = _fit(config, prepared, run_dir, ckpt, progress=progress)
        if trainer.global_rank != 0:
            return PretrainResult(run_dir, {})
        clock = callbacks["clock"]
        extra = {"epochs": trainer.current_epoch, **clock.summary()}
        extra["knn_history"] = [{"epoch": e, "knn_top1": v} for e, v in callbacks["knn"].history]
        for callback in callbacks["method"]:
            if getattr(callback, "history", None):
                extra["cluster_history"] = callback.history
        metrics = _finish(config, prepared, run_dir, extra)
        metrics["wall_seconds"] = round(clock.wall_seconds(), 3)
        if notes:
            metrics["notes"] = notes
        log_final_metrics(callbacks["loggers"], metrics, trainer.global_step)
        atomic_write_json(run_dir / "metrics.json", metrics)
    return PretrainResult(run_dir, metrics)


def _evaluate(
    config: PretrainConfig, prepared: Prepared, baselines: bool | None, device: Any
) -> dict[str, Any]:
    from infoclr.augment import EvalView
    from infoclr.data.loaders import OrderedBatches
    from infoclr.evaluation.dense import evaluate_dense
    from infoclr.evaluation.frozen import ProbeSettings, evaluate_frozen, random_init_copy

    model = prepared.model.to(device)
    if baselines is None:
        baselines = len(prepared.train) <= 20_000
    settings = ProbeSettings(
        config.knn_k,
        config.knn_temperature,
        config.probe_epochs,
        config.probe_weight_decay,
        config.seed,
        baselines,
    )
    eval_view = EvalView(prepared.view_config).to(device)
    metrics = evaluate_frozen(
        model.backbone,
        OrderedBatches(prepared.train),
        OrderedBatches(prepared.test),
        eval_view,
        device,
        settings,
    )
    # Sets with per-pixel masks (shapes with masks=True) also get the dense probe.
    dense = evaluate_dense(model.backbone, prepared.train, prepared.test, eval_view, device)
    metrics.update(dense)
    if dense and baselines:
        random_backbone = random_init_copy(model.backbone, config.seed).to(device)
        random_dense = evaluate_dense(
            random_backbone, prepared.train, prepared.test, eval_view, device
        )
        metrics["baseline_random_init_dense_miou"] = random_dense["dense_miou"]
    return metrics


def _finish(
    config: PretrainConfig, prepared: Prepared, run_dir: Path, extra: dict[str, Any]
) -> dict[str, Any]:
    """Evaluate the trained backbone and save it; returns the metrics (without wall time)."""
    import torch

    from infoclr.io import atomic_torch_save
    from infoclr.methods.trainer import device_for

    single = config.devices == 1 and config.num_nodes == 1
    device = device_for(config.accelerator) if single else torch.device("cpu")
    metrics = _evaluate(config, prepared, config.baselines, device)
    metrics.update(method=config.method, dataset=config.dataset, **extra)
    metrics["settings"] = {
        "seed": config.seed,
        **config.method_spec().settings(),
        **{
            key: prepared.resolved[key]
            for key in ("lr", "precision", "compile", "channels_last", "backbone")
        },
        "batch_size": config.batch_size,
        "epochs": config.epochs,
    }
    stats = _cluster_statistics(prepared)
    if stats is not None:
        metrics["clusters"] = stats
    atomic_torch_save(prepared.model.backbone.export_state_dict(), run_dir / "backbone.pt")
    return metrics


def _cluster_statistics(prepared: Prepared) -> dict[str, Any] | None:
    """H(Z), H(Z|T), I(Z;T), ... (bits) of the clusters the method trained on, against the
    labels (Tsai et al. 2021); None for methods without clusters or sets without labels."""
    ids = getattr(prepared.model, "cluster_ids", None)
    labels = prepared.train.labels
    if ids is None or labels is None:
        return None
    from infoclr.clusters.stats import cluster_statistics

    return cluster_statistics(ids.cpu().numpy(), labels).as_json()


def evaluate_run(run_dir: Path, baselines: bool = False) -> tuple[PretrainConfig, dict]:
    """Re-evaluate a finished run from its folder; writes ``evaluation.json`` there.

    Every input is checked before the evaluation runs: the folder, its config, the weights
    (present, readable, of the run's backbone) and that ``evaluation.json`` can be written.
    """
    from infoclr.config import load_config
    from infoclr.io import atomic_write_json
    from infoclr.runs import check_new_outputs, check_run_folder, load_run_weights

    run_dir = check_run_folder(run_dir)
    check_new_outputs([run_dir / "evaluation.json"], overwrite=True)
    cfg = load_config(PretrainConfig, run_dir / "config.yaml")
    import torch  # after the checks: a refusal does not wait for torch

    # The run's own backbone.pt is loaded below; its --init file is not needed again.
    prepared = prepare(dataclasses.replace(cfg, init=None))
    load_run_weights(prepared.model.backbone, run_dir, prepared.resolved["backbone"])
    metrics = _evaluate(cfg, prepared, baselines, torch.device("cpu"))
    atomic_write_json(run_dir / "evaluation.json", metrics)
    return cfg, metrics


def summary_rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows of the summary table the CLI prints."""

    def fmt(value: Any) -> str:
        if value is None:
            return "n/a"
        return f"{value:.4f}" if isinstance(value, float) else str(value)

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
