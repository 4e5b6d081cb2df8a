"""``rlscale export``: write a run's policy as a standalone ONNX or TorchScript file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console


def export(
    target: Path = typer.Argument(
        ..., metavar="RUN_DIR_OR_CHECKPOINT", help="A run directory or a checkpoint in one.",
        show_default=False,
    ),
    fmt: str = typer.Option("onnx", "--format", help="onnx or torchscript."),
    output: Path = typer.Option(
        ..., "-o", "--output", help="File to write (.onnx; .pt for torchscript).",
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
    from rlscale.evaluate.episodes import make_eval_env
    from rlscale.evaluate.export import FORMATS, SUFFIXES, export_policy
    from rlscale.evaluate.restore import load_policy, locate_checkpoint
    from rlscale.evaluate.video import check_output_file

    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    check_output_file(output, SUFFIXES[fmt], "-o", overwrite)
    ref = locate_checkpoint(target, checkpoint)
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
    console.print(f"  input   {info.input_name}  float32 [batch, "
                  f"{', '.join(map(str, info.input_shape))}]   {info.observation_space}",
                  markup=False)
    console.print(f"  output  {info.output_name}  float32 [batch, "
                  f"{', '.join(map(str, info.output_shape))}]   {info.action_space}",
                  markup=False)
