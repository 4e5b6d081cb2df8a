"""Property: whatever experiment file it is given, ``rlscale train FILE --dry-run`` ends
with exit code 0 or 2 (one line ``Error: ...``), never a traceback. No Ray starts.

The files are drawn over the experiment schema (``rlscale/config/model.py``): its real
keys at every level, some unknown ones, and odd values in every place (NaN, infinities,
huge and negative numbers, wrong types, nested lists and mappings, odd strings), mostly
on a real env so that the deep checks (env, plan, RLlib config, RL module) are reached
too; sometimes raw YAML text or bytes instead of a mapping.
"""

from __future__ import annotations

import logging
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Cli

# Strings that stay inside the test's folder (no absolute paths, no module names that
# would import something with side effects).
_TEXT = st.text(alphabet=st.sampled_from("ab-_.:/\\ é\x00\t0"), max_size=8)
_NUMBERS = st.one_of(
    st.integers(min_value=-3, max_value=5),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.5, 1e-4, 1e30, math.nan, math.inf, -math.inf]),
)
_SCALARS = st.one_of(st.none(), st.booleans(), _NUMBERS, _TEXT)
_ODD = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)
    ),
    max_leaves=6,
)

_ENVS = st.one_of(
    st.sampled_from(["CartPole-v1"] * 6 + ["Pendulum-v1", "FrozenLake-v1", "CartPole-v9",
                                          "math:pi", "collections:OrderedDict", "x.py:Env"]),
    _ODD,
)
_ALGOS = st.one_of(st.sampled_from(["PPO"] * 4 + ["DQN", "SAC", "APPO", "BC", "PPOO"]), _ODD)

_MODEL = st.dictionaries(
    st.sampled_from(["fcnet_hiddens", "fcnet_activation", "vf_share_layers", "use_lstm",
                     "lstm_cell_size", "conv_filters", "head_fcnet_hiddens", "fcnet_hidens"]),
    st.one_of(
        st.lists(st.integers(min_value=-2, max_value=2**40), max_size=3),
        st.sampled_from(["relu", "tanh", "linear", "sparkle", "ReLU"]),
        _ODD,
    ),
    max_size=3,
)
_ALGO_CONFIG = st.dictionaries(
    st.sampled_from(["lr", "gamma", "lambda_", "train_batch_size_per_learner",
                     "minibatch_size", "num_epochs", "entropy_coeff", "vf_clip_param",
                     "grad_clip", "rollout_fragment_length", "clip_param", "num_workers",
                     "ignore_worker_failures", "replay_buffer_config", "lrr", "model",
                     "target_network_update_freq", "tau", "n_step"]),
    st.one_of(_ODD, _MODEL, st.lists(st.lists(_NUMBERS, max_size=2), max_size=2)),
    max_size=3,
)


def _section(keys: list[str]) -> st.SearchStrategy[Any]:
    """A nested block (resources, stop, checkpoint): its keys, an unknown one, odd values;
    or not a mapping at all."""
    return st.one_of(
        st.dictionaries(st.sampled_from([*keys, "unknown"]), _ODD, max_size=3), _ODD
    )


_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "env": _ENVS,
    "algo": _ALGOS,
    "env_config": st.one_of(st.just({}), _ODD),
    "env_packages": st.one_of(st.just([]), st.lists(st.sampled_from(["", "a-b", "no_pkg_x"]),
                                                    max_size=2), _ODD),
    "algo_config": st.one_of(_ALGO_CONFIG, _ODD),
    "preset": st.one_of(st.sampled_from(["auto", "none", "PPO/default", "PPO/nope"]), _ODD),
    "seed": st.one_of(st.integers(min_value=-(2**40), max_value=2**40), _ODD),
    "resources": _section(["num_cpus", "num_gpus", "num_env_runners",
                           "num_envs_per_env_runner", "num_envs", "oversubscribe"]),
    "stop": _section(["reward", "iters", "timesteps", "time_s"]),
    "checkpoint": _section(["every"]),
    "name": st.one_of(st.just("r"), _ODD),
    "output": st.one_of(st.just("out"), _TEXT.map(lambda t: "out/" + t), _ODD),
    "search": st.one_of(st.just({}), _ODD),
    "unknown_key": _ODD,
}


@st.composite
def experiments(draw: st.DrawFn) -> bytes:
    """One experiment file's bytes."""
    kind = draw(st.sampled_from(["mapping"] * 8 + ["yaml", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=40))
    if kind == "yaml":
        return draw(st.text(max_size=40)).encode("utf-8", "surrogatepass")
    # Mostly a real env with one or two odd keys, so that most files get past the schema
    # to the env, plan, RLlib config and RL module checks.
    data: dict[str, Any] = {"env": "CartPole-v1"} if draw(st.integers(0, 4)) else {}
    for key in draw(st.lists(st.sampled_from(sorted(_FIELDS)), max_size=3, unique=True)):
        data[key] = draw(_FIELDS[key])
    return yaml.safe_dump(data, allow_unicode=True).encode("utf-8", "surrogatepass")


def _log_to_this_invocation() -> None:
    """In-process runs share one interpreter: log handlers set up during an earlier run
    (rlscale's on the root logger, Ray's own on ``ray``) still hold that run's stderr, now
    closed, and logging would print its "--- Logging error ---" traceback. A real
    ``rlscale`` process is one run: this is the test harness's own business."""
    logging.getLogger().handlers.clear()
    for name in list(logging.root.manager.loggerDict):
        for handler in getattr(logging.getLogger(name), "handlers", []):
            if isinstance(handler, logging.StreamHandler) and getattr(
                    handler.stream, "closed", False):
                handler.stream = sys.stderr


# The number of examples run, for the report in the test's output.
EXAMPLES = 100


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(experiments())
def test_dry_run_exits_0_or_2_and_never_with_a_traceback(content: bytes) -> None:
    _log_to_this_invocation()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (cwd / "exp.yaml").write_bytes(content)
        result = Cli(cwd)("train", "exp.yaml", "--dry-run")
        assert result.exit_code in (0, 2), result.output
        assert "Traceback" not in result.output
        if result.exit_code == 2:
            assert result.stderr.startswith("Error: ")
            assert result.stderr.count("\n") == 1, result.stderr
        assert sorted(p.name for p in cwd.iterdir()) == ["exp.yaml"], "nothing written"
