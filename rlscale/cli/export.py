"""``rlscale export``: write a run's policy as a standalone ONNX or TorchScript file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console


def export(
    target: Path = typer.Argument(
        ..., metavar="RUN_DIR_OR_CHECKPOINT", help="A run directory or a checkpoint in one.",
        show_default=False,
    ),
    fmt: str = typer.Option("onnx", "--format", help="onnx or torchscript."),
    output: Path = typer.Option(
        ..., "-o", "--output", help="File to write (.onnx; .pt for torchscript); for a "
        "multi-agent run, a folder: one file per policy and policy_mapping.json.",
        show_default=False,
    ),
    checkpoint: str | None = typer.Option(
        None, "--checkpoint", help="Which checkpoint of a run: best, last or a PATH "
        "[default: best]."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file."),
) -> None:
    """Export the policy: observations -> action logits (Discrete) or action (Box)."""
    from rlscale.errors import ConfigError
    from rlscale.evaluate.checkpoints import locate_checkpoint
    from rlscale.evaluate.episodes import make_eval_env
    from rlscale.evaluate.export import FORMATS, MASK_INPUT, SUFFIXES, export_policy
    from rlscale.evaluate.multiagent import is_multiagent_ref
    from rlscale.evaluate.restore import load_policy
    from rlscale.evaluate.video import check_output_file

    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    ref = locate_checkpoint(target, checkpoint)
    if is_multiagent_ref(ref):
        _export_multiagent(ref, output, fmt, overwrite)
        return
    check_output_file(output, SUFFIXES[fmt], "-o", overwrite)
    config = ref.run_config()
    env = make_eval_env(str(config.get("env")), config.get("env_config") or {},
                        config.get("env_packages") or [],
                        wrappers=config.get("env_wrappers") or [])
    try:
        policy = load_policy(ref, env)
    finally:
        env.close()
    info = export_policy(policy, output, fmt)
    console = Console(highlight=False, soft_wrap=True)
    rel = ref.checkpoint.relative_to(ref.run_dir)
    console.print(f"Exported {rel} of {ref.run_dir.name} to {info.path} ({info.format})",
                  markup=False)
    console.print(f"  input   {info.input_name}  {info.input_dtype} [batch, "
                  f"{', '.join(map(str, info.input_shape))}]   {info.observation_space}",
                  markup=False)
    for name, shape in info.extra_inputs:
        what = "1 legal, 0 illegal" if name == MASK_INPUT else "recurrent state"
        console.print(f"  input   {name}  float32 [batch, {', '.join(map(str, shape))}]   "
                      f"{what}", markup=False)
    console.print(f"  output  {info.output_name}  float32 [batch, "
                  f"{', '.join(map(str, info.output_shape))}]   {info.action_space}",
                  markup=False)
    for name, shape in info.extra_outputs:
        console.print(f"  output  {name}  float32 [batch, {', '.join(map(str, shape))}]   "
                      "next state", markup=False)


def _export_multiagent(ref: Any, output: Path, fmt: str, overwrite: bool) -> None:
    from rlscale.envs.resolve import resolve_env
    from rlscale.evaluate.multiagent import export_agent_policies, load_agent_policies

    config = ref.run_config()
    resolved = resolve_env(str(config.get("env")), config.get("env_config") or {},
                           config.get("env_packages") or [])
    assert resolved.agents is not None
    policies = load_agent_policies(ref, resolved.agents)
    infos, mapping = export_agent_policies(policies, output, fmt, overwrite)
    console = Console(highlight=False, soft_wrap=True)
    rel = ref.checkpoint.relative_to(ref.run_dir)
    console.print(f"Exported {rel} of {ref.run_dir.name} to {output} ({fmt}, "
                  f"{len(infos)} policies)", markup=False)
    for info in infos:
        agents = ", ".join(policies.plan.agents_of(info.path.stem))
        console.print(f"  {info.path.name}  {info.input_name} float32 [batch, "
                      f"{', '.join(map(str, info.input_shape))}] -> {info.output_name} "
                      f"[batch, {', '.join(map(str, info.output_shape))}]   agents {agents}",
                      markup=False)
    console.print(f"  {mapping.name}  agent -> policy", markup=False)
