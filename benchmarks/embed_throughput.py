"""`infoclr embed` throughput as a ratio to the bare forward pass of the same backbone (on views
made ahead of time); embed adds batching, the evaluation view and streaming to .npy/.parquet.
The three alternate; best of --repeats.  python benchmarks/embed_throughput.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI: no spinning on shared cores
import torch

from infoclr.augment import EvalView, ViewConfig
from infoclr.data import load_dataset
from infoclr.embed import EmbedConfig, embed
from infoclr.models import build_backbone

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results" / "embed_throughput.json"


def measure(args: argparse.Namespace) -> dict:
    data = load_dataset("shapes", "train", n=args.n, image_size=32)
    views = EvalView(ViewConfig.for_resolution(32, 3))(data.tensors())
    results: dict = {"n": len(data), "batch_size": args.batch_size}
    with tempfile.TemporaryDirectory() as folder:
        for name in args.backbones:
            backbone = build_backbone(name, 3, 32).eval()
            torch.save(backbone.export_state_dict(), weights := Path(folder) / f"{name}.pt")
            best = {"bare": float("inf"), "npy": float("inf"), "parquet": float("inf")}
            for repeat in range(args.repeats):
                started = time.perf_counter()
                with torch.inference_mode():
                    for lo in range(0, len(views), args.batch_size):
                        backbone(views[lo : lo + args.batch_size])
                best["bare"] = min(best["bare"], time.perf_counter() - started)
                for kind in ("npy", "parquet"):
                    out = Path(folder) / f"{name}-{repeat}-{kind}.{kind}"
                    config = EmbedConfig(weights=str(weights), backbone=name, dataset="shapes",
                                         data_options={"n": args.n}, split="train", out=str(out),
                                         batch_size=args.batch_size)  # fmt: skip
                    best[kind] = min(best[kind], embed(config, progress=False).seconds)
            results[name] = {f"{k}_images_per_second": len(data) / v for k, v in best.items()}
            results[name].update(ratio_npy=best["bare"] / best["npy"])
            results[name].update(ratio_parquet=best["bare"] / best["parquet"])
    return results


def tables(results: dict) -> dict[str, str]:
    rows = [
        f"| backbone (shapes 32 px, {results['n']} images, batch {results['batch_size']}) | bare "
        "forward (img/s) | embed → .npy (img/s) | ratio | embed → .parquet (img/s) | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if isinstance(r, dict):
            rows.append(
                f"| {name} | {r['bare_images_per_second']:.0f} | {r['npy_images_per_second']:.0f}"
                f" | {r['ratio_npy']:.2f} | {r['parquet_images_per_second']:.0f} | "
                f"{r['ratio_parquet']:.2f} |"
            )
    return {"ratio": "\n".join(rows)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for flag, default in (("--n", 2000), ("--batch-size", 256), ("--repeats", 3)):
        parser.add_argument(flag, type=int, default=default)
    parser.add_argument("--backbones", nargs="+", default=["smallcnn", "resnet18"])
    measured = measure(parser.parse_args())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(measured, indent=2) + "\n")
    print(tables(measured)["ratio"])
