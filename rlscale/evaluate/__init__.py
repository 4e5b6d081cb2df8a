"""What a trained policy is worth: restore it, run episodes, record video, export it.

The package is also the Python API's ``rlscale.evaluate(run_dir, episodes=10, ...)``: calling
it calls :func:`rlscale.evaluate.run.evaluate_run` (what ``rlscale evaluate`` runs), which
returns an :class:`~rlscale.evaluate.run.EvaluationReport`.
"""

import sys
import types
from typing import Any

from rlscale.evaluate.checkpoints import CheckpointRef, locate_checkpoint
from rlscale.evaluate.restore import Policy, load_policy

__all__ = ["CheckpointRef", "Policy", "evaluate_run", "load_policy", "locate_checkpoint"]


def evaluate_run(*args: Any, **kwargs: Any) -> Any:
    """See :func:`rlscale.evaluate.run.evaluate_run` (imported on first use)."""
    from rlscale.evaluate.run import evaluate_run as run

    return run(*args, **kwargs)


class _CallablePackage(types.ModuleType):
    """``rlscale.evaluate`` is both this package and the API's function of the same name."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return evaluate_run(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
