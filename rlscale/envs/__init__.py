"""Environment specs: Gymnasium ids, import paths, registered names."""

from rlscale.envs.resolve import ResolvedEnv, describe_space, make_env, resolve_env

__all__ = ["ResolvedEnv", "describe_space", "make_env", "resolve_env"]
