"""Environment specs: Gymnasium ids, import paths, registered names."""

from rlscale.envs.resolve import ResolvedEnv, make_env, resolve_env
from rlscale.envs.spaces import describe_space

__all__ = ["ResolvedEnv", "describe_space", "make_env", "resolve_env"]
