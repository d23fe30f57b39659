"""The Lightning Trainer of pretraining, and the hardware settings it resolves.

* :func:`resolve_precision` / :func:`resolve_channels_last`: bf16 autocast where it was
  measured to pay (GPUs; ResNets and ViTs on CPUs with AVX-512 bf16), float32 otherwise;
* :func:`check_hardware`: the accelerator and strategy exist on this machine (a one-line
  error instead of Lightning's traceback);
* :func:`build_trainer`: the Trainer with atomic checkpoints, loggers and callbacks;
* :func:`refine_trainer`: the Trainer of ``infoclr refine`` (no loggers, no progress bar, an
  atomic checkpoint at the end of every epoch when asked for).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning as L
import torch

from infoclr.errors import ConfigError

__all__ = [
    "TrainData",
    "build_trainer",
    "check_hardware",
    "device_for",
    "quiet_lightning",
    "refine_precision",
    "refine_trainer",
    "resolve_channels_last",
    "resolve_precision",
    "torch_threads",
]


def _cpu_has_fast_bf16() -> bool:
    try:
        return (
            bool(torch.backends.mkldnn.is_available())
            and "AVX512" in (torch.backends.cpu.get_cpu_capability())
            and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        )
    except Exception:  # capability probes differ across builds; fall back to fp32
        return False


def _uses_gpu(accelerator: str) -> bool:
    return accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())


def resolve_precision(precision: str, accelerator: str, backbone: str) -> str:
    """The Lightning precision for ``"auto"``: bf16 autocast on GPUs and, for ResNets/ViTs, on
    CPUs with AVX-512 bf16 (ResNet-18 train step 35 → 84 img/s, docs/benchmarks.md); the
    small CNN for tiny images stays in float32."""
    if precision != "auto":
        return precision
    if _uses_gpu(accelerator) and torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "bf16-mixed" if _cpu_has_fast_bf16() and backbone != "smallcnn" else "32"


def resolve_channels_last(channels_last: bool | None, backbone: str, image_size: int) -> bool:
    """channels_last by default for infoclr's convnets (ResNets, the small CNN) on images of
    16 px and more, in any precision: measured faster on CPU (docs/benchmarks.md, "SimCLR on
    28 × 28 grey images"); on 8 px digits it gained about 5 %, so the main job keeps NCHW."""
    if channels_last is not None:
        return channels_last
    return (backbone.startswith("resnet") or backbone == "smallcnn") and image_size >= 16


def device_for(accelerator: str) -> torch.device:
    """The device the trained model is evaluated on."""
    return torch.device("cuda") if _uses_gpu(accelerator) else torch.device("cpu")


def check_hardware(accelerator: str, strategy: str, devices: int) -> None:
    """One-line ConfigError when the accelerator or strategy cannot run here."""
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"accelerator {accelerator!r} was requested but this machine has no CUDA GPU; "
            "use --accelerator cpu (or auto)"
        )
    if accelerator == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("accelerator 'mps' is not available here; use --accelerator cpu")
    if strategy != "auto":
        from lightning.pytorch.strategies import StrategyRegistry

        known = sorted(StrategyRegistry.available_strategies())
        if strategy not in known:
            raise ConfigError(
                f"unknown strategy {strategy!r}; use auto, ddp or ddp_spawn (Lightning knows: "
                f"{', '.join(known[:12])}, ...)"
            )
    if accelerator in ("gpu", "cuda") and devices > torch.cuda.device_count():
        raise ConfigError(
            f"devices={devices} but this machine has {torch.cuda.device_count()} GPU(s)"
        )


def quiet_lightning() -> None:
    """Silence Lightning's start-up chatter; infoclr prints its own summary."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    warnings.filterwarnings("ignore", ".*number of training batches.*")
    warnings.filterwarnings("ignore", ".*exists and is not empty.*")


def build_trainer(
    config: Any,
    run_dir: Path,
    callbacks: list[Any],
    loggers: list[Any],
    precision: str,
    progress: bool,
    steps_per_epoch: int,
) -> Any:
    """The Lightning Trainer of ``infoclr pretrain`` (``config`` is a PretrainConfig)."""
    from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar

    from infoclr.runs import checkpoint_io

    distributed = config.devices * config.num_nodes > 1
    on_cpu = device_for(config.accelerator).type == "cpu"
    strategy = config.strategy
    if strategy == "auto" and distributed:
        from infoclr.launch import launched_externally

        # Processes started by torchrun/srun (every multi-node run) join one group with
        # "ddp"; on one CPU machine Lightning spawns them itself.
        multi = config.num_nodes > 1 or launched_externally()
        strategy = "ddp" if multi or not on_cpu else "ddp_spawn"
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="last",
        save_last=False,
        save_top_k=1,
        every_n_epochs=1,
        enable_version_counter=False,
    )
    extra = [RichProgressBar(leave=True)] if progress else []
    return L.Trainer(
        max_epochs=config.epochs,
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=strategy,
        precision=precision,
        logger=loggers,
        callbacks=[checkpoint, *callbacks, *extra],
        plugins=[checkpoint_io()],
        default_root_dir=run_dir,
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=config.log_every_n_steps or min(50, steps_per_epoch),
        use_distributed_sampler=False,
        # SimCLR's global BatchNorm (statistics over the global batch) needs GPUs; on CPU
        # ranks each normalise their own shard.
        sync_batchnorm=distributed and not on_cpu,
        num_sanity_val_steps=0,
        deterministic=False,
    )


class TrainData(L.LightningDataModule):
    """Builds the training loader once Lightning has set up the process group, so that a
    DistributedSampler can read the world size and rank."""

    def __init__(
        self, data: Any, batch_size: int, seed: int, distributed: bool, num_workers: int = 0
    ) -> None:
        super().__init__()
        self.data, self.batch_size, self.seed = data, batch_size, seed
        self.distributed, self.num_workers = distributed, num_workers

    def train_dataloader(self) -> Any:
        from infoclr.data.loaders import train_loader

        return train_loader(
            self.data, self.batch_size, self.seed, self.distributed, self.num_workers
        )


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` torch CPU threads (None: unchanged); restored afterwards."""
    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def refine_precision(precision: str, device: str) -> str:
    """Lightning's precision for refine's ``"32"``, ``"bf16"`` or ``"auto"``: bf16 autocast on
    GPUs with bf16 and on CPUs with AVX-512 bf16, float32 elsewhere."""
    if precision == "auto":
        fast = (
            torch.cuda.is_available() and torch.cuda.is_bf16_supported()
            if device.startswith("cuda")
            else device == "cpu" and _cpu_has_fast_bf16()
        )
        precision = "bf16" if fast else "32"
    return "bf16-mixed" if precision == "bf16" else "32-true"


def refine_trainer(
    epochs: int,
    device: str,
    callbacks: list[Any],
    checkpoint: Path | None = None,
    precision: str = "32",
) -> L.Trainer:
    """The Trainer of ``infoclr refine``: ``epochs`` epochs on ``device`` (cpu, cuda[:i], mps).

    With ``checkpoint`` (a path ending in ``.ckpt``), the run is saved there atomically at the
    end of every epoch, after ``callbacks`` have scored the epoch. ``precision``: see
    :func:`refine_precision`.
    """
    from lightning.pytorch.callbacks import ModelCheckpoint

    from infoclr.runs import checkpoint_io

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("device 'cuda' was requested but CUDA is not available; use cpu")
        index = device.partition(":")[2]
        accelerator, devices = "gpu", [int(index)] if index else 1
    else:
        check_hardware(device, "auto", 1)
        accelerator, devices = device, 1
        # Lightning sets this at import (to keep CUDA out of forked workers); with it, every
        # torch.cuda.is_available() (one per Adam step) probes NVML: 100-200 µs instead of
        # 2.5 µs. A CPU run neither forks nor uses CUDA.
        os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)
    extra = []
    if checkpoint is not None:
        extra.append(
            ModelCheckpoint(
                dirpath=checkpoint.parent,
                filename=checkpoint.name.removesuffix(".ckpt"),
                save_top_k=1,
                every_n_epochs=1,
                save_on_train_epoch_end=True,
                enable_version_counter=False,
            )
        )
    quiet_lightning()
    return L.Trainer(
        max_epochs=epochs,
        accelerator=accelerator,
        devices=devices,
        precision=refine_precision(precision, device),
        logger=False,
        callbacks=[*callbacks, *extra],
        plugins=[checkpoint_io()],
        enable_checkpointing=checkpoint is not None,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,
    )
