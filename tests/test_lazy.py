"""lazy_exports: the one helper behind the packages' lazy members."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from infoclr._lazy import lazy_exports


def _package(name: str, **values: object) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(values)
    sys.modules[name] = module
    return module


def test_lazy_exports_all_dir_and_getattr() -> None:
    package = _package("infoclr_lazy_probe", eager_value=1)
    try:
        getattr_, dir_, all_ = lazy_exports(
            package.__name__, eager="eager_value", path="join split", errno="ENOENT"
        )
        assert all_ == ["eager_value", "join", "split", "ENOENT"]
        assert {"eager_value", "join", "ENOENT"} <= set(dir_())
        with pytest.raises(ModuleNotFoundError):  # infoclr_lazy_probe.path does not exist
            getattr_("join")
        with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
            getattr_("nothing")
    finally:
        del sys.modules[package.__name__]


def test_lazy_exports_rejects_an_eager_name_not_imported() -> None:
    package = _package("infoclr_lazy_probe2")
    try:
        with pytest.raises(ImportError, match=r"lists \['missing'\] as imported"):
            lazy_exports(package.__name__, eager="missing")
    finally:
        del sys.modules[package.__name__]


def test_packages_list_their_lazy_members_without_importing_torch() -> None:
    code = (
        "import sys, infoclr.data, infoclr.methods, infoclr.models, infoclr.augment, "
        "infoclr.clusters, infoclr.evaluation\n"
        "assert 'torch' not in sys.modules\n"
        "assert 'BatchViews' in dir(infoclr.augment) and 'ViewConfig' in infoclr.augment.__all__\n"
        "assert 'load_dataset' in infoclr.data.__all__ and 'SimCLR' in infoclr.methods.__all__\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
