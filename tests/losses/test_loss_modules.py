"""What every loss module shares: no per-step device sync unless asked for."""

from __future__ import annotations

import pytest
import torch

from infoclr import losses
from infoclr.errors import InfoclrError

MODULES = {
    "NTXentLoss": lambda **kw: losses.NTXentLoss(**kw),
    "SupConLoss": lambda **kw: losses.SupConLoss(**kw),
    "ClInfoNCELoss": lambda **kw: losses.ClInfoNCELoss(**kw),
    "PartialSupConLoss": lambda **kw: losses.PartialSupConLoss(**kw),
    "MemoryBankLoss": lambda **kw: losses.MemoryBankLoss(8, 4, **kw),
    "MultipleNegativesRankingLoss": lambda **kw: losses.MultipleNegativesRankingLoss(**kw),
}


def _call(name: str, module: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    ids = torch.tensor([0, 1, 0, 1])
    if name in ("SupConLoss", "MemoryBankLoss"):
        return module(torch.cat([z, z]), torch.cat([ids, ids]))
    if name in ("ClInfoNCELoss", "PartialSupConLoss"):
        return module(z, z.flip(0), ids)
    return module(z, z.flip(0))


@pytest.mark.parametrize("name", sorted(MODULES))
def test_the_finiteness_check_is_off_by_default_and_on_when_asked(name: str) -> None:
    z = torch.randn(4, 4)
    z[0, 0] = float("nan")
    assert not MODULES[name]().check_finite
    _call(name, MODULES[name](), z)  # no check, no raise: training stops on the loss instead
    with pytest.raises(InfoclrError, match="finite|NaN|nan|inf"):
        _call(name, MODULES[name](check_finite=True), z)
