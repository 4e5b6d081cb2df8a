"""``rlscale check-env``: check an environment before any compute is spent on it."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console

from rlscale.errors import ConfigError


def parse_env_config(text: str | None) -> dict[str, Any] | None:
    """``--env-config '{"key": value}'`` as a mapping (``None`` when not given)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--env-config: not valid JSON ({exc.msg} at column {exc.colno}): "
                          f"{text}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"--env-config: expected a JSON object like '{{\"key\": 1}}', got {text}")
    return value


def _wrapper_entries(items: list[str]) -> list[Any]:
    """``--wrapper`` values: an import path, or a YAML mapping of one path to keywords."""
    import yaml

    out: list[Any] = []
    for item in items:
        if not item.lstrip().startswith("{"):
            out.append(item)
            continue
        try:
            out.append(yaml.safe_load(item))
        except yaml.YAMLError as exc:
            raise ConfigError(f"--wrapper {item}: not a YAML mapping ({exc})") from None
    return out


def _numbers(values: list[Any], fmt: str, limit: int = 10) -> str:
    shown = ", ".join(format(v, fmt) for v in values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def _print_agents(out: Any, report: Any, resolved: Any) -> None:
    from rlscale.envs.multiagent import KIND_NAMES

    kind = KIND_NAMES.get(resolved.agents.kind, resolved.agents.kind)
    out(f"Agents        {len(report.agents)} ({kind})", markup=False)
    width = max(len(a) for a in report.agents)
    for agent, (obs, act) in report.agents.items():
        out(f"  {agent:<{width}}  observations {obs}, actions {act}", markup=False)


def check_env(
    spec: str = typer.Argument(
        ..., help="Gymnasium id, package.module:Class or path/to/file.py:Class.",
        show_default=False,
    ),
    env_config: str | None = typer.Option(
        None, "--env-config", help="JSON object passed to the env's constructor."
    ),
    env_packages: list[str] | None = typer.Option(
        None, "--env-package", help="Import this package first (it registers env ids); "
        "repeatable."
    ),
    episodes: int = typer.Option(3, "--episodes", min=1, help="Random-action episodes to run."),
    seed: int = typer.Option(0, "--seed", help="Seed of the first episode's reset."),
    max_steps: int = typer.Option(
        10_000, "--max-steps", min=1, help="Cap on the steps of one episode."
    ),
    wrappers: list[str] | None = typer.Option(
        None, "--wrapper", help="Wrap the env in this Gymnasium wrapper, module:Class or "
        "'{module:Class: {key: value}}' (repeatable, applied in order; as env_wrappers)."
    ),
) -> None:
    """Check an environment: Gymnasium's checker, random episodes, re-creation elsewhere.

    Exit 0 when clean (warnings allowed), 1 with the list of problems, 2 for a bad spec.
    """
    from rlscale.envs.check import check_env as run_check
    from rlscale.envs.images import image_plan
    from rlscale.envs.resolve import resolve_env

    config = parse_env_config(env_config)
    console = Console(highlight=False, soft_wrap=True)
    resolved = resolve_env(spec, config, env_packages or [], _wrapper_entries(wrappers or []))
    with console.status("Checking (Gymnasium's checker, random episodes, a new process)..."):
        report = run_check(spec, resolved=resolved, episodes=episodes, seed=seed,
                           max_steps=max_steps)
    out = console.print
    out(f"Environment   {report.spec}", markup=False)
    if resolved.env_config:
        out(f"env_config    {json.dumps(resolved.env_config)}", markup=False)
    for ref in resolved.env_wrappers:
        kwargs = f" {json.dumps(ref.kwargs)}" if ref.kwargs else ""
        out(f"Wrapper       {ref.path}{kwargs}", markup=False)
    if report.agents:
        _print_agents(out, report, resolved)
    else:
        out(f"Observations  {report.observation_space}", markup=False)
        out(f"Actions       {report.action_space}", markup=False)
        image = image_plan(resolved.observation_space)
        if image is not None:  # what train, evaluate and export do with it
            out(f"Images        {image.describe()}", markup=False)
    for agent, mask in report.action_masks.items():
        out(f"Action mask   {agent + ': ' if agent else ''}{mask}", markup=False)
    _print_episodes(out, report, seed, max_steps)
    if report.step_time_us is not None:
        out(f"Step time     {report.step_time_us:,.1f} us (mean over random steps)")
    if not report.problems:
        out("Problems      none")
        out("[green]OK[/green]: the environment passed every check")
        return
    out(f"Problems      {len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    for problem in report.problems:
        colour = "red" if problem.severity == "error" else "yellow"
        out(f"  [{colour}]{problem.severity}[/{colour}]: ", end="")
        out(problem.message + (f" ({problem.count} times)" if problem.count > 1 else ""),
            markup=False)
    if report.ok:
        out("[green]OK[/green]: no errors (warnings only)")
        return
    out(f"[red]FAILED[/red]: {len(report.errors)} problem(s) would break training")
    raise typer.Exit(1)


def _print_episodes(out: Any, report: Any, seed: int, max_steps: int) -> None:
    """The random episodes' lengths and returns (per agent for a multi-agent env)."""
    if not report.episode_lengths:
        return
    capped = (f" ({report.capped_episodes} stopped at --max-steps {max_steps})"
              if report.capped_episodes else "")
    mean_return = sum(report.episode_returns) / len(report.episode_returns)
    out(f"Episodes      {len(report.episode_lengths)} with random actions, seed {seed}"
        f"{capped}")
    out(f"  lengths     {_numbers(report.episode_lengths, 'd')}")
    total = " (summed over agents)" if report.agents else ""
    out(f"  returns     {_numbers(report.episode_returns, '.2f')}  (mean {mean_return:.2f})"
        f"{total}")
    for agent, returns in report.agent_returns.items():
        lengths = report.agent_lengths.get(agent, [])
        out(f"  {agent}  returns {_numbers(returns, '.2f')}  steps "
            f"{_numbers(lengths, 'd')}", markup=False)
