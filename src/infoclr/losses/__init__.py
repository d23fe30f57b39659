"""Loss modules: configuration and distributed behaviour around :mod:`infoclr.functional`."""

from infoclr.losses.contrastive import ClInfoNCELoss, NTXentLoss, SupConLoss

__all__ = ["ClInfoNCELoss", "NTXentLoss", "SupConLoss"]
