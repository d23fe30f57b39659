from __future__ import annotations

import importlib
import importlib.util
import os
import sys

# Before torch/faiss load OpenMP: with more threads than free cores (2-core CI machines, parallel
# jobs), spinning OpenMP workers slow every call many times over.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present beside the repository")
    return SHARED


@pytest.fixture
def load_benchmark():
    """Import ``benchmarks/<name>.py`` as a module (benchmarks/ is not a package).

    The sibling helpers (``_sweep``, ``_datasets``) are imported under their own names, as the
    benchmarks import them, so that worker processes can unpickle their functions.
    """
    folder = REPO / "benchmarks"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

    def load(name: str):
        if name.startswith("_"):
            return importlib.import_module(name)
        spec = importlib.util.spec_from_file_location(f"bench_{name}", folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        assert spec.loader is not None
        sys.modules[spec.name] = module  # dataclasses look their module up while being defined
        spec.loader.exec_module(module)
        return module

    return load
