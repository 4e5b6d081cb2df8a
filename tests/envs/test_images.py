"""Image observations: what rlscale decides from the space (layout, dtype, conv filters),
and real trainings on a tiny image env in both layouts, evaluated and exported."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from rlscale.envs.images import (
    CHANNELS_FIRST,
    CHANNELS_LAST,
    GRAYSCALE,
    conv_filters_for,
    image_plan,
    to_module,
)
from tests.conftest import Cli, read_summary
from tests.envs.image_envs import STEPS, BrightSpot

ENV = str(Path(__file__).parent / "image_envs.py") + ":BrightSpot"
# Small, fast updates: the bright spot is learned in a few thousand steps.
FAST = ["--set", "algo_config.lr=0.001", "--set", "algo_config.train_batch_size_per_learner=512",
        "--set", "algo_config.minibatch_size=128", "--set", "algo_config.num_epochs=4"]


def box(shape: tuple[int, ...], dtype: type = np.uint8) -> gym.spaces.Box:
    high = 255 if dtype == np.uint8 else 1.0
    return gym.spaces.Box(0, high, shape, dtype)


@pytest.mark.parametrize(("space", "layout", "module_shape", "scale", "rllib_default"), [
    (box((84, 84, 3)), CHANNELS_LAST, (84, 84, 3), 1 / 255, True),
    (box((4, 84, 84)), CHANNELS_FIRST, (84, 84, 4), 1 / 255, True),  # FrameStackObservation
    (box((84, 84)), GRAYSCALE, (84, 84, 1), 1 / 255, True),  # AtariPreprocessing alone
    (box((13, 13, 5), np.float32), CHANNELS_LAST, (13, 13, 5), 1.0, False),  # magent2
    (box((2, 10, 10), np.float32), CHANNELS_FIRST, (10, 10, 2), 1.0, True),
    (box((210, 160, 3)), CHANNELS_LAST, (210, 160, 3), 1 / 255, False),  # a raw Atari frame
])
def test_image_plan(space: gym.spaces.Box, layout: str, module_shape: tuple[int, ...],
                    scale: float, rllib_default: bool) -> None:
    plan = image_plan(space)
    assert plan is not None
    assert (plan.layout, plan.module_shape) == (layout, module_shape)
    assert plan.scale == pytest.approx(scale)
    assert (plan.conv_filters is None) == rllib_default
    module_space = plan.module_space(space)
    assert module_space.shape == module_shape and module_space.dtype == np.float32
    obs = space.sample()
    batch = to_module(np.stack([obs, obs]), plan)
    assert batch.shape == (2, *module_shape) and batch.dtype == np.float32
    assert module_space.contains(to_module(obs, plan))
    if layout == CHANNELS_FIRST:  # channel c of the env is channel c of the module
        np.testing.assert_allclose(batch[0, :, :, 1], obs[1] * scale, rtol=1e-6)


@pytest.mark.parametrize("space", [box((4,), np.float32), box((5, 7), np.float32),
                                   gym.spaces.Discrete(3), box((2, 3, 4, 5))])
def test_not_an_image(space: gym.Space) -> None:
    assert image_plan(space) is None


def test_conv_filters_for_sizes_without_an_rllib_default() -> None:
    assert conv_filters_for(13, 13) == ((16, (4, 4), 2), (32, (3, 3), 1))
    assert conv_filters_for(5, 5) == ((16, (3, 3), 1),)
    assert len(conv_filters_for(210, 160)) == 6  # 160 -> 80 -> 40 -> 20 -> 10 -> 5, then 3x3


def test_dry_run_and_check_env_say_what_is_done(cli: Cli) -> None:
    magent = (ENV, '{"layout": "CHW", "size": 13}')
    result = cli("train", "--env", magent[0], "--env-config", magent[1], "--dry-run",
                 "--num-cpus", "1")
    assert result.exit_code == 0, result.output
    assert ("observations: image 2x13x13 float32, channels first (C, H, W); channels moved "
            "last by rlscale's ImageObservations connector -> 13x13x2 float32; CNN: rlscale's "
            "conv filters [[16, 4, 2], [32, 3, 1]] (RLlib has no default for 13x13)"
            ) in result.stdout
    result = cli("check-env", ENV)
    assert result.exit_code == 0, result.output
    assert ("Images        image 8x8x1 uint8, channels last (H, W, C); pixels scaled to "
            "[0, 1], cast to float32 by rlscale's ImageObservations connector -> 8x8x1 "
            "float32; CNN: rlscale's conv filters [[16, 3, 1]] (RLlib has no default for 8x8)"
            ) in result.stdout
    assert not (cli.cwd / "rlscale_runs").exists()


def test_conv_filters_that_do_not_fit_the_image_are_one_line_before_ray(cli: Cli) -> None:
    """RLlib's own error ("No default CNN", a negative size) would surface in an env
    runner's log; rlscale builds the module first."""
    result = cli("train", "--env", ENV, "--dry-run", "--num-cpus", "1", "--set",
                 'algo_config.model.conv_filters=[[16, [8, 8], 4, "valid"], '
                 '[32, [8, 8], 4, "valid"]]')
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: algo_config.model ")
    assert "PPO's RL module cannot be built" in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.fixture(scope="module", params=["HWC", "CHW"])
def image_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[Cli, Path, str]:
    """A real training on BrightSpot: (8, 8, 1) uint8 (rlscale's conv filters), or (2, 10, 10)
    float32 channels first (RLlib's default CNN for 10x10), until a 100-episode mean of 13
    (random actions: 8, best: 16)."""
    layout = request.param
    cli = Cli(tmp_path_factory.mktemp(f"images-{layout}"))
    config = '{"layout": "HWC"}' if layout == "HWC" else '{"layout": "CHW", "size": 10}'
    result = cli("train", "--env", ENV, "--env-config", config, "--num-cpus", "1",
                 "--seed", "0", "--stop-reward", "13", "--stop-iters", "40", "--name", layout,
                 *FAST)
    assert result.exit_code == 0, result.output
    return cli, cli.cwd / "rlscale_runs" / layout, layout


@pytest.mark.training
def test_images_train_evaluate_and_export(image_run: tuple[Cli, Path, str]) -> None:
    cli, run, layout = image_run
    summary = read_summary(run)
    assert summary["reached_target"] is True, summary
    result = cli("evaluate", str(run), "--episodes", "5", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["return_mean"] >= 0.85 * STEPS
    onnx_path = cli.cwd / f"{layout}.onnx"
    result = cli("export", str(run), "--format", "onnx", "-o", str(onnx_path))
    assert result.exit_code == 0, result.output
    # The exported file takes the env's own images (uint8 or channels first) as they are.
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path))
    env = BrightSpot(layout, 8 if layout == "HWC" else 10)
    obs, _ = env.reset(seed=1)
    right = 0
    for _ in range(50):
        logits = session.run(None, {"obs": obs[np.newaxis]})[0]
        obs, reward, *_ = env.step(int(np.argmax(logits[0])))
        right += int(reward)
        if env._t >= STEPS:
            obs, _ = env.reset()
    assert right >= 42, right


def test_multi_agent_images() -> None:
    """magent2's (13, 13, 5) float32 images: rlscale's conv filters for every policy;
    images that would need converting are refused in one line (not converted per agent)."""
    from rlscale.algos.images import image_model
    from rlscale.algos.policies import check_observation_spaces
    from rlscale.envs.images import env_image_plan
    from rlscale.envs.multiagent import AgentSpaces
    from rlscale.envs.resolve import ResolvedEnv
    from rlscale.errors import EnvSpecError

    act = gym.spaces.Discrete(3)
    magent = AgentSpaces("parallel", ("red_0", "blue_0"),
                         {a: box((13, 13, 5), np.float32) for a in ("red_0", "blue_0")},
                         {"red_0": act, "blue_0": act})
    assert check_observation_spaces(magent) is False  # not flattened
    plan = env_image_plan(ResolvedEnv(spec="x", rllib_env="x", agents=magent))
    assert image_model(plan, {"fcnet_hiddens": [8]}) == {
        "fcnet_hiddens": [8], "conv_filters": [[16, [4, 4], 2], [32, [3, 3], 1]]}
    assert image_model(plan, {"conv_filters": [[8, [3, 3], 1]]}) == {
        "conv_filters": [[8, [3, 3], 1]]}  # the user's win
    stacked = AgentSpaces("parallel", ("a",), {"a": box((4, 84, 84))}, {"a": act})
    with pytest.raises(EnvSpecError, match=r"^agent a's observations are an image 4x84x84 "
                       r"uint8, channels first \(C, H, W\): multi-agent image observations "
                       r"must already be \(H, W, C\) float32"):
        check_observation_spaces(stacked)
