"""Slurm: render the job script from the packaged template, submit it, ask about it.

The job script starts Ray across the allocation and runs ``rlscale train --address`` on
its head node, so a Slurm run ends in the same Tune call and run directory as any other.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from rlscale.algos.plan import Node
from rlscale.config.model import ExperimentConfig
from rlscale.errors import ConfigError, ResourceError
from rlscale.results.files import atomic_write_json, atomic_write_text, read_json
from rlscale.runners.session import Capacity

JOB_SCRIPT = "job.sbatch"
JOB_INFO = "slurm.json"
JOB_EXPERIMENT = "slurm-experiment.yaml"
DEFAULT_SIGNAL_LEAD_S = 300
DEFAULT_JOIN_TIMEOUT_S = 300


@dataclass(frozen=True)
class SlurmRequest:
    """What to ask Slurm for."""

    nodes: int
    time: str
    cpus_per_node: int | None = None
    gpus_per_node: int | None = None
    gpu_learner_node: bool = False
    partition: str | None = None
    gpu_partition: str | None = None
    account: str | None = None
    qos: str | None = None
    setup: str | None = None
    # Shell command started on every env-runner node beside Ray, before training (external
    # simulators, rlscale.envs.external); $RLSCALE_NODE_INDEX and $RLSCALE_NODES tell it where.
    simulator: str | None = None
    signal_lead_s: int = DEFAULT_SIGNAL_LEAD_S
    join_timeout_s: int = DEFAULT_JOIN_TIMEOUT_S

    @property
    def cpu_nodes(self) -> int:
        """Nodes that run env runners (all but the GPU node of a heterogeneous job)."""
        return self.nodes - 1 if self.gpu_learner_node else self.nodes

    @property
    def learner_gpus(self) -> int:
        """GPUs on the GPU learner node (or on each node of a homogeneous GPU job)."""
        return self.gpus_per_node or (1 if self.gpu_learner_node else 0)


def time_limit_seconds(text: str) -> int:
    """Seconds in a Slurm time limit: ``[D-]HH:MM:SS``, ``HH:MM:SS``, ``MM:SS`` or ``MM``."""
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text.strip())
    if not match:
        raise ConfigError(f"--time must look like HH:MM:SS or D-HH:MM:SS, got {text!r}")
    days, a, b, c = match.groups()
    if c is not None:
        hours, minutes, seconds = int(a), int(b), int(c)
    elif b is not None:
        hours, minutes, seconds = (int(a), int(b), 0) if days else (0, int(a), int(b))
    else:
        hours, minutes, seconds = (int(a), 0, 0) if days else (0, int(a), 0)
    return int(days or 0) * 86400 + hours * 3600 + minutes * 60 + seconds


def validate_request(req: SlurmRequest) -> None:
    """Refuse impossible requests before anything is written."""
    if req.nodes < 1:
        raise ConfigError(f"--nodes must be at least 1, got {req.nodes}")
    if req.gpu_learner_node and req.nodes < 2:
        raise ConfigError("--gpu-learner-node needs --nodes 2 or more: "
                          "CPU nodes for env runners plus one GPU node for the learner")
    if req.cpus_per_node is not None and req.cpus_per_node < 1:
        raise ConfigError(f"--cpus-per-node must be at least 1, got {req.cpus_per_node}")
    if req.gpus_per_node is not None and req.gpus_per_node < 1:
        raise ConfigError(f"--gpus-per-node must be at least 1, got {req.gpus_per_node}")
    limit = time_limit_seconds(req.time)
    if limit < 60:
        raise ConfigError(f"--time {req.time} is under Slurm's one-minute granularity")
    if req.signal_lead_s < 0 or req.signal_lead_s >= limit:
        raise ConfigError(
            f"--signal-lead {req.signal_lead_s} s must be shorter than --time {req.time}"
        )


def allocation_capacity(req: SlurmRequest, num_cpus: int | None) -> Capacity:
    """What the job's Ray cluster will offer, to plan and check the run before submitting."""
    gpus = float(req.learner_gpus if req.gpu_learner_node
                 else (req.gpus_per_node or 0) * req.nodes)
    if req.cpus_per_node is None:  # whole nodes of unknown size: the plan is checked in the job
        return Capacity(cpus=max(num_cpus or 1, req.nodes), gpus=gpus, may_oversubscribe=True)
    nodes = tuple(Node(name=n["ip"], cpus=int(n["resources"]["CPU"]),
                       gpus=float(n["resources"]["GPU"])) for n in allocation_nodes(req) or [])
    return Capacity(cpus=req.cpus_per_node * req.nodes, gpus=gpus, may_oversubscribe=False,
                    nodes=nodes)


def allocation_nodes(req: SlurmRequest) -> list[dict[str, Any]] | None:
    """The nodes of the allocation as Ray will see them, when their size is known."""
    if req.cpus_per_node is None:
        return None
    cpu = {"CPU": float(req.cpus_per_node), "GPU": float(0 if req.gpu_learner_node
                                                         else req.gpus_per_node or 0)}
    nodes = [{"ip": f"node{i}", "resources": dict(cpu)} for i in range(req.cpu_nodes)]
    if req.gpu_learner_node:
        nodes.append({"ip": "gpu", "resources": {"CPU": float(req.cpus_per_node),
                                                 "GPU": float(req.learner_gpus)}})
    return nodes


def _sbatch_lines(req: SlurmRequest) -> list[str]:
    def group(nodes: int, gpus: int, partition: str | None) -> list[str]:
        lines = [f"#SBATCH --nodes={nodes}", "#SBATCH --ntasks-per-node=1"]
        if req.cpus_per_node is not None:
            lines.append(f"#SBATCH --cpus-per-task={req.cpus_per_node}")
        else:
            lines.append("#SBATCH --exclusive")
        if gpus:
            lines.append(f"#SBATCH --gpus-per-node={gpus}")
        if partition:
            lines.append(f"#SBATCH --partition={partition}")
        if req.account:
            lines.append(f"#SBATCH --account={req.account}")
        if req.qos:
            lines.append(f"#SBATCH --qos={req.qos}")
        return lines

    if not req.gpu_learner_node:
        return group(req.nodes, req.gpus_per_node or 0, req.partition)
    return [
        "# component 0: CPU nodes for the env runners (the first one is the Ray head)",
        *group(req.cpu_nodes, 0, req.partition),
        "#SBATCH hetjob",
        "# component 1: the GPU node for the learner",
        *group(1, req.learner_gpus, req.gpu_partition or req.partition),
    ]


def render_script(req: SlurmRequest, run_dir: Path, job_name: str) -> str:
    """The job script for ``run_dir`` from the template shipped in the package."""
    template = resources.files("rlscale").joinpath(f"templates/{JOB_SCRIPT}").read_text()
    if req.setup:
        setup = "# Set up the environment (from --setup)\n" + req.setup.strip()
    else:
        bindir = Path(sys.executable).parent
        setup = ("# rlscale and ray from the environment that wrote this script\n"
                 f"export PATH={shlex.quote(str(bindir))}:\"$PATH\"")
    values = {
        "run_dir": str(run_dir),
        "run_dir_q": shlex.quote(str(run_dir)),
        "job_name": re.sub(r"[^\w.-]+", "_", job_name)[:64],
        "time": req.time,
        "signal_lead": str(req.signal_lead_s),
        "sbatch_lines": "\n".join(_sbatch_lines(req)),
        "setup": setup,
        "ray_nodes": str(req.nodes),
        "join_timeout": str(req.join_timeout_s),
        "simulators": _simulator_lines(req.simulator),
    }
    out = template
    for key, value in values.items():
        out = out.replace("{{" + key + "}}", value)
    leftover = re.findall(r"\{\{\w+\}\}", out)
    if leftover:
        raise RuntimeError(f"job template has unfilled placeholders: {leftover}")
    return out


def _simulator_lines(command: str | None) -> str:
    """The job script's lines that start ``command`` on every env-runner node."""
    if not command:
        return "# No simulators to start (rlscale slurm --simulator)."
    return "\n".join([
        "# External simulators (from --simulator): one command per env-runner node, beside its",
        "# Ray node; each connects to the env runners of its own node (docs/external.md).",
        'for i in "${!CPU_NODES[@]}"; do',
        '  srun --overlap -N1 -n1 -w "${CPU_NODES[$i]}" \\',
        '    --output="$RUN_DIR/slurm-simulator-${CPU_NODES[$i]}-$SLURM_JOB_ID.log" \\',
        f'    env RLSCALE_NODE_INDEX="$i" RLSCALE_NODES="${{#CPU_NODES[@]}}" bash -c '
        f'{shlex.quote(command)} &',
        "  SRUNS+=($!)",
        "done",
        'log "simulators started on ${#CPU_NODES[@]} node(s)"',
    ])


def job_experiment(exp: ExperimentConfig, req: SlurmRequest) -> dict[str, Any]:
    """The experiment the job trains: the resolved one, GPUs of the allocation added."""
    data = exp.model_dump(mode="json", exclude={"resources": {"address"}})
    if exp.tracking.mlflow is not None:  # a folder store: absolute, wherever sbatch runs
        from rlscale.runners.tracking import mlflow_uri

        data["tracking"]["mlflow"]["uri"] = mlflow_uri(exp.tracking.mlflow.uri)
    if req.learner_gpus and not exp.resources.num_gpus:
        data["resources"]["num_gpus"] = float(req.learner_gpus)
    return data


def write_job(run_dir: Path, script: str, experiment: dict[str, Any], overwrite: bool) -> Path:
    """Write the job files into the run directory; refuse to replace a job's files."""
    path = run_dir / JOB_SCRIPT
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} already exists; use --overwrite to replace it")
    if overwrite and run_dir.exists():
        shutil.rmtree(run_dir)
    atomic_write_text(run_dir / JOB_EXPERIMENT, yaml.safe_dump(experiment, sort_keys=False))
    atomic_write_text(path, script)
    path.chmod(0o755)
    return path


def submit(script: Path, info: dict[str, Any]) -> str:
    """``sbatch --parsable`` the script; record the job in ``slurm.json``; return its id."""
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise ResourceError("sbatch not found: submit from a Slurm login node, "
                            "or use --dry-run to write the script only")
    proc = subprocess.run([sbatch, "--parsable", str(script)], capture_output=True, text=True)
    if proc.returncode != 0:
        message = (proc.stderr or proc.stdout).strip().splitlines()
        why = message[-1] if message else f"exit code {proc.returncode}"
        raise ResourceError(f"sbatch refused the job: {why}")
    job_id = proc.stdout.strip().split(";")[0]
    atomic_write_json(script.parent / JOB_INFO,
                      {**info, "job_id": job_id, "submitted_at": time.time()})
    return job_id


def request_info(req: SlurmRequest) -> dict[str, Any]:
    """The request as recorded in ``slurm.json``."""
    return asdict(req)


@dataclass
class JobState:
    """What Slurm says about a job."""

    job_id: str
    state: str
    nodes: str
    elapsed: str
    time_limit: str
    restarts: int
    reason: str


def _scontrol_fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for token in text.split():
        key, sep, value = token.partition("=")
        if sep and key not in fields:
            fields[key] = value
    return fields


def job_state(job_id: str) -> JobState | None:
    """The job's state from ``scontrol``, or ``sacct`` once the controller forgot it;
    None when neither knows the job (or Slurm's commands are not installed)."""
    scontrol = shutil.which("scontrol")
    if scontrol:
        proc = subprocess.run([scontrol, "show", "job", "-o", job_id],
                              capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            # a heterogeneous job prints one line per component; the first leads
            f = _scontrol_fields(proc.stdout.strip().splitlines()[0])
            nodes = [_scontrol_fields(line).get("NodeList", "")
                     for line in proc.stdout.strip().splitlines()]
            return JobState(
                job_id=job_id, state=f.get("JobState", "?"),
                nodes=",".join(n for n in nodes if n and n != "(null)") or "-",
                elapsed=f.get("RunTime", "-"), time_limit=f.get("TimeLimit", "-"),
                restarts=int(f.get("Restarts", "0") or 0), reason=f.get("Reason", "None"),
            )
    sacct = shutil.which("sacct")
    if sacct:
        proc = subprocess.run(
            [sacct, "-j", job_id, "-X", "-n", "-P", "-o", "State,NodeList,Elapsed,Timelimit"],
            capture_output=True, text=True)
        line = proc.stdout.strip().splitlines()[0] if proc.returncode == 0 and \
            proc.stdout.strip() else ""
        if line:
            state, nodelist, elapsed, limit = (line.split("|") + ["-"] * 4)[:4]
            return JobState(job_id, state.split()[0], nodelist, elapsed, limit, 0, "None")
    return None


def read_job_info(run_dir: Path) -> dict[str, Any] | None:
    """``slurm.json`` of a run submitted with ``rlscale slurm --submit``, if any."""
    path = run_dir / JOB_INFO
    return read_json(path) if path.is_file() else None
