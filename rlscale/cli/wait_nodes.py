"""``rlscale wait-nodes`` (hidden): the Slurm job script waits here for its Ray nodes."""

from __future__ import annotations

import typer


def wait_nodes(
    address: str = typer.Argument(..., help="Ray cluster HOST:PORT."),
    count: int = typer.Argument(..., help="Nodes that must be alive."),
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds to wait."),
) -> None:
    """Wait until COUNT nodes have joined the Ray cluster at ADDRESS."""
    from rlscale.runners.launch import wait_for_cluster

    nodes = wait_for_cluster(address, count, timeout)
    ips = ", ".join(sorted(n["ip"] for n in nodes))
    typer.echo(f"{len(nodes)} Ray node(s) joined: {ips}")
