"""Start a model from saved weights (``--init``), with a report of what was loaded.

Accepted sources:

* a backbone state dict (``backbone.pt`` of an infoclr run, a torchvision or timm checkpoint
  of the same architecture, ``.pt`` / ``.pth`` / ``.bin`` / ``.safetensors``). Keys follow the
  backbone's :meth:`export_state_dict` names; classifier keys (``fc.*``) are reported as
  unexpected and skipped. Common wrappers are undone: a ``state_dict`` / ``model`` /
  ``model_state_dict`` entry, and a ``module.`` prefix (DDP);
* a whole-model state dict (keys ``backbone.*`` and ``projector.*``, such as a Lightning
  checkpoint's ``state_dict``): the backbone and the projection head both load;
* an infoclr run folder: its ``checkpoints/last.ckpt`` (backbone and projection head), else its
  ``backbone.pt``.

Tensors of the wrong shape, or a file none of whose tensors fit, are a one-line
:class:`~infoclr.errors.DataError` (weights of another architecture). Keys the model has and the
file lacks stay as initialised (``missing``); keys the file has and the model lacks are skipped
(``unexpected``); both are listed in the :class:`InitReport`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from infoclr.errors import DataError

__all__ = ["InitReport", "init_model", "load_init_state", "read_weights"]

_WRAPPERS = ("state_dict", "model", "model_state_dict", "module", "net")
#: The parts of an infoclr model that a whole-model state dict initialises.
MODEL_PARTS = ("backbone.", "projector.")


@dataclass
class InitReport:
    """What ``--init`` loaded: tensor counts and the keys that did not match."""

    path: str
    loaded: int
    total: int
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    parts: str = "backbone"

    def summary(self) -> str:
        """One line for the console."""

        def listed(keys: list[str]) -> str:
            shown = ", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
            return f"{len(keys)} ({shown})" if keys else "0"

        return (
            f"init: loaded {self.loaded} of {self.total} {self.parts} tensors from {self.path}; "
            f"missing (left as initialised): {listed(self.missing)}; unexpected (skipped): "
            f"{listed(self.unexpected)}"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_state(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in value.items())
    )


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises many types for a bad file
        reason = " ".join(str(error).split())[:100] or type(error).__name__
        raise DataError(
            f"cannot read weights from {path} ({reason}); give a state dict saved with "
            "torch.save (or a .safetensors file)"
        ) from None


def read_weights(path: str | Path) -> tuple[dict[str, Tensor], Path]:
    """The flat ``{name: tensor}`` state dict stored at ``path`` (a file or an infoclr run
    folder), with wrappers undone, and the file it came from."""
    path = Path(path).expanduser()
    if path.is_dir():
        candidates = [path / "checkpoints" / "last.ckpt", path / "backbone.pt"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise DataError(
                f"{path} is a folder without checkpoints/last.ckpt or backbone.pt; give an "
                "infoclr run folder or a weights file"
            )
        path = found
    elif not path.is_file():
        raise DataError(f"weights file {path} does not exist; check the path")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise DataError(
                f"{path} is a .safetensors file and safetensors is not installed; "
                "pip install safetensors"
            ) from None
        try:
            payload: Any = load_file(str(path))
        except Exception as error:  # noqa: BLE001
            raise DataError(f"cannot read {path} as safetensors ({error})") from None
    else:
        payload = _torch_load(path)
    for _ in range(3):
        if _is_state(payload):
            break
        if isinstance(payload, dict):
            inner = next((payload[k] for k in _WRAPPERS if isinstance(payload.get(k), dict)), None)
            if inner is not None:
                payload = inner
                continue
        break
    if not _is_state(payload):
        raise DataError(
            f"{path} holds no state dict ({type(payload).__name__}); give a file saved with "
            "torch.save(model.state_dict(), path)"
        )
    state = {k: v for k, v in payload.items() if isinstance(v, Tensor)}
    if all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state, path


def load_init_state(
    expected: dict[str, Tensor], given: dict[str, Tensor], source: str, what: str
) -> tuple[dict[str, Tensor], InitReport]:
    """Merge ``given`` into ``expected`` (both ``{name: tensor}``), checking shapes.

    Returns the merged state (every expected key; the given tensor where there is one) and
    the report. Raises DataError for a shape mismatch or when no key matches.
    """
    matched = [k for k in expected if k in given]
    wrong = [k for k in matched if tuple(given[k].shape) != tuple(expected[k].shape)]
    if wrong:
        first = wrong[0]
        raise DataError(
            f"{source} does not fit the {what}: {len(wrong)} tensor(s) have another shape "
            f"(first: {first!r} is {list(given[first].shape)} there, "
            f"{list(expected[first].shape)} here); pass weights of the same architecture"
        )
    if not matched:
        theirs = next(iter(given), "?")
        ours = next(iter(expected), "?")
        raise DataError(
            f"{source} does not fit the {what}: none of its {len(given)} tensors has a name "
            f"the model knows (it has {theirs!r}, the model {ours!r}); pass weights of the same "
            "architecture"
        )
    merged = dict(expected)
    for key in matched:
        merged[key] = given[key].to(dtype=expected[key].dtype)
    report = InitReport(
        path=source,
        loaded=len(matched),
        total=len(expected),
        missing=[k for k in expected if k not in given],
        unexpected=[k for k in given if k not in expected],
    )
    return merged, report


def init_model(model: nn.Module, path: str | Path) -> InitReport:
    """Load the weights at ``path`` into ``model`` (an infoclr ContrastiveMethod, or any module
    with a ``backbone`` attribute); see the module docstring for the accepted sources."""
    state, source = read_weights(path)
    backbone = model.backbone
    if any(k.startswith("backbone.") for k in state):
        # A whole-model state dict: backbone and projection head, in the model's own names.
        own = {k: v for k, v in model.state_dict().items() if k.startswith(MODEL_PARTS)}
        given = {k: v for k, v in state.items() if k.startswith(MODEL_PARTS)}
        merged, report = load_init_state(own, given, str(source), "model")
        report.unexpected += [k for k in state if not k.startswith(MODEL_PARTS)]
        report.parts = "backbone and projection-head"
        model.load_state_dict(merged, strict=False)
        return report
    expected = backbone.export_state_dict()
    merged, report = load_init_state(expected, state, str(source), "backbone")
    backbone.load_exported(merged)
    return report
