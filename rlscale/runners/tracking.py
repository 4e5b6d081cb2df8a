"""Experiment tracking: MLflow and Weights & Biases, through Tune's logger callbacks.

``tracking: {mlflow: {uri, experiment}}`` and ``tracking: {wandb: {project, mode, group}}``
(``--mlflow URI``, ``--wandb PROJECT``) become Tune's ``MLflowLoggerCallback`` and
``WandbLoggerCallback``, one MLflow run / W&B run per trial. A sweep's trials share one
MLflow experiment and one W&B group: the sweep's name, unless set.

The callbacks are plain Tune ``LoggerCallback`` objects. Outside Tune (a run trained in
the driver), drive them as Tune does: ``setup()``, then ``log_trial_start(trial)``,
``log_trial_result(iteration, trial, result)`` per result, ``log_trial_end(trial)`` and
``on_experiment_end(trials=[trial])``, with a trial object that is hashable and has
``trial_id``, ``config`` (a dict), ``local_path`` (the folder the trial writes to),
``experiment_dir_name``, and a ``__str__`` (the run's name in the tracker). W&B's callback
logs from a Ray actor it starts per trial (on the driver's node, no CPU): Ray must be
running, and ``on_experiment_end`` waits for it to finish writing.

Where each run was tracked is written to ``tracking.json`` in the run (or sweep) directory.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from rlscale.errors import ConfigError, MissingExtraError
from rlscale.results.files import atomic_write_json, read_json

if TYPE_CHECKING:
    from rlscale.config.model import ExperimentConfig

log = logging.getLogger(__name__)

TRACKING_FILE = "tracking.json"
OFFLINE = "offline"


def mlflow_uri(uri: str, base: Path | None = None) -> str:
    """A tracking URI: a plain folder becomes an absolute ``file:`` URI."""
    if urlparse(uri).scheme and len(urlparse(uri).scheme) > 1:  # not a Windows drive letter
        return uri
    path = Path(uri).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return path.resolve().as_uri()


def _record(run_dir: Path, key: str, value: dict[str, Any]) -> None:
    path = run_dir / TRACKING_FILE
    data = read_json(path) if path.is_file() else {}
    data[key] = {**data.get(key, {}), **value}
    atomic_write_json(path, data)


def _allow_file_store(uri: str) -> None:
    # MLflow 3 refuses its file store (a folder) unless told to allow it; a folder is what
    # a compute node without a tracking server has. Set before Tune's callback and its
    # processes start (they inherit it).
    if uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")


def _mlflow_callback(uri: str, experiment: str, run_dir: Path) -> Any:
    try:
        import mlflow  # noqa: F401
        from ray.air.integrations.mlflow import MLflowLoggerCallback
    except ImportError:
        raise MissingExtraError("tracking.mlflow (--mlflow)", "mlflow") from None
    _allow_file_store(uri)

    class MlflowRuns(MLflowLoggerCallback):  # type: ignore[misc]
        """Tune's MLflow callback; notes each trial's MLflow run id in tracking.json."""

        def log_trial_start(self, trial: Any) -> None:
            super().log_trial_start(trial)
            runs = {str(trial): self._trial_runs[trial]}
            _record(run_dir, "mlflow", {"runs": {**_known_runs(run_dir), **runs}})

    return MlflowRuns(tracking_uri=uri, experiment_name=experiment, save_artifact=False)


def _known_runs(run_dir: Path) -> dict[str, str]:
    path = run_dir / TRACKING_FILE
    data = read_json(path) if path.is_file() else {}
    runs = data.get("mlflow", {}).get("runs", {})
    return dict(runs) if isinstance(runs, dict) else {}


def _wandb_callback(project: str, mode: str, group: str, entity: str | None) -> Any:
    try:
        import wandb  # noqa: F401
        from ray.air.integrations.wandb import WandbLoggerCallback
    except ImportError:
        raise MissingExtraError("tracking.wandb (--wandb)", "wandb") from None
    extra: dict[str, Any] = {"mode": mode}
    if entity is not None:
        extra["entity"] = entity
    if mode == OFFLINE:
        # The logging actor inherits the driver's environment: no network call, ever.
        os.environ["WANDB_MODE"] = OFFLINE

    class WandbRuns(WandbLoggerCallback):  # type: ignore[misc]
        """Tune's W&B callback, writing each W&B run straight into the trial's folder.

        Tune's callback writes into the trial's local staging folder, which Tune copies to
        the trial folder when the trial ends, while the W&B actor may still be writing: a
        sweep's trial folder then held an offline run of a few bytes.
        """

        def _start_logging_actor(self, trial: Any, exclude_results: list[str],
                                 **wandb_init_kwargs: Any) -> None:
            folder = Path(getattr(trial, "path", None) or trial.local_path)
            folder.mkdir(parents=True, exist_ok=True)
            wandb_init_kwargs.setdefault("dir", str(folder))
            super()._start_logging_actor(trial, exclude_results, **wandb_init_kwargs)

    return WandbRuns(project=project, group=group, **extra)


def check_tracking(exp: ExperimentConfig) -> None:
    """Before Ray starts: the trackers' packages are installed, the MLflow store opens."""
    tracking = exp.tracking
    if tracking.mlflow is not None:
        try:
            import mlflow
        except ImportError:
            raise MissingExtraError("tracking.mlflow (--mlflow)", "mlflow") from None
        uri = mlflow_uri(tracking.mlflow.uri)
        _allow_file_store(uri)
        try:
            mlflow.MlflowClient(tracking_uri=uri)
        except Exception as exc:  # an unknown scheme, a store MLflow refuses
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"tracking.mlflow.uri {tracking.mlflow.uri}: {first}") from None
    if tracking.wandb is not None:
        try:
            import wandb  # noqa: F401
        except ImportError:
            raise MissingExtraError("tracking.wandb (--wandb)", "wandb") from None


def logger_callbacks(exp: ExperimentConfig, run_dir: Path, trials: str = "*") -> list[Any]:
    """Tune logger callbacks for ``exp.tracking`` (empty when it tracks nothing).

    ``run_dir`` is the run's (train) or the sweep's directory: it names the MLflow
    experiment and the W&B group by default, and gets ``tracking.json``. ``trials`` is the
    glob of Tune's trial folders under it (where W&B writes its offline runs).
    Raises :class:`MissingExtraError` when the tracker's package is not installed.
    """
    tracking = exp.tracking
    callbacks: list[Any] = []
    name = run_dir.name
    if tracking.mlflow is not None:
        uri = mlflow_uri(tracking.mlflow.uri)
        experiment = tracking.mlflow.experiment or name
        callbacks.append(_mlflow_callback(uri, experiment, run_dir))
        _record(run_dir, "mlflow", {"uri": uri, "experiment": experiment})
        log.info("tracking in MLflow: %s, experiment %s", uri, experiment)
    if tracking.wandb is not None:
        settings = tracking.wandb
        group = settings.group or name
        callbacks.append(_wandb_callback(settings.project, settings.mode, group,
                                         settings.entity))
        record = {"project": settings.project, "mode": settings.mode, "group": group}
        if settings.entity is not None:
            record["entity"] = settings.entity
        if settings.mode == OFFLINE:
            record["sync"] = f"wandb sync {run_dir}/{trials}/wandb/offline-run-*"
        _record(run_dir, "wandb", record)
        log.info("tracking in W&B: project %s (%s), group %s", settings.project,
                 settings.mode, group)
    return callbacks
