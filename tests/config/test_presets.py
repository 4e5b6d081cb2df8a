"""Every preset shipped in the package loads, validates and builds its RLlib config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rlscale.config import resolve_experiment
from rlscale.config.presets import FALLBACK, MULTIAGENT, available_presets
from rlscale.runners import prepare_job
from rlscale.runners.session import Capacity

PRESETS = sorted(available_presets())
# Presets of envs that need an optional extra: built only where it is installed.
NEEDS = {"HalfCheetah-v5": "mujoco", "Hopper-v5": "mujoco", "ALE/Pong-v5": "ale_py"}
# The machine the presets were tuned on: on more cores the plan grows a batch that leaves
# too few steps per env (tests/algos/test_plan.py), so the preset's own values are checked
# on this capacity whatever the machine running the test has.
TWO_CORES = Capacity(cpus=2, gpus=0.0, may_oversubscribe=True)
# A family's preset (rlscale.config.presets.FAMILIES) is built for one env of the family;
# it may also set the env's config, packages and wrappers (its preprocessing).
FAMILY_ENVS = {"atari": "ALE/Pong-v5"}


def test_the_benchmarked_envs_have_presets() -> None:
    envs = {name.split("/", 1)[1] for name in PRESETS}
    assert {"CartPole-v1", "Acrobot-v1", "Pendulum-v1", "HalfCheetah-v5", "Hopper-v5",
            FALLBACK} <= envs


PRESETS_DOC = Path(__file__).resolve().parents[2] / "docs" / "presets.md"
REACHED = "## What each preset reached"


def reached_in_docs() -> dict[str, str]:
    """Preset name -> its entry (a figure in it) in docs/presets.md's "What each preset
    reached"."""
    section = PRESETS_DOC.read_text().split(REACHED, 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        match = re.match(r"- \*\*`([^`]+)`\*\*: (.+)", line)
        # An entry holds a figure, or links to the page that has them (Atari: images.md).
        if match and (re.search(r"\d", match.group(2)) or "](" in match.group(2)):
            out[match.group(1)] = match.group(2)
    return out


def test_every_preset_and_only_those_has_its_figures_in_the_docs() -> None:
    assert set(reached_in_docs()) == set(available_presets())


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads_validates_and_builds(name: str, tmp_path: Path) -> None:
    algo, env = name.split("/", 1)
    if env == FALLBACK:
        env = "MountainCar-v0"  # an env without a preset of its own gets the fallback
    if env == MULTIAGENT:
        pytest.skip("a multi-agent env's preset: test_a_multi_agent_env_gets_its_preset")
    text = available_presets()[name]
    # What each preset reached, and how fast, is in the docs (measurements stay out of code).
    assert name in reached_in_docs()
    assert 'docs/presets.md ("What each preset reached")' in text
    env_keys = {"env_config", "env_packages", "env_wrappers"} if env in FAMILY_ENVS else set()
    assert set(yaml.safe_load(text)) <= {"algo_config", "stop", "resources", "normalize",
                                         "exploration", *env_keys}
    env = FAMILY_ENVS.get(env, env)
    if env in NEEDS:
        pytest.importorskip(NEEDS[env])
    exp, preset = resolve_experiment(None, flags={"env": env, "algo": algo,
                                                  "output": str(tmp_path)})
    assert preset == name and exp.preset == name
    # validates every key against RLlib's config
    job = prepare_job(exp, preset, capacity=TWO_CORES)
    assert job.algo_config.env == env
    for key, value in yaml.safe_load(text)["algo_config"].items():
        if key != "model":
            assert getattr(job.algo_config, key) == value
    assert not any(tmp_path.iterdir())  # nothing written before training


def test_a_multi_agent_env_gets_its_preset(tmp_path: Path) -> None:
    """--preset auto picks PPO/multiagent for a multi-agent env (seen once the env is
    resolved, in place of the PPO/default the merge chose); the user's settings stay."""
    name = f"PPO/{MULTIAGENT}"
    text = available_presets()[name]
    assert name in reached_in_docs()
    env = "mpe2.simple_speaker_listener_v4:parallel_env"
    # lr 3e-4 is also PPO/default's: set by the user, it stays.
    exp, preset = resolve_experiment(None, sets=["algo_config.num_epochs=7",
                                                 "algo_config.lr=0.0003"], flags={
        "env": env, "algo": "PPO", "output": str(tmp_path)})
    assert preset == f"PPO/{FALLBACK}"
    job = prepare_job(exp, preset, capacity=TWO_CORES)
    assert job.preset == name and job.exp.preset == name
    for key, value in yaml.safe_load(text)["algo_config"].items():
        if key not in ("model", "num_epochs", "lr"):
            assert getattr(job.algo_config, key) == value, key
    assert job.algo_config.num_epochs == 7  # the user's, not the preset's 5
    assert job.algo_config.lr == 0.0003  # the user's, not the preset's 1e-3
    single = prepare_job(*resolve_experiment(None, flags={
        "env": "MountainCar-v0", "algo": "PPO", "output": str(tmp_path)}), capacity=TWO_CORES)
    assert single.preset == f"PPO/{FALLBACK}"
    assert not any(tmp_path.iterdir())
