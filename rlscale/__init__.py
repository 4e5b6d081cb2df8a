"""rlscale: train RL agents with Ray RLlib and Tune, from one core to many Slurm nodes.

The Python API (the CLI calls the same functions)::

    import rlscale
    summary = rlscale.train({"env": "CartPole-v1", "stop": {"reward": 450}})
    report = rlscale.sweep("lr-grid.yaml")
    scores = rlscale.evaluate(summary.run_dir, episodes=20)

``train``, ``sweep`` and ``plan`` are `rlscale.runners.launch`'s, imported on first use
so that ``import rlscale`` stays fast; ``evaluate`` is the `rlscale.evaluate` package,
which can be called (`rlscale.evaluate.run.evaluate_run`).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Engine", "evaluate", "plan", "sweep", "train"]


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        import importlib

        return importlib.import_module("rlscale.evaluate")
    if name in __all__:
        from rlscale.runners import launch

        return getattr(launch, name)
    raise AttributeError(f"module 'rlscale' has no attribute {name!r}")
