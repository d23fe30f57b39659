"""lazy_exports: the packages' lazy members, listed once in their __init__.pyi stubs."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from infoclr._lazy import lazy_exports

PACKAGES = [
    "adapters",
    "augment",
    "clusters",
    "data",
    "evaluation",
    "functional",
    "methods",
    "models",
    "refine",
]


def test_lazy_exports_reads_the_stub(tmp_path: Path) -> None:
    (tmp_path / "__init__.pyi").write_text(
        "from os.path import join as join, split as sep\nfrom .missing import gone as gone\n"
    )
    package = types.ModuleType("infoclr_lazy_probe")
    package.__file__ = str(tmp_path / "__init__.py")
    package.eager_value = 1
    sys.modules[package.__name__] = package
    try:
        getattr_, dir_, all_ = lazy_exports(package.__name__)
        assert all_ == ["join", "sep", "gone"]
        assert {"eager_value", "join", "gone"} <= set(dir_())
        assert getattr_("join") is importlib.import_module("os.path").join
        assert getattr_("sep") is importlib.import_module("os.path").split  # `split as sep`
        with pytest.raises(ModuleNotFoundError):  # infoclr_lazy_probe.missing does not exist
            getattr_("gone")
        with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
            getattr_("nothing")
    finally:
        del sys.modules[package.__name__]


def test_a_package_without_its_stub_fails_to_import(tmp_path: Path) -> None:
    package = types.ModuleType("infoclr_lazy_probe2")
    package.__file__ = str(tmp_path / "__init__.py")
    sys.modules[package.__name__] = package
    try:
        with pytest.raises(ImportError, match=r"no __init__.pyi"):
            lazy_exports(package.__name__)
    finally:
        del sys.modules[package.__name__]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_listed_member_resolves(name: str) -> None:
    package = importlib.import_module(f"infoclr.{name}")
    for member in package.__all__:
        value = getattr(package, member)
        assert value is not None and not isinstance(value, types.ModuleType), member


def test_packages_list_their_lazy_members_without_importing_torch() -> None:
    code = (
        "import sys, infoclr.data, infoclr.methods, infoclr.models, infoclr.augment, "
        "infoclr.clusters, infoclr.evaluation, infoclr.functional\n"
        "assert 'torch' not in sys.modules\n"
        "assert 'BatchViews' in dir(infoclr.augment) and 'ViewConfig' in infoclr.augment.__all__\n"
        "assert 'load_dataset' in infoclr.data.__all__ and 'SimCLR' in infoclr.methods.__all__\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", PACKAGES)
def test_no_member_is_named_like_a_submodule(name: str) -> None:
    # importing infoclr.<name>.<sub> sets the package's <sub> to the module, hiding a member
    # of that name (clusters.kmeans, the function, was hidden so before it moved to faiss_kmeans)
    package = importlib.import_module(f"infoclr.{name}")
    submodules = {info.name for info in pkgutil.iter_modules(package.__path__)}
    assert not submodules & set(package.__all__)
