"""Build an env in a fresh process and print its spaces (used by ``check-env``).

``python -m rlscale.envs.probe SPEC ENV_CONFIG_JSON [--env-package PKG ...]`` prints one
JSON line ``[observation space, action space]``, or the error on stderr (exit 1).
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    """Resolve, build, reset once and describe the spaces."""
    from rlscale.envs.resolve import describe_space, make_env

    spec, config = argv[0], json.loads(argv[1])
    packages = [argv[i + 1] for i, a in enumerate(argv) if a == "--env-package"]
    try:
        env = make_env(spec, config, packages)
        env.reset(seed=0)
    except Exception as exc:  # noqa: BLE001  (reported to the parent as one line)
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    from rlscale.envs import multiagent

    if multiagent.object_kind(env) is not None:  # [observations, actions] of every agent
        from rlscale.envs.multiagent_check import describe_agents

        print(json.dumps(list(describe_agents(multiagent.read_spaces(env)))))
        return 0
    print(json.dumps([describe_space(env.observation_space), describe_space(env.action_space)]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
