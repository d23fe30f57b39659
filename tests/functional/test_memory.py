"""sup_con with a memory bank against a Python loop over its formula."""

from __future__ import annotations

import pytest
import torch

from infoclr.errors import InfoclrError
from infoclr.functional import sup_con


def loop_reference(
    features: torch.Tensor,
    ids: list[int],
    memory: torch.Tensor,
    memory_ids: list[int],
    temperature: float,
) -> torch.Tensor:
    """ℓ_a = −(1/|P(a)|) Σ_p [s(a,p) − log Σ_{b∈A(a)} exp s(a,b)], one anchor at a time."""
    z = torch.nn.functional.normalize(features.double(), dim=1)
    bank = torch.nn.functional.normalize(memory.double(), dim=1)
    columns = [(z[j], ids[j], j) for j in range(len(ids))]
    columns += [(bank[k], memory_ids[k], None) for k in range(len(memory_ids))]
    losses = []
    for a in range(len(ids)):
        others = [(vec, gid) for vec, gid, j in columns if j != a]
        denominator = torch.log(sum(torch.exp(z[a] @ vec / temperature) for vec, _ in others))
        positives = [z[a] @ vec / temperature for vec, gid in others if gid == ids[a]]
        if positives:
            losses.append(-sum(p - denominator for p in positives) / len(positives))
    return sum(losses) / len(losses)


@pytest.mark.parametrize("chunk_size", [None, 3])
def test_equals_loop_reference(chunk_size: int | None) -> None:
    features = torch.randn(10, 6)
    ids = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]
    memory = torch.randn(7, 6)
    memory_ids = [0, 9, 9, 2, 8, 1, 7]
    loss = sup_con(
        features,
        torch.tensor(ids),
        temperature=0.3,
        chunk_size=chunk_size,
        memory=(memory, torch.tensor(memory_ids)),
    )
    expected = loop_reference(features, ids, memory, memory_ids, 0.3)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_gradient_equals_loop_reference_and_skips_the_bank() -> None:
    features = torch.randn(8, 5, dtype=torch.float64, requires_grad=True)
    memory = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    ids = [0, 1, 2, 3, 0, 1, 2, 3]
    memory_ids = [0, 5, 6, 1, 7, 8]
    sup_con(
        features, torch.tensor(ids), temperature=0.5, memory=(memory, torch.tensor(memory_ids))
    ).backward()
    got = features.grad.clone()
    assert memory.grad is None  # the bank holds constants
    features.grad = None
    loop_reference(features, ids, memory.detach(), memory_ids, 0.5).backward()
    assert torch.allclose(got, features.grad, atol=1e-8)


def test_empty_bank_is_supcon_and_the_bank_changes_the_loss() -> None:
    features = torch.randn(8, 4)
    ids = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    empty = sup_con(features, ids, memory=(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long)))
    assert empty.item() == pytest.approx(sup_con(features, ids).item(), rel=1e-6)
    fuller = sup_con(features, ids, memory=(torch.randn(16, 4), torch.arange(10, 26)))
    assert fuller.item() > empty.item() + 1e-3  # more negatives, larger denominators


def test_input_checks() -> None:
    features, ids = torch.randn(4, 3), torch.tensor([0, 1, 0, 1])
    with pytest.raises(InfoclrError, match=r"memory rows must be \(K, 3\)"):
        sup_con(features, ids, memory=(torch.randn(2, 5), torch.tensor([0, 1])))
    with pytest.raises(InfoclrError, match="memory ids has 1 entries for 2 rows"):
        sup_con(features, ids, memory=(torch.randn(2, 3), torch.tensor([0])))
    with pytest.raises(InfoclrError, match="group_ids has 3 entries for 4 rows"):
        sup_con(features, ids[:3])


def test_a_bank_of_another_dtype_keeps_the_features_dtype() -> None:
    features, ids = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    bank = torch.randn(5, 4, dtype=torch.float64)
    loss = sup_con(features, ids, memory=(bank, torch.arange(5)))
    assert loss.dtype == torch.float32
    same = sup_con(features, ids, memory=(bank.float(), torch.arange(5)))
    assert loss.item() == pytest.approx(same.item(), rel=1e-6)
