"""Build an env in a fresh process and print its spaces (used by ``check-env``).

``python -m rlscale.envs.probe SPEC ENV_CONFIG_JSON [--env-package PKG ...]
[--wrappers JSON]`` prints one JSON line ``[observation space, action space]`` (each as its
structure, see :mod:`rlscale.envs.compare`), or the error on stderr (exit 1).
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    """Resolve, build, reset once and describe the spaces."""
    from rlscale.envs.compare import space_structure
    from rlscale.envs.resolve import make_env

    spec, config = argv[0], json.loads(argv[1])
    packages = [argv[i + 1] for i, a in enumerate(argv) if a == "--env-package"]
    wrappers = [w for i, a in enumerate(argv) if a == "--wrappers"
                for w in json.loads(argv[i + 1])]
    try:
        env = make_env(spec, config, packages, wrappers)
        env.reset(seed=0)
    except Exception as exc:  # noqa: BLE001  (reported to the parent as one line)
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    from rlscale.envs import multiagent

    if multiagent.object_kind(env) is not None:  # [observations, actions] of every agent
        from rlscale.envs.multiagent_check import describe_agents

        print(json.dumps(list(describe_agents(multiagent.read_spaces(env)))))
        return 0
    print(json.dumps([space_structure(env.observation_space),
                      space_structure(env.action_space)]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
