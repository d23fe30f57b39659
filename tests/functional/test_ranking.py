"""Multiple-negatives ranking loss against a loop over the formula."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from infoclr.errors import InfoclrError
from infoclr.functional import multiple_negatives_ranking


def reference_mnrl(q, d, negatives=None, t=0.05, doc_ids=None, neg_ids=None) -> float:
    """One query at a time, in float64: −s(q_i, d_i) + log Σ_candidates exp s(q_i, c)."""
    q = F.normalize(q.double(), dim=1)
    candidates = [F.normalize(d.double(), dim=1)]
    if negatives is not None:
        candidates.append(F.normalize(negatives.double(), dim=1))
    c = torch.cat(candidates)
    ids = None
    if doc_ids is not None:
        extra = (
            []
            if negatives is None
            else ([None] * len(negatives) if neg_ids is None else list(neg_ids.tolist()))
        )
        ids = list(doc_ids.tolist()) + extra
    total = 0.0
    for i in range(q.shape[0]):
        terms = []
        for j in range(c.shape[0]):
            if ids is not None and j != i and ids[j] is not None and ids[j] == ids[i]:
                continue
            terms.append(math.exp(float(q[i] @ c[j]) / t))
        total += -float(q[i] @ c[i]) / t + math.log(sum(terms))
    return total / q.shape[0]


@pytest.mark.parametrize("b,d", [(1, 3), (5, 4), (16, 8)])
@pytest.mark.parametrize("t", [0.05, 0.2, 1.0])
def test_matches_loop_reference(b: int, d: int, t: float) -> None:
    q, docs = torch.randn(b, d), torch.randn(b, d)
    got = multiple_negatives_ranking(q, docs, temperature=t).item()
    assert got == pytest.approx(reference_mnrl(q, docs, t=t), rel=1e-5, abs=1e-5)


def test_hard_negatives_and_duplicate_documents() -> None:
    q, docs, negatives = torch.randn(6, 5), torch.randn(6, 5), torch.randn(4, 5)
    doc_ids = torch.tensor([0, 1, 1, 2, 3, 0])  # queries 1, 2 and 0, 5 share a document
    neg_ids = torch.tensor([7, 2, 8, 1])  # negative 1 is query 3's answer, 3 is queries 1-2's
    expected = reference_mnrl(q, docs, negatives, 0.1, doc_ids, neg_ids)
    got = multiple_negatives_ranking(q, docs, negatives, 0.1, doc_ids, neg_ids).item()
    assert got == pytest.approx(expected, rel=1e-5)
    plain = reference_mnrl(q, docs, negatives, 0.1)
    assert multiple_negatives_ranking(q, docs, negatives, 0.1).item() == pytest.approx(
        plain, rel=1e-5
    )
    # Dropping a duplicate column lowers the loss of the queries that shared it.
    assert got < plain


def test_gradient_matches_reference_autograd() -> None:
    q = torch.randn(7, 4, dtype=torch.float64, requires_grad=True)
    docs = torch.randn(7, 4, dtype=torch.float64)
    multiple_negatives_ranking(q, docs, temperature=0.3).backward()
    q2 = q.detach().clone().requires_grad_(True)
    logits = F.normalize(q2, dim=1) @ F.normalize(docs, dim=1).t() / 0.3
    F.cross_entropy(logits, torch.arange(7)).backward()
    torch.testing.assert_close(q.grad.float(), q2.grad.float(), rtol=1e-5, atol=1e-6)


def test_bad_inputs_raise_one_line() -> None:
    with pytest.raises(InfoclrError, match="same shape"):
        multiple_negatives_ranking(torch.randn(3, 4), torch.randn(4, 4))
    with pytest.raises(InfoclrError, match="negative_ids needs document_ids"):
        multiple_negatives_ranking(
            torch.randn(3, 4),
            torch.randn(3, 4),
            torch.randn(2, 4),
            negative_ids=torch.ones(2).long(),
        )
    with pytest.raises(InfoclrError, match="dimensions"):
        multiple_negatives_ranking(torch.randn(3, 4), torch.randn(3, 4), torch.randn(2, 5))
