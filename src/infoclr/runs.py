"""Run folders and outputs that are never lost: atomic claims, resume, atomic sets of files.

Both jobs use this module:

* :func:`claim_run_dir` gives every new run a folder of its own, even when several processes
  start together: a folder is claimed with one atomic ``mkdir``, never chosen by looking first;
* :func:`find_resumable` finds the newest unfinished run with a checkpoint, and
  :class:`RunLock` keeps two processes from training into the same folder;
* :func:`check_writable` and :func:`check_new_outputs` refuse unwritable or existing outputs
  before any work starts;
* :class:`OutputSet` writes several files as one set: all are staged as temporary files, a
  journal records the renames, and the renames run last, so a kill leaves either the old state
  or (after :meth:`OutputSet.recover`, which every later run calls) the whole new set.

No torch is imported here; :func:`checkpoint_io` imports Lightning when it is called.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any

from infoclr.errors import ConfigError, DataError
from infoclr.io import atomic_write_text

__all__ = [
    "check_run_folder",
    "load_run_weights",
    "OutputSet",
    "RunLock",
    "check_new_outputs",
    "check_writable",
    "check_resume_record",
    "checkpoint_io",
    "claim_run_dir",
    "csv_log_version",
    "find_resumable",
    "is_complete",
]

COMPLETE_MARKER = "metrics.json"
CHECKPOINT = Path("checkpoints") / "last.ckpt"


def is_complete(run_dir: Path) -> bool:
    """A run is complete once its ``metrics.json`` exists (it is written last)."""
    return (run_dir / COMPLETE_MARKER).is_file()


def _numbered(root: Path, base: str) -> list[Path]:
    """``root/base`` and every ``root/base-N``, in N order."""
    numbered = sorted(
        (p for p in root.glob(f"{base}-*") if p.name[len(base) + 1 :].isdigit()),
        key=lambda p: int(p.name[len(base) + 1 :]),
    )
    return [root / base, *numbered]


def _writable(path: Path) -> bool:
    """Whether this process may create files in / write ``path`` (tests replace it to act out
    a read-only folder, which root cannot otherwise see)."""
    return os.access(path, os.W_OK | os.X_OK if Path(path).is_dir() else os.W_OK)


def check_writable(folder: Path, what: str = "output folder") -> None:
    """ConfigError unless ``folder`` can be created or written: checked before any work."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{what} {str(folder)!r} is a file, not a folder; choose a folder")
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"{what} {str(folder)!r} lies under the file {str(probe)!r}")
    if not _writable(probe):
        raise ConfigError(
            f"{what} {str(folder)!r} is not writable (no write permission on {str(probe)!r}); "
            "choose another folder"
        )


def check_new_outputs(paths: Iterable[Path], overwrite: bool) -> None:
    """ConfigError when an output exists (unless ``overwrite``), is a folder, or cannot be
    written; checked before any work."""
    for path in paths:
        path = Path(path)
        if path.is_dir():
            raise ConfigError(f"output {str(path)!r} is a folder; give a file name")
        if path.exists() and not overwrite:
            raise ConfigError(
                f"output {str(path)!r} already exists; choose another path or pass --overwrite"
            )
        check_writable(path.parent)
        if path.exists() and not _writable(path):
            raise ConfigError(f"output {str(path)!r} is read-only; choose another path")


def claim_run_dir(root: Path, base: str) -> Path:
    """Create and return a new run folder ``root/base`` or ``root/base-N`` (first free N).

    The claim is one ``mkdir``, which the file system performs atomically: of several
    processes that start together, each gets a folder of its own.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    suffix = 1
    while True:
        candidate = root / (base if suffix == 1 else f"{base}-{suffix}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            suffix += 1


def find_resumable(root: Path, base: str) -> tuple[Path, Path]:
    """The newest unfinished run named ``base`` under ``root`` and its checkpoint."""
    for run_dir in reversed([p for p in _numbered(Path(root), base) if p.exists()]):
        ckpt = run_dir / CHECKPOINT
        if not is_complete(run_dir) and ckpt.is_file():
            return run_dir, ckpt
    raise ConfigError(
        f"nothing to resume: no unfinished run named {base!r} with a checkpoint under "
        f"{str(root)!r}; drop --resume to start a new run"
    )


class RunLock:
    """An exclusive lock on a run folder for as long as a process trains into it.

    ``acquire`` raises a one-line ConfigError when another live process holds it (two
    ``--resume`` of the same run, or a resume of a run that is still going).
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / ".lock"
        self._handle: IO[str] | None = None

    def acquire(self) -> RunLock:
        import fcntl

        handle = open(self.path, "a+")  # noqa: SIM115 - held for the run's lifetime
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise ConfigError(
                f"run folder {str(self.path.parent)!r} is in use by another infoclr process; "
                "wait for it to finish or stop it first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def csv_log_version(run_dir: Path, resumed: bool) -> str:
    """The CSV logger's folder name: ``csv``, or ``csv-partN`` for the N-th part of a resumed
    run (a resumed run logs beside, not over, the log of the part before the stop)."""
    if not resumed:
        return "csv"
    part = 2
    while (Path(run_dir) / "logs" / f"csv-part{part}").exists():
        part += 1
    return f"csv-part{part}"


def checkpoint_io() -> Any:
    """A Lightning checkpoint plugin whose writes are atomic: a kill mid-write leaves the
    previous checkpoint, never a truncated one."""
    from lightning.pytorch.plugins.io import TorchCheckpointIO

    from infoclr.io import atomic_torch_save

    class AtomicCheckpointIO(TorchCheckpointIO):
        def save_checkpoint(self, checkpoint: dict, path: Any, storage_options: Any = None) -> None:
            atomic_torch_save(checkpoint, path)

    return AtomicCheckpointIO()


def check_resume_record(path: Path, record: dict[str, Any], key: str = "infoclr_run") -> None:
    """One-line error unless the checkpoint at ``path`` was written by the same run: its
    ``checkpoint[key]`` (stored by the job) must equal ``record`` (input, settings)."""
    import torch

    from infoclr.errors import DataError

    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        theirs = saved[key]
    except Exception as err:  # noqa: BLE001 - torch raises many types for a damaged file
        raise DataError(
            f"{path} is not a checkpoint infoclr can resume ({type(err).__name__}); delete it "
            "and drop --resume to start over"
        ) from None
    for name, value in record.items():
        if theirs.get(name) != value:
            raise ConfigError(
                f"{path} belongs to another run ({name}: {theirs.get(name)!r} there, {value!r} "
                "now); rerun with the same settings, or drop --resume to start over"
            )


class OutputSet:
    """Write several output files so that they appear as one set.

    Usage::

        outputs = OutputSet([out, report, refiner])    # recovers an interrupted earlier set
        outputs.write(out, lambda handle: ...)          # staged as a temporary file
        outputs.write_text(report, "...")
        outputs.commit()                                # journal, renames, journal removed

    A kill before :meth:`commit` leaves only temporary files, which the next
    ``OutputSet`` over the same paths deletes. A kill during the renames leaves the journal,
    from which the next ``OutputSet`` over the same paths completes the set.
    """

    def __init__(self, paths: Iterable[Path]) -> None:
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise ValueError("an output set needs at least one path")
        self.journal = self.paths[0].with_name(f".{self.paths[0].name}.commit.json")
        self.staged: dict[Path, Path] = {}
        self.recover()

    def _stale_temporaries(self) -> list[Path]:
        found = []
        for path in self.paths:
            found += list(path.parent.glob(f".{path.name}.*.tmp"))
        return found

    def recover(self) -> bool:
        """Finish a set whose renames were interrupted, and delete staged leftovers of a set
        that never committed. Returns True when an interrupted set was completed."""
        completed = False
        if self.journal.is_file():
            try:
                renames = json.loads(self.journal.read_text())
            except (OSError, ValueError):
                renames = []
            for source, target in renames:
                if Path(source).exists():
                    os.replace(source, target)
            self.journal.unlink(missing_ok=True)
            completed = True
        for leftover in self._stale_temporaries():
            leftover.unlink(missing_ok=True)
        return completed

    def _stage(self, path: Path) -> tuple[int, Path]:
        path = Path(path)
        if path not in self.paths:
            raise ValueError(f"{path} is not one of this set's outputs")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        self.staged[path] = Path(tmp)
        return fd, Path(tmp)

    def write(self, path: Path, write: Callable[[IO[bytes]], None]) -> None:
        """Stage ``path``'s content: ``write(handle)`` fills a temporary file beside it."""
        fd, tmp = self._stage(path)
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def write_text(self, path: Path, text: str) -> None:
        self.write(path, lambda handle: handle.write(text.encode("utf-8")))

    def commit(self) -> None:
        """Move every staged file into place as one set (the first path is moved last)."""
        order = [p for p in self.paths[1:] if p in self.staged]
        if self.paths[0] in self.staged:
            order.append(self.paths[0])
        renames = [[str(self.staged[p]), str(p)] for p in order]
        atomic_write_text(self.journal, json.dumps(renames))
        for source, target in renames:
            os.replace(source, target)
        self.journal.unlink(missing_ok=True)
        self.staged.clear()

    def abort(self) -> None:
        """Delete every staged file (nothing of the set appears)."""
        for tmp in self.staged.values():
            tmp.unlink(missing_ok=True)
        self.staged.clear()


def check_run_folder(run_dir: str | Path) -> Path:
    """The folder as a Path; DataError unless it is a finished infoclr run."""
    run_dir = Path(run_dir).expanduser()
    if not (run_dir / "config.yaml").is_file():
        raise DataError(
            f"{str(run_dir)!r} is not a run folder (no config.yaml); pass the folder that "
            "infoclr pretrain printed"
        )
    if not (run_dir / "backbone.pt").is_file():
        raise DataError(
            f"{str(run_dir)!r} has no backbone.pt: the run did not finish; resume it with "
            "infoclr pretrain --resume"
        )
    return run_dir


def load_run_weights(backbone: Any, run_dir: Path, backbone_name: str) -> None:
    """Load the run's ``backbone.pt`` into ``backbone`` (built as the run's ``backbone_name``);
    a one-line DataError when the file does not load into it."""
    import torch

    weights = run_dir / "backbone.pt"
    try:
        backbone.load_exported(torch.load(weights, map_location="cpu", weights_only=True))
    except Exception as error:  # noqa: BLE001 - torch raises many types for a bad file
        reason = " ".join(str(error).split())[:100] or type(error).__name__
        raise DataError(
            f"{weights} cannot be loaded into the run's {backbone_name} backbone "
            f"({reason}); it is empty, corrupt or from another run"
        ) from None


@dataclass
class EpochLog:
    """What each epoch of a training run cost: its mean loss, and the wall-clock and this
    process's CPU seconds of its training steps (on a shared machine the CPU time is the
    steadier measure of cost). A diverged epoch has times but no loss."""

    losses: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[float]]:
        """``epoch_losses``, ``epoch_seconds`` and ``epoch_cpu_seconds``: the report keys."""
        return {f"epoch_{f.name}": list(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> EpochLog:
        """The log :meth:`as_dict` wrote (a missing series is empty)."""
        return cls(
            **{f.name: [float(v) for v in record.get(f"epoch_{f.name}", [])] for f in fields(cls)}
        )
