"""Loss modules: configuration and distributed behaviour around :mod:`infoclr.functional`."""

from infoclr.losses.contrastive import ClInfoNCELoss, NTXentLoss, SupConLoss
from infoclr.losses.memory import MemoryBank, MemoryBankLoss
from infoclr.losses.partial import PartialSupConLoss
from infoclr.losses.ranking import MultipleNegativesRankingLoss

__all__ = [
    "ClInfoNCELoss",
    "MemoryBank",
    "MemoryBankLoss",
    "MultipleNegativesRankingLoss",
    "NTXentLoss",
    "PartialSupConLoss",
    "SupConLoss",
]
