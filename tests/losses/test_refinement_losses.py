"""The loss modules for refinement reach the same numbers as their functional forms."""

from __future__ import annotations

import pytest
import torch

from infoclr.functional import multiple_negatives_ranking, partial_sup_con
from infoclr.losses import MultipleNegativesRankingLoss, PartialSupConLoss


def test_partial_sup_con_module_equals_function() -> None:
    z1, z2 = torch.randn(12, 5), torch.randn(12, 5)
    labels = torch.tensor([0, 0, 1, -1, -1, 2, 1, -1, 0, 2, -1, 1])
    module = PartialSupConLoss(temperature=0.3, chunk_size=4)
    assert module(z1, z2, labels).item() == pytest.approx(
        partial_sup_con(z1, z2, labels, 0.3).item(), rel=1e-6
    )


def test_ranking_module_equals_function() -> None:
    q, d, n = torch.randn(8, 4), torch.randn(8, 4), torch.randn(3, 4)
    ids = torch.tensor([0, 1, 2, 2, 3, 4, 5, 6])
    module = MultipleNegativesRankingLoss(temperature=0.1)
    expected = multiple_negatives_ranking(q, d, n, 0.1, ids)
    assert module(q, d, n, document_ids=ids).item() == pytest.approx(expected.item(), rel=1e-6)
