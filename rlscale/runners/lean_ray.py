"""A run's own local Ray without the head processes a local run never uses.

Besides Ray's core (the GCS server, the raylet and the raylet's agents), a local
``ray.init`` starts three Python processes on the head: the API server (the dashboard's
back end, started even with ``include_dashboard=False``, and waited for before ``ray.init``
returns), the autoscaler's monitor and the log monitor (which relays the workers' output to
the driver). A local run uses none of them: no dashboard, no autoscaling, and the workers'
output reaches the driver only with ``-v`` (``log_to_driver``), which keeps the log
monitor. On a small machine they import Ray beside the raylet and the driver and make the
start seconds longer (docs/benchmarks.md, start-up).

``ray.init`` has no switch for them (``ray start`` has ``--no-monitor`` and
``--include-log-monitor``), so :func:`lean_head` sets the same parameters of the head node
for the one ``ray.init`` call made inside it, and skips the API server. Where Ray's private
node class is not as expected (another Ray version) Ray starts as it always does.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)


def _node_class() -> Any | None:
    """Ray's node class, when it has what :func:`lean_head` changes; else None."""
    try:
        from ray._private.node import Node
    except ImportError:
        return None
    if not callable(getattr(Node, "start_api_server", None)):
        return None
    if "head" not in inspect.signature(Node.__init__).parameters:
        return None
    return Node


@contextlib.contextmanager
def lean_head(keep_log_monitor: bool) -> Iterator[None]:
    """Inside: a head node started by ``ray.init`` has no API server and no autoscaler
    monitor, and a log monitor only with ``keep_log_monitor``."""
    node = _node_class()
    if node is None:
        yield
        return
    original_init, original_api = node.__init__, node.start_api_server

    def lean_init(self: Any, ray_params: Any, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("head", args[0] if args else False):
            ray_params.no_monitor = True
            if not keep_log_monitor:
                ray_params.include_log_monitor = False
        original_init(self, ray_params, *args, **kwargs)

    def no_api_server(self: Any, **_: Any) -> None:
        log.debug("the local Ray starts without its API server (no dashboard)")

    node.__init__, node.start_api_server = lean_init, no_api_server
    try:
        yield
    finally:
        node.__init__, node.start_api_server = original_init, original_api
