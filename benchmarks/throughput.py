"""SimCLR augmentation and training-step throughput, side by side in one run.

32 × 32 RGB uint8 images, 2048 held in memory, batch 256; ResNet-18 with a CIFAR stem and a
512 → 512 → 128 head, `infoclr.functional.nt_xent` (τ = 0.5), SGD. Measures (1) views per
second of `infoclr.augment.BatchViews`, of torchvision.transforms.v2 image by image (the usual
data-loader path) and of kornia (when installed), one distribution; (2) training steps in
images per second with views drawn on the fly and made ahead of time, alternating so that a
change in machine load hits both alike. The run is the row --run of the results file.

    python benchmarks/throughput.py --run cpu --both           # bf16 (where supported) and fp32
    python benchmarks/throughput.py --run h100 --device cuda --steps 20 --warmup 5 \\
        --view-repeats 30 --both --compile
    python benchmarks/throughput.py --quick                    # a smoke run, to /tmp
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from collections.abc import Callable

import common
import pandas as pd
from common import markdown

from infoclr.sweeps import machine

IMAGE_SIZE, RATES = 32, ["median", "low", "high"]


def view_makers(device, compile_with=None) -> list[tuple[str, Callable, str]]:
    """(name, batch → views, device it runs on) of each augmentation path, one distribution;
    with a ``compile_with`` batch, also the compiled BatchViews (compiled on that batch)."""
    import torch
    from torch import nn
    from torchvision.transforms import v2

    from infoclr.augment import BatchViews, ViewConfig

    c = ViewConfig.for_resolution(IMAGE_SIZE, channels=3)
    jitter = (c.brightness, c.contrast, c.saturation, c.hue)
    crop = v2.RandomResizedCrop(c.image_size, c.crop_scale, c.crop_ratio, antialias=True)
    colour = [v2.RandomApply([v2.ColorJitter(*jitter)], c.jitter_prob)]
    colour += [v2.RandomGrayscale(c.grayscale_prob), v2.ToDtype(torch.float32, scale=True)]
    flip, normalise = v2.RandomHorizontalFlip(c.flip_prob), v2.Normalize(c.mean, c.std)
    one = v2.Compose([crop, flip, *colour, normalise])
    makers = [("infoclr `BatchViews` (batched, per sample)", BatchViews(c), device.type)]
    if compile_with is not None:
        compiled, started = BatchViews(c, compiled=True), time.perf_counter()
        compiled(compile_with)
        seconds = time.perf_counter() - started
        name = f"infoclr `BatchViews(compiled=True)` ({seconds:.0f} s compile)"
        makers.append((name, compiled, device.type))
    per_image = lambda images: torch.stack([one(image) for image in images])  # noqa: E731
    makers.append(("torchvision v2, image by image, uint8 tensors", per_image, "cpu"))
    try:
        import kornia.augmentation as K
    except ImportError:
        return makers
    pipeline = nn.Sequential(
        K.RandomResizedCrop((c.image_size, c.image_size), scale=c.crop_scale, ratio=c.crop_ratio),
        K.RandomHorizontalFlip(p=c.flip_prob),
        K.ColorJitter(*jitter, p=c.jitter_prob),
        K.RandomGrayscale(p=c.grayscale_prob),
        K.Normalize(torch.tensor(c.mean), torch.tensor(c.std)),
    ).to(device)
    kornia = ("kornia.augmentation (batched, per sample)", lambda x: pipeline(x.float() / 255.0))
    return makers + [(*kornia, device.type)]


def clock(device, function: Callable, *inputs) -> float:
    """Seconds of one ``function(*inputs)`` call (waiting for the GPU's work to finish)."""
    import torch

    synchronise = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    synchronise()
    started = time.perf_counter()
    function(*inputs)
    synchronise()
    return time.perf_counter() - started


def rates(items: int, seconds: list[float]) -> dict[str, float]:
    """Items per second: at the median time, and of the slowest and the fastest call."""
    return (items / pd.Series(seconds).agg(["median", "max", "min"])).set_axis(RATES).to_dict()


def train_steps(device, use_bf16: bool, view: Callable) -> tuple[Callable, Callable]:
    """A fresh seeded model's SimCLR step on pre-made views, and on views drawn on the fly."""
    import torch
    import torchvision
    from torch import nn

    from infoclr.functional import nt_xent

    torch.manual_seed(0)
    backbone = torchvision.models.resnet18(num_classes=10)
    backbone.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    backbone.maxpool, backbone.fc = nn.Identity(), nn.Identity()
    head = nn.Sequential(nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Linear(512, 128))
    # channels_last is what lets oneDNN / cuDNN use their fast bf16 convolutions.
    memory = torch.channels_last if use_bf16 else torch.contiguous_format
    model = nn.Sequential(backbone, head).to(device, memory_format=memory)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.06, momentum=0.9, weight_decay=5e-4)

    def on_views(first, second) -> None:
        inputs = torch.cat([first, second]).contiguous(memory_format=memory)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            projections = model(inputs)
        loss = nt_xent(*projections.float().chunk(2), 0.5)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    return on_views, lambda images: on_views(view(images), view(images))


def measure(args: argparse.Namespace) -> dict:
    """Both tables' measurements: ``views`` and ``steps`` (rates in items per second)."""
    import torch

    from infoclr.methods.trainer import resolve_precision

    device, size = torch.device(args.device), args.batch_size
    generator = torch.Generator().manual_seed(0)
    shape = (args.n_images, 3, IMAGE_SIZE, IMAGE_SIZE)
    data = torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator).to(device)
    batches = [data[start : start + size] for start in range(0, len(data) - size + 1, size)]
    makers = view_makers(device, batches[0] if args.compile else None)
    views, steps = [], []
    for name, make, runs_on in makers:
        place = torch.device(runs_on)
        repeats = args.view_repeats if name.startswith("infoclr") else 3 if runs_on == "cpu" else 5
        inputs = [batches[i % len(batches)].to(place) for i in range(2 + repeats)]
        seconds = [clock(place, lambda x, f=make: (f(x), f(x)), x) for x in inputs][2:]
        views.append(dict(name=name, runs_on=runs_on, **rates(2 * size, seconds)))
    base = next(v["median"] for v in views if v["name"].startswith("torchvision"))
    views = [dict(v, speedup=v["median"] / base) for v in views]
    view = makers[1 if args.compile else 0][1]
    # bf16 where infoclr itself would train a ResNet in bf16 (its own capability check)
    supported = resolve_precision("auto", device.type, "resnet18") == "bf16-mixed"
    for use_bf16 in dict.fromkeys([supported, False] if args.both else [supported]):
        on_views, on_the_fly = train_steps(device, use_bf16, view)
        premade = [(view(images), view(images)) for images in batches[:2]]
        fly, ahead = [], []
        for index in range(args.warmup + args.steps):  # alternating: load changes hit both
            fly.append(clock(device, on_the_fly, batches[index % len(batches)]))
            ahead.append(clock(device, on_views, *premade[index % 2]))
        fly, ahead = rates(size, fly[args.warmup :]), rates(size, ahead[args.warmup :])
        precision = "bf16 autocast + channels_last" if use_bf16 else "fp32"
        steps.append(
            dict(precision=precision, fly=fly, ahead=ahead, ratio=fly["median"] / ahead["median"])
        )
    return dict(views=views, steps=steps)


VIEWS = "augmentation|runs on|views/s (median)|range|vs torchvision per image".split("|")
STEPS = "precision|views on the fly: img/s (median)|range|pre-made views: img/s (median)|range"
STEPS = [*STEPS.split("|"), "on the fly / pre-made"]


def tables(results: dict) -> dict[str, str]:
    """Per run: ``RUN-views`` and ``RUN-steps``."""

    median = lambda rates, digits: f"{rates['median']:,.{digits}f}"  # noqa: E731
    span = lambda rates: f"{rates['low']:,.0f}–{rates['high']:,.0f}"  # noqa: E731
    out = {}
    for row in results["rows"]:
        views = [
            [v["name"], v["runs_on"], median(v, 0), span(v), f"{v['speedup']:.1f}×"]
            for v in row["views"]
        ]
        steps = [
            [s["precision"], median(s["fly"], 1), span(s["fly"]), median(s["ahead"], 1)]
            + [span(s["ahead"]), f"{s['ratio']:.1%}"]
            for s in row["steps"]
        ]
        out[f"{row['key']}-views"] = markdown(VIEWS, views, "llrrr")
        out[f"{row['key']}-steps"] = markdown(STEPS, steps, "lrrrrr")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__, "throughput")
    add = parser.add_argument
    add("--run", default="cpu", help="the row's name: a rerun of the same name replaces it")
    add("--device", default="cpu", help="cpu or cuda")
    add("--batch-size", type=int, default=256)
    add("--n-images", type=int, default=2048, help="random images held in memory")
    add("--warmup", type=int, default=2, help="warm-up steps of each kind")
    add("--steps", type=int, default=6, help="timed training steps of each kind")
    add("--view-repeats", type=int, default=10, help="timed BatchViews batches")
    add("--both", action="store_true", help="time bf16 (where supported) and fp32 steps")
    add("--compile", action="store_true", help="also BatchViews(compiled=True), and train with it")
    add("--quick", action="store_true", help="tiny sizes, results to /tmp: proves the script")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_size, args.n_images, args.steps, args.view_repeats = 32, 64, 2, 2
        args.warmup, args.results = 1, "/tmp/infoclr-throughput-quick.json"
    started = time.perf_counter()
    row = dict(key=args.run, batch_size=args.batch_size, **measure(args))
    row.update(date=datetime.date.today().isoformat(), seconds=round(time.perf_counter() - started))
    row["machine"] = machine()
    if args.device == "cuda":
        import torch

        row["machine"]["gpu"] = torch.cuda.get_device_name(torch.device(args.device))
    common.results_file(args.results, argv).add(row)
    print("".join(f"\n{table}" for table in tables({"rows": [row]}).values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
