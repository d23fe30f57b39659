"""Retrieval loss module: the multiple-negatives ranking loss around
:func:`infoclr.functional.multiple_negatives_ranking`."""

from __future__ import annotations

from torch import Tensor, nn

from infoclr.functional.contrastive import check_temperature
from infoclr.functional.ranking import multiple_negatives_ranking

__all__ = ["MultipleNegativesRankingLoss"]


class MultipleNegativesRankingLoss(nn.Module):
    """In-batch-negatives ranking loss (Henderson et al. 2017; sentence-transformers' form).

    ``forward(queries, documents, negatives=None, document_ids=None, negative_ids=None)``:
    queries and documents (B, D), row i of documents answering query i; optional (M, D) hard
    negatives shared by the batch. Returns the scalar mean over queries of
    ``−s(q_i, d_i) + log Σ_c exp s(q_i, c)``, ``s = cos / temperature``, c over the batch's
    documents and negatives (copies of query i's own document excluded when ids are given).

    Negatives come from this process's batch only (no gathering across ranks).

    Args:
        temperature: t > 0; sentence-transformers' default scale 20 is t = 0.05.
        check_finite: raise on NaN/inf inputs; off by default, as every loss module (a
            device sync per step).
    """

    def __init__(self, temperature: float = 0.05, check_finite: bool = False) -> None:
        super().__init__()
        check_temperature(temperature)
        self.temperature = float(temperature)
        self.check_finite = check_finite

    def forward(
        self,
        queries: Tensor,
        documents: Tensor,
        negatives: Tensor | None = None,
        document_ids: Tensor | None = None,
        negative_ids: Tensor | None = None,
    ) -> Tensor:
        return multiple_negatives_ranking(
            queries,
            documents,
            negatives,
            self.temperature,
            document_ids,
            negative_ids,
            self.check_finite,
        )

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
