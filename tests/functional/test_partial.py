"""Partially labelled SupCon against a loop over the formula."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from infoclr.errors import InfoclrError
from infoclr.functional import nt_xent, partial_sup_con, singleton_ids, sup_con


def reference_partial(z1: torch.Tensor, z2: torch.Tensor, labels: list[int], t: float) -> float:
    """All 2B views are anchors; positives: the own other view, and every view of a row with
    the same known label."""
    z = F.normalize(torch.cat([z1, z2]).double(), dim=1)
    b = z1.shape[0]
    row = [i % b for i in range(2 * b)]
    total = 0.0
    for a in range(2 * b):
        positives = [
            p
            for p in range(2 * b)
            if p != a
            and (row[p] == row[a] or (labels[row[a]] >= 0 and labels[row[p]] == labels[row[a]]))
        ]
        denom = math.log(sum(math.exp(float(z[a] @ z[j]) / t) for j in range(2 * b) if j != a))
        total += -sum(float(z[a] @ z[p]) / t - denom for p in positives) / len(positives)
    return total / (2 * b)


@pytest.mark.parametrize("b", [2, 9, 20])
@pytest.mark.parametrize("t", [0.1, 0.5])
def test_matches_loop_reference(b: int, t: float) -> None:
    z1, z2 = torch.randn(b, 6), torch.randn(b, 6)
    labels = torch.randint(-1, 3, (b,))
    expected = reference_partial(z1, z2, labels.tolist(), t)
    assert partial_sup_con(z1, z2, labels, t).item() == pytest.approx(expected, rel=1e-5)
    chunked = partial_sup_con(z1, z2, labels, t, chunk_size=3).item()
    assert chunked == pytest.approx(expected, rel=1e-5)


def test_all_unknown_is_nt_xent_and_all_known_is_sup_con() -> None:
    z1, z2 = torch.randn(10, 4), torch.randn(10, 4)
    unknown = torch.full((10,), -1)
    assert partial_sup_con(z1, z2, unknown, 0.2).item() == pytest.approx(
        nt_xent(z1, z2, 0.2).item(), rel=1e-6
    )
    labels = torch.randint(0, 3, (10,))
    both = sup_con(torch.cat([z1, z2]), torch.cat([labels, labels]), 0.2)
    assert partial_sup_con(z1, z2, labels, 0.2).item() == pytest.approx(both.item(), rel=1e-6)


def test_singleton_ids() -> None:
    ids = singleton_ids(torch.tensor([3, -1, 0, -1]), offset=5)
    assert ids[0] == 3 and ids[2] == 0
    assert ids[1] != ids[3] and min(ids[1], ids[3]) >= 2**40 + 5
    with pytest.raises(InfoclrError, match="-1 for an unknown"):
        singleton_ids(torch.tensor([0, -2]))
    with pytest.raises(InfoclrError, match="one per row"):
        partial_sup_con(torch.randn(3, 2), torch.randn(3, 2), torch.zeros(6, dtype=torch.long))
