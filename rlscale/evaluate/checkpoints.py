"""Find a run's checkpoint: a run directory (its best or last checkpoint, or one named) or a
checkpoint folder, and the RLModule's folder inside it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlscale.errors import ConfigError, RunDirError
from rlscale.results.rundir import CONFIG_FILE, is_run_dir, read_config_file, read_summary
from rlscale.results.summary import SUMMARY_FILE

BEST, LAST = "best", "last"
# Where RLlib 2.60 (new API stack) keeps the single-agent module inside an Algorithm
# checkpoint: the learner's copy first (always complete), the env runner's if present.
MODULE_ID = "default_policy"
_MODULE_DIRS = (
    Path("learner_group/learner/rl_module") / MODULE_ID,
    Path("env_runner/rl_module") / MODULE_ID,
)


@dataclass(frozen=True)
class CheckpointRef:
    """A checkpoint located: the run it belongs to and the module directory inside it."""

    run_dir: Path
    checkpoint: Path
    module_dir: Path

    def run_config(self) -> dict[str, Any]:
        """The run's ``config.yaml`` (the resolved experiment); a corrupt one is a one-line
        error with the reason."""
        return read_config_file(self.run_dir)


def _is_checkpoint(path: Path) -> bool:
    return (path / "rllib_checkpoint.json").is_file() or (path / "learner_group").is_dir()


def _is_module_dir(path: Path) -> bool:
    return (path / "class_and_ctor_args.pkl").is_file() and (path / "module_state.pkl").exists()


def _module_dir(checkpoint: Path) -> Path:
    if _is_module_dir(checkpoint):
        return checkpoint
    for rel in _MODULE_DIRS:
        if _is_module_dir(checkpoint / rel):
            return checkpoint / rel
    multi = checkpoint / "learner_group/learner/rl_module"
    if multi.is_dir() and any(p.is_dir() for p in multi.iterdir()):
        return multi  # a multi-agent checkpoint: its policies' modules (evaluate.multiagent)
    raise RunDirError(f"{checkpoint} is not an RLlib checkpoint (no RL module in it)")


def _enclosing_run(path: Path) -> Path | None:
    for parent in path.resolve().parents:
        if is_run_dir(parent):
            return parent
    return None


def locate_checkpoint(target: Path, which: str | None = None) -> CheckpointRef:
    """Resolve ``RUN_DIR_OR_CHECKPOINT`` and ``--checkpoint best|last|PATH``.

    A run directory gives its best checkpoint by default (``summary.json``); a checkpoint
    directory (or a module directory inside one) must lie inside an rlscale run, whose
    ``config.yaml`` says which environment to build.
    """
    if not target.exists():
        raise RunDirError(f"{target}: no such file or directory")
    target = target.resolve()
    if is_run_dir(target):
        run_dir = target
        checkpoint = _run_checkpoint(run_dir, which or BEST)
    elif target.is_dir() and (_is_checkpoint(target) or _is_module_dir(target)):
        if which is not None:
            raise ConfigError(f"--checkpoint applies to a run directory; {target} is a checkpoint")
        enclosing = _enclosing_run(target)
        if enclosing is None:
            raise RunDirError(
                f"{target} is a checkpoint outside an rlscale run (no {CONFIG_FILE} above it)"
            )
        run_dir, checkpoint = enclosing, target
    else:
        runs = [p for p in target.iterdir() if p.is_dir() and is_run_dir(p)] \
            if target.is_dir() else []
        hint = f" (it holds {len(runs)} runs: pass one of them)" if runs else ""
        raise RunDirError(f"{target} is not an rlscale run directory or checkpoint{hint}")
    if not (run_dir / CONFIG_FILE).is_file():
        raise RunDirError(f"{run_dir} has no {CONFIG_FILE}; cannot tell which env it trained")
    return CheckpointRef(run_dir, checkpoint, _module_dir(checkpoint))


def _run_checkpoint(run_dir: Path, which: str) -> Path:
    if which not in (BEST, LAST):
        path = Path(which).expanduser()
        path = path if path.is_absolute() else run_dir / path
        if not path.is_dir() and not Path(which).is_absolute():
            # A bare checkpoint name (checkpoint_000002) inside the run's trial folder(s).
            found = sorted(p for p in run_dir.glob(f"*/{which}") if p.is_dir())
            path = found[-1] if found else path
        if not path.is_dir():
            raise RunDirError(f"--checkpoint {which}: no such checkpoint in {run_dir}")
        return path.resolve()
    if not (run_dir / SUMMARY_FILE).is_file():
        raise RunDirError(f"run {run_dir} has no checkpoint yet (no {SUMMARY_FILE})")
    summary = read_summary(run_dir)  # a corrupt one: a one-line error with the reason
    rel = summary.best_checkpoint if which == BEST else summary.last_checkpoint
    if rel is None:
        raise RunDirError(f"run {run_dir} has no checkpoint yet")
    path = run_dir / rel
    if not path.is_dir():
        raise RunDirError(f"the {which} checkpoint of {run_dir} is missing: {path}")
    return path
