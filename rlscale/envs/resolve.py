"""Turn an env spec into something RLlib can build, in the driver and in env runners.

A spec is one of:

- a Gymnasium id (``CartPole-v1``), possibly registered by an ``--env-package`` import;
- ``package.module:ClassOrFactory`` (an importable module);
- ``path/to/file.py:ClassOrFactory`` (a file anywhere, relative to the working directory).

Each may name a multi-agent env (a PettingZoo ``ParallelEnv`` or AEC env, or an RLlib
``MultiAgentEnv``): it is built wrapped as an RLlib ``MultiAgentEnv`` (rlscale.envs.multiagent)
and its resolved form lists the agents and their spaces.

Parsing a spec is rlscale.envs.spec's, importing the user's code rlscale.envs.user_code's.

Env runners are other processes (often on other nodes), so RLlib never receives the env
object: it receives a creator that holds only strings (the canonical spec, with file paths
made absolute, and the packages to import) and builds the env from them in the process it
runs in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from rlscale.envs import external, multiagent
from rlscale.envs.atari import atari_env_config, is_ale_id, register_ale_ids
from rlscale.envs.bounds import apply_bound, env_time_limit, split_bound
from rlscale.envs.spec import FILE, GYM_ID, MODULE, EnvTarget, parse_spec
from rlscale.envs.user_code import (
    call_with_config,
    import_env_packages,
    import_module,
    load_file,
    public_names,
)
from rlscale.envs.wrappers import (
    WrapperEntry,
    WrapperRef,
    apply_wrappers,
    parse_wrappers,
    validate_wrappers,
)
from rlscale.errors import EnvSpecError, did_you_mean


@dataclass(frozen=True)
class ResolvedEnv:
    """An env spec resolved: the name RLlib builds it by, its config and its spaces."""

    spec: str
    rllib_env: str
    env_config: dict[str, Any] = field(default_factory=dict)
    observation_space: gym.Space | None = None
    action_space: gym.Space | None = None
    canonical_spec: str = ""
    env_packages: tuple[str, ...] = ()
    # A Gymnasium id with its own vectorized implementation (CartPole, or an id an env
    # package registers with a ``vector_entry_point``): each env runner builds all its envs
    # in one vector env and steps them in one call, instead of one env at a time.
    native_vector: bool = False
    # Gymnasium wrappers from the experiment's env_wrappers, applied in order.
    env_wrappers: tuple[WrapperRef, ...] = ()
    # A multi-agent env: its agents and their spaces (observation_space and action_space
    # are then None).
    agents: multiagent.AgentSpaces | None = None
    # The env's own episode step limit (a TimeLimit's), None when it has none.
    max_episode_steps: int | None = None

    @property
    def is_external(self) -> bool:
        """True for simulators that connect over a socket (rlscale.envs.external)."""
        return (self.canonical_spec or self.spec) == external.SPEC

    @property
    def is_multiagent(self) -> bool:
        """True for a PettingZoo or RLlib multi-agent env."""
        return self.agents is not None

    def make(self) -> gym.Env:
        """Build one instance in this process."""
        return make_env(self.canonical_spec or self.spec, self.env_config, self.env_packages,
                        self.env_wrappers)

    def creator(self) -> Callable[[Mapping[str, Any]], Any]:
        """A picklable creator for RLlib: rebuilds the env from strings in any process."""
        if self.native_vector:
            return functools.partial(
                create_vector_env_for_rllib, self.canonical_spec or self.spec, self.env_packages
            )
        return functools.partial(create_env_for_rllib, self.canonical_spec or self.spec,
                                 self.env_packages, wrappers=self.env_wrappers)


def make_env(
    spec: str,
    env_config: Mapping[str, Any] | None = None,
    env_packages: Sequence[str] = (),
    wrappers: Sequence[WrapperEntry | WrapperRef] = (),
) -> gym.Env:
    """Create one environment instance from any spec (import errors are one line),
    wrapped by ``wrappers`` (``env_wrappers`` entries) in order."""
    import_env_packages(env_packages)
    refs = parse_wrappers(wrappers)
    config = atari_env_config(spec, env_config if env_config is not None else {}, refs)
    env = _build(parse_spec(spec), config, spec)
    return apply_wrappers(env, refs)


def _build(target: EnvTarget, config: Mapping[str, Any], spec: str) -> gym.Env:
    """Build ``target``; messages name ``spec`` as the user wrote it."""
    if target.kind == GYM_ID:
        return _make_gym(target.name, dict(config), spec)
    module = (
        load_file(target.location, spec)
        if target.kind == FILE
        else import_module(target.location, spec)
    )
    factory = getattr(module, target.name, None)
    if factory is None:
        if target.kind == MODULE and target.name in gym.registry:
            # Gymnasium's own "module:EnvId" form: importing the module registered the id.
            return _make_gym(target.name, dict(config), spec)
        where = Path(target.location).name if target.kind == FILE else f"module '{target.location}'"
        raise EnvSpecError(
            f"environment '{spec}': {where} has no attribute '{target.name}'"
            f"{did_you_mean(target.name, public_names(module))}"
        )
    if not callable(factory):
        raise EnvSpecError(
            f"environment '{spec}': '{target.name}' is a {type(factory).__name__}, "
            "not a gymnasium.Env class or a function returning one"
        )
    if (isinstance(factory, type) and not issubclass(factory, gym.Env)
            and multiagent.class_kind(factory) is None):
        raise EnvSpecError(
            f"environment '{spec}': {target.name} is not a gymnasium.Env subclass"
            f"{_old_gym_hint(factory)}"
        )
    try:
        env = call_with_config(factory, config, spec)
    except EnvSpecError:
        raise
    except Exception as exc:  # the env's own constructor failed
        raise EnvSpecError(
            f"environment '{spec}' failed to build: {type(exc).__name__}: {exc}"
        ) from None
    if multiagent.object_kind(env) is not None:
        return _wrap_multiagent(env, spec)
    if not isinstance(env, gym.Env):
        kind = type(env)
        raise EnvSpecError(
            f"environment '{spec}': {target.name} returned a {kind.__module__}.{kind.__name__}, "
            f"not a gymnasium.Env{_old_gym_hint(kind)}"
        )
    return env


def _old_gym_hint(cls: type) -> str:
    if any(base.__module__.split(".")[0] == "gym" for base in cls.__mro__):
        return " (it is an old `gym` environment: subclass gymnasium.Env and use its API)"
    return ""


def _wrap_multiagent(env: Any, spec: str) -> Any:
    try:
        return multiagent.wrap(env)
    except Exception as exc:  # the env's reset, or its spaces, failed inside the wrapper
        raise EnvSpecError(
            f"environment '{spec}' failed to build: {type(exc).__name__}: {exc}"
        ) from None


def _make_gym(env_id: str, kwargs: dict[str, Any], spec: str) -> gym.Env:
    if env_id not in gym.registry and is_ale_id(env_id):
        register_ale_ids()
    if env_id not in gym.registry:
        raise EnvSpecError(f"unknown environment '{env_id}'{did_you_mean(env_id, gym.registry)}")
    try:
        return gym.make(env_id, **kwargs)
    except TypeError as exc:  # gym.make refuses what is not a gymnasium.Env: multi-agent?
        env = multiagent.make_registered(env_id, kwargs)
        if env is None:
            raise EnvSpecError(
                f"environment '{spec}' failed to build: {type(exc).__name__}: {exc}"
            ) from None
        return _wrap_multiagent(env, spec)
    except EnvSpecError:  # an env of rlscale's own (external) refused its env_config
        raise
    except Exception as exc:  # the env's own constructor failed
        raise EnvSpecError(
            f"environment '{spec}' failed to build: {type(exc).__name__}: {exc}"
        ) from None


def create_env_for_rllib(
    spec: str, env_packages: Sequence[str], env_config: Mapping[str, Any],
    wrappers: Sequence[WrapperRef] = (),
) -> gym.Env:
    """The creator RLlib calls in every env runner (``env_config`` is its EnvContext); an
    evaluation env gets its episode bound (:mod:`rlscale.envs.bounds`)."""
    env_config, bound = split_bound(env_config)
    env = make_env(spec, env_config, env_packages, wrappers)
    return env if multiagent.object_kind(env) is not None else apply_bound(env, bound)


def create_vector_env_for_rllib(
    spec: str, env_packages: Sequence[str], env_config: Mapping[str, Any]
) -> Any:
    """The creator of a native vector env: RLlib (``gym_env_vectorize_mode`` set to
    ``vector_entry_point``) calls it with ``num_envs`` in ``env_config`` for a runner's
    vector env, and without it for a single env."""
    own, bound = split_bound(env_config)
    config = dict(own)
    num_envs = config.pop("num_envs", None)
    if num_envs is None:
        return apply_bound(make_env(spec, config, env_packages), bound)
    import_env_packages(env_packages)  # the package registers the id in this process too
    return gym.make_vec(
        spec, num_envs=int(num_envs), vectorization_mode="vector_entry_point", **config
    )


def register_for_rllib(env: ResolvedEnv) -> None:
    """Register ``env`` with Tune's registry under ``env.rllib_env``.

    The creator is stored with Ray (when it starts, or at once if it runs), and env runners
    in any process look it up by name.
    """
    from ray.tune.registry import register_env

    register_env(env.rllib_env, env.creator())


def resolve_env(
    spec: str,
    env_config: dict[str, Any] | None = None,
    env_packages: Sequence[str] = (),
    wrappers: Sequence[WrapperEntry | WrapperRef] = (),
) -> ResolvedEnv:
    """Resolve ``spec`` and read its spaces by building one instance in the driver
    (wrapped by ``wrappers``, which are imported and checked first)."""
    import_env_packages(env_packages)
    refs = parse_wrappers(wrappers)
    validate_wrappers(refs)
    target = parse_spec(spec)
    env_config = dict(atari_env_config(spec, env_config or {}, refs))
    env = apply_wrappers(_build(target, env_config, spec), refs)
    kind = multiagent.object_kind(env)
    try:
        if kind is not None:
            return ResolvedEnv(
                spec=spec,
                rllib_env=target.short_name,
                env_config=dict(env_config or {}),
                canonical_spec=target.canonical,
                env_packages=tuple(env_packages),
                agents=multiagent.read_spaces(env),
            )
        return ResolvedEnv(
            spec=spec,
            rllib_env=target.short_name,
            env_config=dict(env_config or {}),
            observation_space=env.observation_space,
            action_space=env.action_space,
            canonical_spec=target.canonical,
            env_packages=tuple(env_packages),
            # A native vector env is built in one piece: wrappers of single envs cannot
            # go inside it, so a wrapped env is vectorized env by env.
            # ale-py's vector env (AtariVectorEnv) preprocesses frames itself: its
            # observations are not the single env's, so ALE ids are vectorized env by env.
            native_vector=(
                not refs and target.kind == GYM_ID and not is_ale_id(target.name)
                and gym.spec(target.name).vector_entry_point is not None
            ),
            env_wrappers=refs,
            max_episode_steps=env_time_limit(env),
        )
    finally:
        try:
            env.close()
        except Exception:  # noqa: BLE001  (a failing close() is reported by check-env)
            pass
