"""Environment specs: Gymnasium ids, import paths, registered names."""

from rlscale.envs.resolve import ResolvedEnv, resolve_env

__all__ = ["ResolvedEnv", "resolve_env"]
