"""The memory-bank loss module: a FIFO queue that is state (in the state dict), fed in
training mode only, equal to the pure function over its contents."""

from __future__ import annotations

from collections import deque

import pytest
import torch

from infoclr.functional import sup_con
from infoclr.losses import MemoryBank, MemoryBankLoss, NTXentLoss


def test_queue_keeps_the_newest_rows_like_a_deque() -> None:
    bank = MemoryBank(size=5, dim=2)
    reference: deque[tuple[float, int]] = deque(maxlen=5)
    counter = 0
    for n in (2, 3, 1, 4, 7, 2):
        rows = torch.arange(counter, counter + n, dtype=torch.float32)[:, None].repeat(1, 2)
        ids = torch.arange(counter, counter + n)
        bank.push(rows, ids)
        reference.extend((float(i), int(i)) for i in range(counter, counter + n))
        counter += n
        stored_rows, stored_ids = bank.contents()
        assert sorted(stored_ids.tolist()) == sorted(i for _, i in reference)
        assert sorted(stored_rows[:, 0].tolist()) == sorted(r for r, _ in reference)


def test_loss_uses_the_bank_then_enqueues_in_training_only() -> None:
    loss = MemoryBankLoss(memory_size=12, dim=4, temperature=0.2)
    first = torch.randn(6, 4)
    ids = torch.tensor([0, 1, 2, 0, 1, 2])
    assert loss(first, ids).item() == pytest.approx(
        sup_con(first, ids, 0.2, memory=(torch.zeros(0, 4), ids[:0])).item(), rel=1e-6
    )
    assert int(loss.memory.count) == 6
    second = torch.randn(6, 4)
    second_ids = torch.tensor([3, 4, 0, 3, 4, 0])
    expected = sup_con(second, second_ids, 0.2, memory=(first, ids))
    assert loss(second, second_ids).item() == pytest.approx(expected.item(), rel=1e-6)
    loss.eval()
    loss(torch.randn(6, 4), second_ids)
    assert int(loss.memory.count) == 12  # eval mode did not enqueue
    loss.reset_memory()
    assert int(loss.memory.count) == 0


def test_with_instance_ids_and_an_empty_bank_it_is_nt_xent() -> None:
    z1, z2 = torch.randn(5, 8), torch.randn(5, 8)
    index = torch.tensor([10, 11, 12, 13, 14])
    bank_loss = MemoryBankLoss(memory_size=32, dim=8, temperature=0.5)
    value = bank_loss(torch.cat([z1, z2]), torch.cat([index, index]))
    assert value.item() == pytest.approx(NTXentLoss(0.5)(z1, z2).item(), rel=1e-6)


def test_queue_is_in_the_state_dict_and_resumes_exactly() -> None:
    loss = MemoryBankLoss(memory_size=8, dim=3)
    for _ in range(3):
        loss(torch.randn(4, 3), torch.tensor([0, 1, 0, 1]))
    restored = MemoryBankLoss(memory_size=8, dim=3)
    restored.load_state_dict(loss.state_dict())
    assert int(restored.memory.pointer) == int(loss.memory.pointer) == 4
    assert int(restored.memory.count) == 8
    batch, ids = torch.randn(4, 3), torch.tensor([2, 3, 2, 3])
    assert restored(batch, ids).item() == loss(batch, ids).item()
    assert torch.equal(restored.memory.rows, loss.memory.rows)
