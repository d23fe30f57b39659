"""`infoclr embed` throughput as a ratio to the bare forward pass of the same backbone (on views
made ahead of time); embed adds batching, the evaluation view and streaming to .npy/.parquet.
The three alternate (infoclr.sweeps.interleaved); best of --repeats.

    python benchmarks/embed_throughput.py --repeats 3
"""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI: no spinning on shared cores
import common  # noqa: E402
import torch  # noqa: E402

from infoclr.augment import EvalView, ViewConfig  # noqa: E402
from infoclr.data import load_dataset  # noqa: E402
from infoclr.embed import EmbedConfig, embed  # noqa: E402
from infoclr.models import build_backbone  # noqa: E402
from infoclr.sweeps import interleaved  # noqa: E402


def measure(n: int, batch_size: int, repeats: int, backbones: list[str]) -> dict:
    data = load_dataset("shapes", "train", n=n, image_size=32)
    views = EvalView(ViewConfig.for_resolution(32, 3))(data.tensors())
    results: dict = {"n": len(data), "batch_size": batch_size}
    count = itertools.count()  # a fresh output file for every embed call
    with tempfile.TemporaryDirectory() as folder:
        for name in backbones:
            backbone = build_backbone(name, 3, 32).eval()
            torch.save(backbone.export_state_dict(), weights := Path(folder) / f"{name}.pt")

            def bare(backbone=backbone) -> None:
                with torch.inference_mode():
                    for lo in range(0, len(views), batch_size):
                        backbone(views[lo : lo + batch_size])

            def embedding(kind: str, name: str = name, weights: Path = weights) -> float:
                out = Path(folder) / f"{name}-{next(count)}.{kind}"
                config = EmbedConfig(weights=str(weights), backbone=name, dataset="shapes",
                                     data_options={"n": n}, split="train", out=str(out),
                                     batch_size=batch_size)  # fmt: skip
                return embed(config, progress=False).seconds

            calls = {"bare": bare, **{k: lambda k=k: embedding(k) for k in ("npy", "parquet")}}
            best = {k: min(v["wall"]) for k, v in interleaved(calls, repeats).items()}
            results[name] = {f"{k}_images_per_second": len(data) / v for k, v in best.items()}
            results[name].update(ratio_npy=best["bare"] / best["npy"])
            results[name].update(ratio_parquet=best["bare"] / best["parquet"])
    return results


def tables(results: dict) -> dict[str, str]:
    header = [f"backbone (shapes 32 px, {results['n']} images, batch {results['batch_size']})"]
    header += ["bare forward (img/s)", "embed → .npy (img/s)", "ratio"]
    header += ["embed → .parquet (img/s)", "ratio"]
    rows = [
        [name, f"{r['bare_images_per_second']:.0f}", f"{r['npy_images_per_second']:.0f}"]
        + [f"{r['ratio_npy']:.2f}", f"{r['parquet_images_per_second']:.0f}"]
        + [f"{r['ratio_parquet']:.2f}"]
        for name, r in results.items()
        if isinstance(r, dict)
    ]
    return {"ratio": common.markdown(header, rows)}


if __name__ == "__main__":
    parser = common.parser(__doc__, "embed_throughput")
    for flag, default in (("--n", 2000), ("--batch-size", 256), ("--repeats", 3)):
        parser.add_argument(flag, type=int, default=default)
    parser.add_argument("--backbones", nargs="+", default=["smallcnn", "resnet18"])
    args = parser.parse_args()
    measured = measure(args.n, args.batch_size, args.repeats, args.backbones)
    common.save(args.results, measured, tables)
