"""Write every generated example output into the docs pages; ``--check`` fails if one is stale.

Run from the repository root::

    python docs/gen.py           # rewrite the generated blocks of docs/**/*.md and README.md
    python docs/gen.py --check   # exit 1 and name the stale blocks (what CI runs, via a test)

A page asks for an output with a marker pair; everything between the two markers is
replaced by the output::

    <!-- gen:help:train -->   rlscale train --help
    <!-- gen:cmd:ID -->       one of COMMANDS below: the command line, then what it printed
    <!-- gen:schema -->       the experiment keys, from rlscale.config.model.ExperimentConfig
    <!-- gen:flags -->        the flags of train, sweep, slurm, from rlscale.config.flags.FLAGS
    <!-- /gen -->

Commands run in-process (Typer's test runner), each in a fresh temporary folder whose path
is written as ``/home/you/work``. Only commands whose output does not depend on the machine
or on timing belong here: a dry run with ``--no-check-env`` (no step timing), bad input,
``check-env`` on the shipped example envs (its seeded random episodes are the same
everywhere; the one figure that is not, the step time, is shown as ``…``), ``slurm
--dry-run`` (the rendered job script). Outputs of real training (rows, times) and of a live
Ray cluster stay recorded examples in the pages.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import tempfile
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOME = "/home/you/work"
# check-env's step time: the one figure of its report that varies by machine.
STEP_TIME = re.compile(r"^(Step time +)[\d,.]+ us", re.M)
MARKER = re.compile(r"(<!-- gen:(?P<name>[\w:.-]+) -->\n)(?P<body>.*?)(<!-- /gen -->)", re.S)


@dataclass(frozen=True)
class Command:
    """An ``rlscale`` command line whose output a page shows, and the files it reads."""

    args: list[str]
    files: dict[str, str] = field(default_factory=dict)
    show: list[str] = field(default_factory=list)  # files shown with `cat` before the command
    copies: dict[str, str] = field(default_factory=dict)  # folder's name: the repo file's path
    then: list[list[str]] = field(default_factory=list)  # more command lines, same folder
    exit_code: bool = False  # show `echo $?` after each command line
    only: str = ""  # a regex: show only the output lines it matches (an excerpt)
    imports: list[str] = field(default_factory=list)  # repo folders the env specs import from


COMMANDS: dict[str, Command] = {
    "dry-run-cartpole": Command(["train", "--env", "CartPole-v1", "--num-cpus", "2",
                                 "--no-check-env", "--name", "cartpole", "--dry-run"]),
    "dry-run-experiment": Command(
        ["train", "cartpole.yaml", "--set", "algo_config.lr=1e-4", "--stop-iters", "50",
         "--no-check-env", "--dry-run"],
        files={"cartpole.yaml": (
            "env: CartPole-v1\nalgo: PPO\nseed: 0\nname: cartpole\nresources: {num_cpus: 2}\n"
            "stop: {reward: 450, time_s: 600}\ncheckpoint: {every: 5}\nalgo_config:\n"
            "  lr: 0.0003\n  num_epochs: 6\n  model: {fcnet_hiddens: [64, 64]}\n")},
        show=["cartpole.yaml"],
    ),
    "dry-run-sweep": Command(
        ["sweep", "lr-grid.yaml", "--num-cpus", "2", "--no-check-env", "--dry-run"],
        files={"lr-grid.yaml": (
            "# lr-grid.yaml: two learning rates, each trained with two seeds\n"
            "env: CartPole-v1\nalgo: PPO\nname: lr-grid\nseed: 0\nstop: {iters: 10}\n"
            "checkpoint: {every: 5}\nsearch:\n  algo_config.lr: {grid: [1.0e-3, 1.0e-4]}\n"
            "  seeds: 2\n")},
        show=["lr-grid.yaml"],
    ),
    "check-env-thermostat": Command(
        ["check-env", "sims/building.py:Thermostat", "--env-config", '{"outdoor_mean": 0}'],
        copies={"sims/building.py": "examples/thermostat.py"}, exit_code=True),
    "check-env-leaky": Command(["check-env", "rlscale_testenvs.broken:LeakyObservation"],
                               imports=["tests/fixtures/rlscale_testenvs"], exit_code=True),
    "check-env-bad-specs": Command(
        ["check-env", "sims/building.py:Thermostatt"],
        copies={"sims/building.py": "examples/thermostat.py"},
        imports=["tests/fixtures/rlscale_testenvs"],
        then=[["check-env", "sims/bulding.py:Thermostat"],
              ["check-env", "mysim.envs:GridEnv"],
              ["check-env", "rlscale_testenvs.broken:NotAnEnv"],
              ["check-env", "rlscale_testenvs.broken:RaisesInInit"],
              ["check-env", "sims/building.py:Thermostat", "--env-config",
               '{"outdoor_temp": 0}']]),
    "check-env-masked-choice": Command(["check-env", "examples/masked_choice.py:MaskedChoice"],
                                       copies={"examples/masked_choice.py":
                                               "examples/masked_choice.py"}),
    "check-env-feeder": Command(["check-env", "examples/feeder_batteries.py:FeederBatteries"],
                                copies={"examples/feeder_batteries.py":
                                        "examples/feeder_batteries.py"}),
    "check-env-image": Command(["check-env", "tests/envs/image_envs.py:BrightSpot"],
                               copies={"tests/envs/image_envs.py": "tests/envs/image_envs.py"},
                               only=r"Observations|Actions|Images"),
    "check-env-pendulum": Command(
        ["check-env", "gymnasium.envs.classic_control.pendulum:PendulumEnv", "--episodes", "1",
         "--max-steps", "1000"]),
    "slurm-gpu-learner": Command(
        ["slurm", "experiment.yaml", "--nodes", "4", "--gpu-learner-node", "--cpus-per-node",
         "36", "--time", "08:00:00", "--partition", "standard", "--gpu-partition", "gpu",
         "--account", "myproject", "--setup",
         "module load cuda; source ~/venvs/rl/bin/activate", "--dry-run"],
        files={"experiment.yaml": ("env: CartPole-v1\nname: cartpole-gpu\noutput: runs\n"
                                   "stop: {reward: 450}\n")},
        only=r"#SBATCH|# component"),
    "error-dqn-box": Command(["train", "--env", "Pendulum-v1", "--algo", "DQN"]),
    "error-unknown-key": Command(["train", "--env", "CartPole-v1", "--set",
                                  "algo_config.lrr=0.1"]),
    "error-unknown-stop": Command(["train", "--env", "CartPole-v1", "--set", "stop.iter=3"]),
    "error-negative-lr": Command(["train", "--env", "CartPole-v1", "--set",
                                  "algo_config.lr=-1"]),
    "error-model-type": Command(["train", "--env", "CartPole-v1", "--set",
                                 "algo_config.model={fcnet_hiddens: [a]}"]),
    "error-proc": Command(["train", "--env", "CartPole-v1", "--output", "/proc/runs"]),
    "error-name-path": Command(["train", "--env", "CartPole-v1", "--name", "../../etc/x"]),
    "error-flag": Command(["train", "--env", "CartPole-v1", "--stop-iter", "3"]),
    "error-unknown-env": Command(["train", "--env", "CartPol-v1"]),
    "error-missing-env": Command(["train", "--algo", "PPO"]),
}


def _cli(args: list[str], cwd: Path, imports: Sequence[str] = ()) -> tuple[str, int]:
    """What ``rlscale ARGS`` printed (stdout, then stderr), run in ``cwd``, and its exit
    code; ``imports``: repo folders on the import path (its subprocesses' too)."""
    from typer.testing import CliRunner

    from rlscale.cli.app import app

    folders = [str(ROOT / f) for f in imports]
    path = os.pathsep.join([*folders, str(ROOT), os.environ.get("PYTHONPATH", "")])
    old, old_path = Path.cwd(), list(sys.path)
    os.chdir(cwd)
    sys.path[:0] = folders
    try:  # COLUMNS: help texts wrap the same on every terminal
        result = CliRunner(env={"COLUMNS": "100", "RAY_USAGE_STATS_ENABLED": "0",
                                "PYTHONPATH": path}).invoke(
            app, args, prog_name="rlscale", catch_exceptions=False)
    finally:
        os.chdir(old)
        sys.path[:] = old_path
    text = result.stdout + result.stderr
    text = STEP_TIME.sub(r"\1… us", text.replace(str(cwd), HOME).rstrip())
    return text, result.exit_code


def _cell(text: str) -> str:
    """``text`` in a Markdown table cell (``<env>`` would be read as an HTML tag)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        "|", "\\|")


def _fenced(text: str, lang: str = "") -> str:
    return f"```{lang}\n{text}\n```\n"


def gen_help(command: str) -> str:
    """``rlscale COMMAND --help``."""
    with tempfile.TemporaryDirectory() as tmp:
        text, _ = _cli([command, "--help"], Path(tmp))
    return _fenced(f"$ rlscale {command} --help\n{text}")


def gen_cmd(ident: str) -> str:
    """One of :data:`COMMANDS`: the files it reads, its command lines and their output."""
    cmd = COMMANDS[ident]
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp).resolve()
        lines = []
        files = {**{k: (ROOT / v).read_text() for k, v in cmd.copies.items()}, **cmd.files}
        for name, text in files.items():
            (cwd / name).parent.mkdir(parents=True, exist_ok=True)
            (cwd / name).write_text(text)
            if name in cmd.show:
                lines += [f"$ cat {name}", text.rstrip()]
        for args in [cmd.args, *cmd.then]:
            text, code = _cli(args, cwd, cmd.imports)
            if cmd.only:
                text = "\n".join(x for x in text.splitlines() if re.match(cmd.only, x))
            lines += [f"$ rlscale {shlex.join(args)}", text]
            if cmd.exit_code:
                lines += ["$ echo $?", str(code)]
    return _fenced("\n".join(lines))


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _default(info: Any) -> str:
    from pydantic_core import PydanticUndefined

    if info.default_factory is not None:
        value = info.default_factory()
        return "" if hasattr(value, "model_fields") else f"`{value!r}`"
    if info.default is PydanticUndefined:
        return "required"
    return "`null`" if info.default is None else f"`{info.default!r}`"


def _rows(model: Any, prefix: str = "") -> list[str]:
    rows = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        nested = [a for a in (info.annotation, *typing.get_args(info.annotation))
                  if hasattr(a, "model_fields")]
        if nested:
            doc = (nested[0].__doc__ or "").strip().splitlines()[0]
            rows.append(f"| `{path}` | section | | {doc} |")
            rows += _rows(nested[0], f"{path}.")
            continue
        kind = _type_name(info.annotation).replace("|", "\\|")
        default = _default(info).replace("|", "\\|")
        rows.append(f"| `{path}` | {kind} | {default} | {_cell(info.description or '')} |")
    return rows


def gen_schema() -> str:
    """Every experiment key (dotted, as ``--set`` takes it), its type, default and meaning."""
    from rlscale.config.model import ExperimentConfig

    head = ["| key | type | default | meaning |", "|---|---|---|---|"]
    return "\n".join(head + _rows(ExperimentConfig)) + "\n"


def gen_flags() -> str:
    """The flags that set an experiment key, from the flag registry."""
    from rlscale.config.flags import FLAGS, SLURM, SWEEP, TRAIN

    head = ["| flag | experiment key | commands | meaning |", "|---|---|---|---|"]
    rows = []
    for flag in FLAGS:
        if flag.hidden:
            continue
        names = ", ".join(f"`{n}`" for n in flag.names)
        key = f"`{flag.path}`" if flag.path else ""
        commands = [c for c in (TRAIN, SWEEP, SLURM) if c in flag.commands]
        first = TRAIN if TRAIN in flag.commands else commands[0]
        rows.append(f"| {names} | {key} | {', '.join(commands)} | {_cell(flag.help(first))} |")
    return "\n".join(head + rows) + "\n"


def generate(name: str) -> str:
    """The text of the block called ``name``."""
    kind, _, arg = name.partition(":")
    makers: dict[str, Callable[..., str]] = {"help": gen_help, "cmd": gen_cmd}
    if kind in makers:
        return makers[kind](arg)
    if name == "schema":
        return gen_schema()
    if name == "flags":
        return gen_flags()
    raise SystemExit(f"unknown generated block '{name}'")


def pages() -> list[Path]:
    """Every page that may hold generated blocks."""
    return sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]


def update(path: Path, cache: dict[str, str]) -> tuple[str, list[str]]:
    """``path``'s text with its blocks regenerated, and the names of the stale ones."""
    text = path.read_text()
    stale: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in cache:
            cache[name] = generate(name)
        if match["body"] != cache[name]:
            stale.append(name)
        return match.group(1) + cache[name] + match.group(4)

    return MARKER.sub(replace, text), stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    cache: dict[str, str] = {}
    failed = []
    for path in pages():
        text, stale = update(path, cache)
        if not stale:
            continue
        where = path.relative_to(ROOT)
        if args.check:
            failed += [f"{where}: {name}" for name in stale]
        else:
            path.write_text(text)
            print(f"{where}: regenerated {', '.join(stale)}")
    if failed:
        print("stale generated blocks (run: python docs/gen.py):\n  " + "\n  ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
