"""Loss modules: configuration and distributed behaviour around :mod:`infoclr.functional`."""

from infoclr.losses.contrastive import ClInfoNCELoss, NTXentLoss, SupConLoss
from infoclr.losses.partial import PartialSupConLoss
from infoclr.losses.ranking import MultipleNegativesRankingLoss

__all__ = [
    "ClInfoNCELoss",
    "MultipleNegativesRankingLoss",
    "NTXentLoss",
    "PartialSupConLoss",
    "SupConLoss",
]
