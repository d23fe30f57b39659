"""SimCLR augmentation and training-step throughput, in one run; prints markdown tables.

Setup (the one in the task brief): 32 × 32 RGB uint8 images, N = 2048 held in memory, batch 256,
ResNet-18 with a CIFAR stem (3 × 3 conv1, no max-pool, no fc) and a 512 → 512 → 128 projection
head, SimCLR NT-Xent (``infoclr.functional.nt_xent``, τ = 0.5), SGD.

1. Views per second (two views of each image of the batch) of ``infoclr.augment.BatchViews``,
   of torchvision.transforms.v2 applied image by image to uint8 tensors (the usual data-loader
   path), and of kornia's batched augmentation with the same distribution.
2. Training steps (views + forward + backward + optimiser step) in images per second, next to
   the same step on views made ahead of time. The two kinds of step alternate, so a change in
   machine load hits both alike.

    python benchmarks/throughput.py                       # CPU; bf16 + channels_last if supported
    python benchmarks/throughput.py --both                # also the fp32 training step
    python benchmarks/throughput.py --device cuda --steps 20 --compile --both
    python benchmarks/throughput.py --markdown docs/benchmarks-throughput.md

This is a script, not a test: it trains for a few steps and takes minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torchvision
from torch import Tensor, nn
from torchvision.transforms import v2

from infoclr.augment import BatchViews, ViewConfig
from infoclr.functional import nt_xent

IMAGE_SIZE = 32
TEMPERATURE = 0.5


def view_config() -> ViewConfig:
    """The SimCLR CIFAR distribution that all three augmentation paths draw from."""
    return ViewConfig.for_resolution(IMAGE_SIZE, channels=3)


def torchvision_per_image(config: ViewConfig) -> Callable[[Tensor], Tensor]:
    """torchvision v2 on one uint8 (3, H, W) tensor at a time, stacked into a batch."""
    transform = v2.Compose(
        [
            v2.RandomResizedCrop(
                config.image_size, scale=config.crop_scale, ratio=config.crop_ratio, antialias=True
            ),
            v2.RandomHorizontalFlip(config.flip_prob),
            v2.RandomApply(
                [v2.ColorJitter(config.brightness, config.contrast, config.saturation, config.hue)],
                p=config.jitter_prob,
            ),
            v2.RandomGrayscale(config.grayscale_prob),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(list(config.mean), list(config.std)),
        ]
    )
    return lambda images: torch.stack([transform(image) for image in images.cpu()])


def kornia_batched(config: ViewConfig, device: torch.device) -> Callable[[Tensor], Tensor] | None:
    """kornia's batched, per-sample augmentation with the same distribution (None if absent)."""
    try:
        import kornia.augmentation as K
    except ImportError:
        return None
    jitter = (config.brightness, config.contrast, config.saturation, config.hue)
    pipeline = nn.Sequential(
        K.RandomResizedCrop(
            (config.image_size, config.image_size), scale=config.crop_scale, ratio=config.crop_ratio
        ),
        K.RandomHorizontalFlip(p=config.flip_prob),
        K.ColorJitter(*jitter, p=config.jitter_prob),
        K.RandomGrayscale(p=config.grayscale_prob),
        K.Normalize(torch.tensor(config.mean), torch.tensor(config.std)),
    ).to(device)
    return lambda images: pipeline(images.to(torch.float32) / 255.0)


def cifar_resnet18(projection_dim: int = 128) -> nn.Module:
    """ResNet-18 with the CIFAR stem plus a 512 → 512 → projection_dim head."""
    backbone = torchvision.models.resnet18(num_classes=10)
    backbone.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    backbone.maxpool = nn.Identity()
    backbone.fc = nn.Identity()
    head = nn.Sequential(nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Linear(512, projection_dim))
    return nn.Sequential(backbone, head)


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def time_views(
    make_views: Callable[[Tensor], Tensor],
    data: Tensor,
    batch_size: int,
    device: torch.device,
    repeats: int,
    warmup: int = 2,
) -> list[float]:
    """Seconds per batch for two views of each of ``batch_size`` images, one entry per repeat."""
    seconds = []
    for index in range(warmup + repeats):
        start_row = (index * batch_size) % data.shape[0]
        batch = data[start_row : start_row + batch_size]
        synchronise(device)
        start = time.perf_counter()
        first, second = make_views(batch), make_views(batch)
        synchronise(device)
        if index >= warmup:
            seconds.append(time.perf_counter() - start)
        del first, second
    return seconds


class Trainer:
    """One SimCLR training step, either augmenting on the fly or on views made ahead."""

    def __init__(self, device: torch.device, use_bf16: bool, views: BatchViews) -> None:
        torch.manual_seed(0)
        self.device = device
        self.use_bf16 = use_bf16
        self.views = views
        # channels_last is what lets oneDNN/cuDNN use their fast bf16 convolutions.
        self.memory_format = torch.channels_last if use_bf16 else torch.contiguous_format
        self.model = cifar_resnet18().to(device, memory_format=self.memory_format)
        self.optimiser = torch.optim.SGD(
            self.model.parameters(), lr=0.06, momentum=0.9, weight_decay=5e-4
        )

    def step_on_views(self, first: Tensor, second: Tensor) -> float:
        inputs = torch.cat([first, second]).contiguous(memory_format=self.memory_format)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16):
            projections = self.model(inputs)
        first_z, second_z = projections.float().chunk(2)
        loss = nt_xent(first_z, second_z, TEMPERATURE)
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser.step()
        return loss.item()

    def step_with_augmentation(self, images: Tensor) -> float:
        return self.step_on_views(self.views(images), self.views(images))


def time_training(
    trainer: Trainer,
    data: Tensor,
    batch_size: int,
    warmup: int,
    steps: int,
) -> tuple[list[float], list[float]]:
    """Alternate on-the-fly and pre-made steps; seconds per step of each kind."""
    device = trainer.device
    # Views for the pre-made steps are drawn once, before any timing.
    premade = []
    for start_row in range(0, 2 * batch_size, batch_size):
        batch = data[start_row : start_row + batch_size]
        premade.append((trainer.views(batch), trainer.views(batch)))
    on_the_fly, made_ahead = [], []
    for index in range(warmup + steps):
        start_row = (index * batch_size) % data.shape[0]
        batch = data[start_row : start_row + batch_size]
        synchronise(device)
        start = time.perf_counter()
        trainer.step_with_augmentation(batch)
        synchronise(device)
        middle = time.perf_counter()
        trainer.step_on_views(*premade[index % len(premade)])
        synchronise(device)
        end = time.perf_counter()
        if index >= warmup:
            on_the_fly.append(middle - start)
            made_ahead.append(end - middle)
    return on_the_fly, made_ahead


def _median_rate(items: int, seconds: list[float]) -> float:
    return items / statistics.median(seconds)


def _spread(items: int, seconds: list[float]) -> str:
    rates = sorted(items / s for s in seconds)
    return f"{rates[0]:,.0f}–{rates[-1]:,.0f}"


def run(args: argparse.Namespace) -> str:
    device = torch.device(args.device)
    generator = torch.Generator().manual_seed(0)
    data = torch.randint(
        0, 256, (args.n_images, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=torch.uint8, generator=generator
    ).to(device)
    config = view_config()
    ours = BatchViews(config)
    lines: list[str] = []

    def emit(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    # 1. Views per second.
    views_per_batch = 2 * args.batch_size
    candidates: list[tuple[str, Callable[[Tensor], Tensor], int, str]] = [
        ("infoclr `BatchViews` (batched, per sample)", ours, args.view_repeats, device.type),
        ("torchvision v2, image by image, uint8 tensors", torchvision_per_image(config), 3, "cpu"),
    ]
    if args.compile:
        compiled = BatchViews(config, compiled=True)
        synchronise(device)
        started = time.perf_counter()
        compiled(data[: args.batch_size])
        synchronise(device)
        compile_seconds = time.perf_counter() - started
        candidates.insert(
            1,
            (
                f"infoclr `BatchViews(compiled=True)` ({compile_seconds:.0f} s compile)",
                compiled,
                args.view_repeats,
                device.type,
            ),
        )
        # The training step then uses the compiled views too.
        ours = compiled
    kornia = kornia_batched(config, device)
    if kornia is not None:
        candidates.append(("kornia.augmentation (batched, per sample)", kornia, 5, device.type))
    emit(f"### SimCLR views, {IMAGE_SIZE}×{IMAGE_SIZE} RGB uint8, batch {args.batch_size}")
    emit()
    emit("| augmentation | runs on | views/s (median) | range | vs torchvision per image |")
    emit("|---|---|---:|---:|---:|")
    rates: dict[str, float] = {}
    spreads: dict[str, str] = {}
    for name, make_views, repeats, runs_on in candidates:
        source = data.cpu() if runs_on == "cpu" else data
        seconds = time_views(make_views, source, args.batch_size, torch.device(runs_on), repeats)
        rates[name] = _median_rate(views_per_batch, seconds)
        spreads[name] = _spread(views_per_batch, seconds)
    baseline = rates[next(name for name in rates if name.startswith("torchvision"))]
    for name, _, _, runs_on in candidates:
        emit(
            f"| {name} | {runs_on} | {rates[name]:,.0f} | {spreads[name]} | "
            f"{rates[name] / baseline:.1f}× |"
        )
    emit()

    # 2. Training steps.
    if args.both:
        settings = [True, False] if bf16_supported(device) else [False]
    else:
        use_bf16 = bf16_supported(device) if args.bf16 is None else args.bf16
        settings = [use_bf16]
    emit(
        f"### SimCLR training step, ResNet-18 (CIFAR stem) + 512→512→128 head, "
        f"batch {args.batch_size} ({2 * args.batch_size} views), {device.type}"
    )
    emit()
    emit(
        "| precision | views on the fly: img/s (median) | range | pre-made views: img/s "
        "(median) | range | on the fly / pre-made |"
    )
    emit("|---|---:|---:|---:|---:|---:|")
    for use_bf16 in settings:
        trainer = Trainer(device, use_bf16, ours)
        on_the_fly, made_ahead = time_training(
            trainer, data, args.batch_size, args.warmup, args.steps
        )
        fly, ahead = (_median_rate(args.batch_size, s) for s in (on_the_fly, made_ahead))
        label = "bf16 autocast + channels_last" if use_bf16 else "fp32"
        emit(
            f"| {label} | {fly:,.1f} | {_spread(args.batch_size, on_the_fly)} | {ahead:,.1f} | "
            f"{_spread(args.batch_size, made_ahead)} | {fly / ahead:.1%} |"
        )
        del trainer
    emit()
    emit(
        f"{args.steps} timed steps of each kind after {args.warmup} warm-up steps, alternating; "
        f"img/s counts input images ({args.batch_size} per step), each giving two views."
    )
    return "\n".join(lines)


def usable_cores() -> int:
    """Cores this process may run on (a taskset or container limit, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def machine_description(device: torch.device) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    text = (
        f"{cpu}, {usable_cores()} usable CPU cores (of {os.cpu_count()}), "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads, "
        f"torchvision {torchvision.__version__}"
    )
    if device.type == "cuda":
        text += f", GPU {torch.cuda.get_device_name(device)}"
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--n-images", type=int, default=2048, help="random images held in memory")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up steps of each kind")
    parser.add_argument("--steps", type=int, default=6, help="timed training steps of each kind")
    parser.add_argument("--view-repeats", type=int, default=10, help="timed BatchViews batches")
    parser.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bf16 autocast + channels_last (default: on where the device supports bf16)",
    )
    parser.add_argument("--both", action="store_true", help="time bf16 and fp32 training steps")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="also time BatchViews(compiled=True) and train with it (pays on GPUs, not on CPU)",
    )
    parser.add_argument("--markdown", help="also write the tables, dated, to this file")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda given but torch sees no CUDA device")

    started = time.perf_counter()
    tables = run(args)
    elapsed = time.perf_counter() - started
    print(f"\n(total {elapsed:.0f} s)")
    if args.markdown:
        command = "python benchmarks/throughput.py " + " ".join(
            sys.argv[1:] if argv is None else argv
        )
        machine = machine_description(torch.device(args.device))
        header = [
            "# Throughput: batched SimCLR views and the training step",
            "",
            f"Measured {datetime.date.today().isoformat()} on {machine}.",
            f"Command: `{command.strip()}` (script time {elapsed:.0f} s).",
            "",
        ]
        with open(args.markdown, "w") as handle:
            handle.write("\n".join(header) + "\n" + tables + "\n")


if __name__ == "__main__":
    main()
