"""Runs started by an outside launcher (torchrun, SLURM's srun): one run folder for all ranks.

Lightning starts the processes of a one-machine run itself, and the first process hands its
run folder to the others. torchrun and srun instead start every process of every node at once,
each running ``infoclr pretrain`` from the start. Then the run folder is ``OUTPUT/NAME``
exactly (no ``-2`` numbering, so every rank can find it): rank 0 creates it, the other ranks
wait for its ``config.yaml``. The folder must be on a file system that every node sees.

No torch is imported here.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from infoclr.errors import ConfigError

__all__ = ["global_rank", "launched_externally", "shared_run_dir"]

#: How long the other ranks wait for rank 0 to create the run folder.
WAIT_SECONDS = 600.0


def launched_externally() -> bool:
    """True in a process that torchrun or srun started as one of several ranks."""
    env = os.environ
    if "TORCHELASTIC_RUN_ID" in env:
        return int(env.get("WORLD_SIZE", "1")) > 1
    if "SLURM_PROCID" in env and int(env.get("SLURM_NTASKS", "1")) > 1:
        # Lightning treats an interactive allocation as a plain shell, and so does infoclr.
        return env.get("SLURM_JOB_NAME") not in ("bash", "interactive")
    return False


def global_rank() -> int:
    """This process's rank across all nodes, as the launcher set it (0 outside a launcher)."""
    env = os.environ
    if "TORCHELASTIC_RUN_ID" in env:
        return int(env.get("RANK", "0"))
    return int(env.get("SLURM_PROCID", "0"))


def shared_run_dir(
    root: Path, name: str, resume: bool, wait_seconds: float = WAIT_SECONDS
) -> tuple[Path, Path | None, bool] | None:
    """``(run folder, checkpoint to resume or None, whether this is rank 0)`` for a process
    started by torchrun or srun; ``None`` for any other process.

    Rank 0 creates ``root/name`` (a ConfigError when it exists and ``resume`` is off); with
    ``resume`` every rank takes the folder's ``checkpoints/last.ckpt``. The other ranks wait
    (at most ``wait_seconds``) for rank 0's ``config.yaml``.
    """
    if not launched_externally():
        return None
    run_dir = Path(root) / name
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    first = global_rank() == 0
    if resume:
        if not ckpt.is_file():
            raise ConfigError(
                f"nothing to resume: {str(run_dir)!r} has no checkpoints/last.ckpt; under "
                "torchrun/srun the run folder is OUTPUT/NAME exactly"
            )
        return run_dir, ckpt, first
    if first:
        Path(root).mkdir(parents=True, exist_ok=True)
        try:
            run_dir.mkdir()
        except FileExistsError:
            raise ConfigError(
                f"run folder {str(run_dir)!r} exists; under torchrun/srun give a new --name "
                "(every rank must find the folder by name) or pass --resume"
            ) from None
        return run_dir, None, True
    deadline = time.monotonic() + wait_seconds
    while not (run_dir / "config.yaml").is_file():
        if time.monotonic() > deadline:
            raise ConfigError(
                f"rank 0 did not create {str(run_dir)!r} within {wait_seconds:.0f} s; the "
                "output folder must be on a file system that every node sees"
            )
        time.sleep(0.5)
    return run_dir, None, False
