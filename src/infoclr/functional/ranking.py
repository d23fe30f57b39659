"""Ranking losses for retrieval: the multiple-negatives ranking loss (in-batch negatives).

For a batch of B (query, positive document) pairs, every other document of the batch is a
negative of query i, and so is every extra (hard) negative row:

    ℓ_i = −s(q_i, d_i) + log( Σ_j exp s(q_i, d_j) + Σ_m exp s(q_i, n_m) ),   s = cos / t

averaged over the B queries. This is the InfoNCE / N-pair form (Sohn 2016; Oord et al. 2018)
that Henderson et al. 2017 ("Efficient Natural Language Response Suggestion for Smart Reply")
named the multiple-negatives ranking loss, and that sentence-transformers'
``MultipleNegativesRankingLoss`` computes (with ``scale = 1 / t``, default scale 20, t = 0.05).

One addition: when a batch holds the same document twice (two queries with one answer), the
second copy is not a negative of the first query. Pass ``document_ids`` to drop such columns.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from infoclr.errors import InfoclrError
from infoclr.functional.contrastive import check_ids, check_rows, check_temperature

__all__ = ["multiple_negatives_ranking"]


def multiple_negatives_ranking(
    queries: Tensor,
    documents: Tensor,
    negatives: Tensor | None = None,
    temperature: float = 0.05,
    document_ids: Tensor | None = None,
    negative_ids: Tensor | None = None,
    check_finite: bool = True,
) -> Tensor:
    """Multiple-negatives ranking loss with in-batch negatives (see the module docstring).

    Args:
        queries: (B, D) query vectors; normalised inside (cosine similarity).
        documents: (B, D) vectors of each query's positive document (row i answers query i);
            every other row is a negative of query i.
        negatives: optional (M, D) extra negatives (e.g. one hard negative per query), shared
            by every query of the batch, as sentence-transformers does.
        temperature: t > 0 (sentence-transformers' scale 20 is t = 0.05).
        document_ids: optional (B,) integer ids of the documents: a column holding the same
            document as query i's positive is not a negative of query i.
        negative_ids: optional (M,) integer ids of ``negatives`` (needs ``document_ids``):
            an extra negative that is query i's positive document is dropped for query i.
        check_finite: raise on NaN/inf inputs.

    Returns:
        Scalar loss (float32), the mean over the B queries.
    """
    check_rows("queries", queries, check_finite, min_rows=1)
    check_rows("documents", documents, check_finite, min_rows=1)
    check_temperature(temperature)
    if documents.shape != queries.shape:
        raise InfoclrError(
            f"queries and documents must have the same shape (row i of documents answers "
            f"query i), got {tuple(queries.shape)} and {tuple(documents.shape)}"
        )
    batch = queries.shape[0]
    if document_ids is not None:
        check_ids("document_ids", document_ids, batch)
    if negatives is not None:
        check_rows("negatives", negatives, check_finite, min_rows=1)
        if negatives.shape[1] != queries.shape[1]:
            raise InfoclrError(
                f"negatives have {negatives.shape[1]} dimensions but queries have "
                f"{queries.shape[1]}"
            )
        if negative_ids is not None:
            check_ids("negative_ids", negative_ids, negatives.shape[0])
            if document_ids is None:
                raise InfoclrError("negative_ids needs document_ids (the positives' ids)")
    elif negative_ids is not None:
        raise InfoclrError("negative_ids were given without negatives")
    with torch.autocast(device_type=queries.device.type, enabled=False):
        q = F.normalize(queries.float(), dim=1)
        candidates = documents.float() if negatives is None else torch.cat([documents, negatives])
        c = F.normalize(candidates.float(), dim=1)
        logits = q @ c.t() / temperature
        if document_ids is not None:
            positives = document_ids.to(logits.device)
            same = torch.zeros_like(logits, dtype=torch.bool)
            same[:, :batch] = positives[None, :] == positives[:, None]
            same[torch.arange(batch), torch.arange(batch)] = False
            if negative_ids is not None:
                same[:, batch:] = negative_ids.to(logits.device)[None, :] == positives[:, None]
            logits = logits.masked_fill(same, float("-inf"))
        target = torch.arange(batch, device=logits.device)
        return F.cross_entropy(logits, target)
