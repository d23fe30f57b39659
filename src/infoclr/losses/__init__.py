"""Loss modules: configuration and distributed behaviour around :mod:`infoclr.functional`."""

from infoclr.losses.contrastive import ClInfoNCELoss, NTXentLoss, SupConLoss
from infoclr.losses.memory import MemoryBank, MemoryBankLoss

__all__ = ["ClInfoNCELoss", "MemoryBank", "MemoryBankLoss", "NTXentLoss", "SupConLoss"]
