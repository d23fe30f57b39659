"""Backbones from other libraries and from any ``nn.Module`` factory.

:func:`external_constructor` turns a prefixed name (see :mod:`infoclr.models.registry`) into a
constructor ``(in_channels, image_size, **options) -> nn.Module``:

* ``timm:NAME``: ``timm.create_model(NAME, pretrained=False, num_classes=0)``, whose output is
  the pooled feature vector;
* ``torchvision:NAME``: ``torchvision.models.get_model(NAME, weights=None)`` with the last
  linear layer of its classifier (``fc``, ``classifier``, ``heads`` or ``head``) replaced by
  ``nn.Identity``;
* ``package.module:factory``: ``factory()`` called with ``in_channels`` and ``image_size``
  where it accepts them; a module that already is an infoclr backbone (``feature_dim``,
  ``export_state_dict``, ``load_exported``) is used as it is.

Every other module is wrapped in :class:`WrappedBackbone`, which gives it the backbone
interface. Weights are never downloaded: pretrained weights are the user's choice, through
``--init`` (:mod:`infoclr.models.init`).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from infoclr.errors import ConfigError

__all__ = ["WrappedBackbone", "external_constructor", "strip_classifier"]

_HEADS = ("fc", "classifier", "heads", "head")


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:160] or type(error).__name__


class WrappedBackbone(nn.Module):
    """Any module mapping images to features, with infoclr's backbone interface.

    ``forward``: images (B, C, H, W) → features (B, feature_dim); outputs with more than two
    dimensions (an unpooled (B, D, 1, 1)) are flattened. Grey images are repeated to three
    channels when the module was built for RGB (``repeat_grey``), so that RGB weights fit.
    ``export_state_dict()`` is the wrapped module's own state dict: a timm or torchvision
    checkpoint of the same architecture loads into it, less the classifier keys.

    Args:
        model: the module.
        in_channels, image_size: the images it will see; one probe batch (eval mode, no
            gradient) finds ``feature_dim`` and whether grey images need repeating.
        source: the backbone name, for messages.
    """

    def __init__(self, model: nn.Module, in_channels: int, image_size: int, source: str) -> None:
        super().__init__()
        self.model = model
        self.source = source
        self.in_channels = in_channels
        self.repeat_grey = False
        self.feature_dim = self._probe(in_channels, image_size)

    def _run(self, channels: int, image_size: int) -> Tensor:
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                return self.model(torch.zeros(2, channels, image_size, image_size))
        finally:
            self.model.train(was_training)

    def _probe(self, in_channels: int, image_size: int) -> int:
        try:
            output = self._run(in_channels, image_size)
        except Exception as first:  # noqa: BLE001 - any module may raise anything
            if in_channels != 1:
                raise self._unfit(image_size, first) from None
            try:
                output = self._run(3, image_size)
            except Exception:  # noqa: BLE001
                raise self._unfit(image_size, first) from None
            self.repeat_grey = True
        if not isinstance(output, Tensor) or output.dim() < 2 or output.shape[0] != 2:
            shape = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
            raise ConfigError(
                f"backbone {self.source} returns {shape} for a batch of 2 images; a backbone "
                "must return (batch, features)"
            )
        return int(output.flatten(1).shape[1])

    def _unfit(self, image_size: int, error: BaseException) -> ConfigError:
        return ConfigError(
            f"backbone {self.source} cannot take {self.in_channels}x{image_size}x{image_size} "
            f"images ({_one_line(error)}); choose a backbone for this image size"
        )

    def forward(self, images: Tensor) -> Tensor:
        if self.repeat_grey and images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        output = self.model(images)
        return output.flatten(1) if output.dim() > 2 else output

    def export_state_dict(self) -> dict[str, Tensor]:
        return self.model.state_dict()

    def load_exported(self, state: dict[str, Tensor]) -> None:
        self.model.load_state_dict(state, strict=True)


def strip_classifier(model: nn.Module, source: str) -> nn.Module:
    """Replace the last linear layer of ``model``'s classifier with ``nn.Identity``, so that
    the model returns penultimate features (torchvision's layout: ``fc``, ``classifier``,
    ``heads`` or ``head``)."""
    for attribute in _HEADS:
        head = getattr(model, attribute, None)
        if isinstance(head, nn.Linear):
            setattr(model, attribute, nn.Identity())
            return model
        if isinstance(head, nn.Module):
            linear = [
                name for name, module in head.named_modules() if isinstance(module, nn.Linear)
            ]
            if linear:
                parent_name, _, child = linear[-1].rpartition(".")
                parent = head.get_submodule(parent_name) if parent_name else head
                setattr(parent, child, nn.Identity())
                return model
    raise ConfigError(
        f"backbone {source} has no classifier named {', '.join(_HEADS)} to remove; wrap it in "
        "a factory (package.module:function) that returns the feature extractor"
    )


def _with_size(build: Callable[..., nn.Module], image_size: int, **kwargs: Any) -> nn.Module:
    # Transformers take their input size as an argument; convnets refuse the keyword.
    try:
        return build(**kwargs, img_size=image_size)
    except TypeError:
        return build(**kwargs)


def _timm(model: str, in_channels: int, image_size: int, **_: object) -> nn.Module:
    import timm

    source = f"timm:{model}"
    try:
        # in_chans=3 keeps RGB checkpoints loadable; grey images are repeated.
        net = _with_size(
            timm.create_model, image_size, model_name=model, pretrained=False, num_classes=0
        )
    except ConfigError:
        raise
    except Exception as error:  # noqa: BLE001 - timm raises many types
        raise ConfigError(f"cannot build {source} ({_one_line(error)})") from None
    return WrappedBackbone(net, in_channels, image_size, source)


def _torchvision(model: str, in_channels: int, image_size: int, **_: object) -> nn.Module:
    import torchvision

    source = f"torchvision:{model}"

    def build(img_size: int | None = None, **kwargs: Any) -> nn.Module:
        extra = {} if img_size is None else {"image_size": img_size}
        return torchvision.models.get_model(model, weights=None, **kwargs, **extra)

    try:
        net = _with_size(build, image_size)
    except Exception as error:  # noqa: BLE001
        raise ConfigError(f"cannot build {source} ({_one_line(error)})") from None
    return WrappedBackbone(strip_classifier(net, source), in_channels, image_size, source)


def _is_backbone(module: nn.Module) -> bool:
    return all(hasattr(module, a) for a in ("feature_dim", "export_state_dict", "load_exported"))


def _factory(path: str, in_channels: int, image_size: int, **_: object) -> nn.Module:
    module_name, attribute = path.split(":", 1)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - the user's module may raise anything
        raise ConfigError(f"cannot import {module_name!r} ({_one_line(error)})") from None
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ConfigError(f"{module_name!r} has no callable {attribute!r}; check the name")
    parameters = inspect.signature(factory).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    offered = {"in_channels": in_channels, "image_size": image_size}
    kwargs = {k: v for k, v in offered.items() if takes_any or k in parameters}
    try:
        net = factory(**kwargs)
    except Exception as error:  # noqa: BLE001
        raise ConfigError(f"backbone factory {path} failed ({_one_line(error)})") from None
    if not isinstance(net, nn.Module):
        raise ConfigError(
            f"backbone factory {path} returned {type(net).__name__}, not a torch nn.Module"
        )
    return net if _is_backbone(net) else WrappedBackbone(net, in_channels, image_size, path)


def external_constructor(name: str) -> Callable[..., nn.Module]:
    """The constructor ``(in_channels, image_size, **options)`` of a prefixed backbone name
    (checked by :func:`~infoclr.models.registry.check_backbone_name`)."""
    prefix, rest = name.split(":", 1)
    if prefix == "timm":
        return functools.partial(_timm, rest)
    if prefix == "torchvision":
        return functools.partial(_torchvision, rest)
    return functools.partial(_factory, name)
