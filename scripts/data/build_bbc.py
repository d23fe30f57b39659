"""Build BBC News embeddings + headline->article retrieval pairs into /work/data/bbc_<model>/.

    python build_bbc.py --model minilm   # -> /work/data/bbc_minilm  (also texts, pairs, full text)
    python build_bbc.py --model mpnet    # -> /work/data/bbc_mpnet   (same row order)

Rows are the 2,225 articles in the order of common.bbc_articles() (sorted topic, sorted file),
identical to infoclr's scripts/data/make_bbc_embeddings.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import defaultdict

import numpy as np
from common import DATA, bbc_articles, encode, load_encoder, write_json, write_lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["minilm", "mpnet", "paraL3"], required=True)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--no-fulltext", action="store_true", help="skip headline+body embeddings")
    args = ap.parse_args()

    t0 = time.perf_counter()
    rows, topics = bbc_articles()
    out = DATA / f"bbc_{args.model}"
    out.mkdir(parents=True, exist_ok=True)
    ids = [r["id"] for r in rows]
    labels = np.array([r["label"] for r in rows], dtype=np.int64)

    # ---- metadata (identical in every bbc_<model> dir)
    write_lines(out / "ids.txt", ids)
    write_lines(out / "labels.txt", labels.tolist())
    np.save(out / "labels.npy", labels)
    write_json(out / "topics.json", topics)
    write_lines(out / "query_ids.txt", [f"q:{i}" for i in ids])

    # exact-duplicate bodies: BBC News has 2,225 files but fewer distinct articles
    groups: dict[str, list[int]] = defaultdict(list)
    for k, r in enumerate(rows):
        groups[hashlib.sha1(r["body"].encode()).hexdigest()].append(k)
    canonical = np.arange(len(rows))
    for members in groups.values():
        for k in members:
            canonical[k] = members[0]
    with open(out / "duplicates.csv", "w") as fh:
        fh.write("id,canonical_id\n")
        for k, c in enumerate(canonical):
            if c != k:
                fh.write(f"{ids[k]},{ids[c]}\n")
    unique_mask = canonical == np.arange(len(rows))
    np.save(out / "unique_mask.npy", unique_mask)

    with open(out / "pairs.csv", "w") as fh:  # one positive per query: its own article
        fh.write("query_id,positive_id\n")
        for i in ids:
            fh.write(f"q:{i},{i}\n")
    with open(out / "pairs_all_positives.csv", "w") as fh:  # + every exact duplicate of the body
        fh.write("query_id,positive_id\n")
        for k, i in enumerate(ids):
            for j in groups[hashlib.sha1(rows[k]["body"].encode()).hexdigest()]:
                fh.write(f"q:{i},{ids[j]}\n")

    if args.model == "minilm":
        with open(out / "articles.jsonl", "w") as fh:
            for r in rows:
                fh.write(
                    json.dumps(
                        {k: r[k] for k in ("id", "topic", "label", "headline", "body")},
                        ensure_ascii=False,
                    )
                    + "\n"
                )

    # ---- embeddings
    model = load_encoder(args.model)
    timing: dict = {"model": args.model, "max_seq_length": model.max_seq_length}
    emb, timing["body"] = encode(model, [r["body"] for r in rows], args.batch_size, "bodies")
    np.save(out / "embeddings.npy", emb)
    hemb, timing["headline"] = encode(
        model, [r["headline"] for r in rows], args.batch_size, "headlines"
    )
    np.save(out / "headline_embeddings.npy", hemb)
    if not args.no_fulltext:
        femb, timing["fulltext"] = encode(
            model, [r["text"] for r in rows], args.batch_size, "full text"
        )
        np.save(out / "fulltext_embeddings.npy", femb)

    # ---- sanity numbers (recorded, not a benchmark)
    sims = hemb @ emb.T
    rank = (sims > sims[np.arange(len(rows)), np.arange(len(rows))][:, None]).sum(1)
    # count a retrieved exact duplicate as a hit
    top1 = sims.argmax(1)
    timing["headline_to_body_recall@1_own"] = round(float((rank == 0).mean()), 4)
    timing["headline_to_body_recall@1_dup_ok"] = round(
        float((canonical[top1] == canonical).mean()), 4
    )
    timing["headline_to_body_mrr_own"] = round(float((1.0 / (rank + 1)).mean()), 4)
    timing["n_articles"] = len(rows)
    timing["n_unique_bodies"] = int(unique_mask.sum())
    timing["wall_seconds"] = round(time.perf_counter() - t0, 1)
    write_json(out / "build_info.json", timing)
    print(json.dumps(timing, indent=2))


if __name__ == "__main__":
    main()
