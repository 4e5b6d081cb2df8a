"""Action masks: found from the spaces, reported, refused where RLlib cannot mask, and a masked
policy that never takes an illegal action in training, evaluation or its exported file, and
learns faster than the same env unmasked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from rlscale.envs.masks import find_action_mask, sample_action
from rlscale.errors import EnvSpecError
from tests.conftest import Cli, assert_error, read_summary

ROOT = Path(__file__).resolve().parents[2]
ENV = f"{ROOT / 'examples' / 'masked_choice.py'}:MaskedChoice"
STEPS = 10_000  # stop.timesteps of both runs (RLlib rounds up to whole batches of 2,048)


def _dict(mask: gym.Space, **rest: gym.Space) -> gym.spaces.Dict:
    return gym.spaces.Dict({"action_mask": mask, **rest})


def test_the_mask_is_found_from_the_spaces() -> None:
    obs = gym.spaces.Box(0, 1, (3,))
    found = find_action_mask(_dict(gym.spaces.Box(0, 1, (4,), np.int8), observation=obs),
                             gym.spaces.Discrete(4))
    assert found is not None and found.key == "action_mask" and found.size == 4
    assert list(found.observation_space.spaces) == ["observation"]
    # MultiDiscrete: one entry per choice of each part.
    assert find_action_mask(_dict(gym.spaces.MultiBinary(5), observation=obs),
                            gym.spaces.MultiDiscrete([2, 3])) is not None
    # Another key, or none: no mask.
    custom = gym.spaces.Dict({"legal": gym.spaces.MultiBinary(4), "obs": obs})
    assert find_action_mask(custom, gym.spaces.Discrete(4)) is None
    assert find_action_mask(custom, gym.spaces.Discrete(4), key="legal") is not None
    assert find_action_mask(_dict(gym.spaces.MultiBinary(4), observation=obs),
                            gym.spaces.Discrete(4), key=None) is None
    with pytest.raises(EnvSpecError, match="cannot mask Discrete"):
        find_action_mask(_dict(gym.spaces.MultiBinary(3), observation=obs),
                         gym.spaces.Discrete(4))
    with pytest.raises(EnvSpecError, match="not Discrete or MultiDiscrete"):
        find_action_mask(_dict(gym.spaces.MultiBinary(3), observation=obs),
                         gym.spaces.Box(-1, 1, (3,)))


def test_random_actions_of_the_checks_are_legal() -> None:
    space = gym.spaces.MultiDiscrete([2, 3])
    space.seed(0)
    obs = {"action_mask": np.array([0, 1, 1, 0, 0], np.int8)}
    assert {tuple(sample_action(space, obs)) for _ in range(50)} == {(1, 0)}
    discrete = gym.spaces.Discrete(4)
    assert {sample_action(discrete, {"action_mask": np.array([0, 0, 1, 0])})
            for _ in range(20)} == {2}


def test_check_env_reports_the_mask_and_plays_legal_moves(cli: Cli) -> None:
    # The env raises on an illegal action: check-env's random episodes must not take one.
    result = cli("check-env", ENV, "--env-config", '{"illegal": "end", "illegal_log": "x"}')
    assert result.exit_code == 0, result.output
    assert ("Action mask   key 'action_mask' (6 actions; the policy sees observations)"
            in result.stdout)
    assert "lengths     25, 25, 25" in result.stdout
    # Gymnasium's own checker steps with unmasked random actions: only its steps are illegal.
    assert len((cli.cwd / "x").read_text().splitlines()) <= 5


def test_dry_run_reports_the_mask_and_dqn_is_refused(cli: Cli) -> None:
    result = cli("train", "--env", ENV, "--dry-run", "--no-check-env", "--num-cpus", "2")
    assert result.exit_code == 0, result.output
    assert ("action mask: key 'action_mask' (6 actions; the policy sees observations): "
            "illegal actions are masked in training, evaluate and export") in result.stdout
    assert "FlattenObservations" not in result.stdout
    # Switched off: the mask is one more observation, flattened.
    result = cli("train", "--env", ENV, "--dry-run", "--no-check-env", "--num-cpus", "2",
                 "--set", "action_mask.key=null")
    assert result.exit_code == 0, result.output
    assert "action mask" not in result.stdout and "FlattenObservations" in result.stdout
    # APPO's and IMPALA's modules are masked too (built here, on CPU, by the dry run).
    for algo in ("APPO", "IMPALA"):
        result = cli("train", "--env", ENV, "--algo", algo, "--dry-run", "--no-check-env",
                     "--num-cpus", "2")
        assert result.exit_code == 0, result.output
        assert "action mask: key 'action_mask'" in result.stdout
    result = cli("train", "--env", ENV, "--algo", "DQN", "--no-check-env", "--num-cpus", "2")
    assert_error(result, "DQN cannot train with an action mask (the observation's "
                 "'action_mask'): use one of PPO, APPO, IMPALA, or set action_mask.key: null "
                 "to train without masking", cli.cwd)


def _train(home: Path, name: str, log: Path, *extra: str) -> Path:
    result = Cli(home)(
        "train", "--env", ENV, "--seed", "0", "--name", name, "--num-cpus", "2",
        "--no-check-env", "--set", f"stop.timesteps={STEPS}",
        "--set", f'env_config.illegal_log="{log}"', *extra)
    assert result.exit_code == 0, result.output
    return home / "rlscale_runs" / name


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same env, seed and budget, masked and unmasked (an illegal action ends the
    episode with a penalty); each illegal action the env gets is a line in a log."""
    home = tmp_path_factory.mktemp("masks")
    return {
        "masked": _train(home, "masked", home / "masked.log"),
        "unmasked": _train(home, "unmasked", home / "unmasked.log",
                           "--set", "action_mask.key=null"),
        "home": home,
    }


def _illegal(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.mark.training
def test_a_masked_policy_never_acts_illegally_and_learns_faster(runs: dict[str, Path]) -> None:
    home = runs["home"]
    masked, unmasked = read_summary(runs["masked"]), read_summary(runs["unmasked"])
    assert masked["timesteps_total"] >= STEPS
    assert _illegal(home / "masked.log") == 0  # over every step of training
    assert _illegal(home / "unmasked.log") > 100  # the count is real
    # 25 steps of 0.17-1.0 each: random legal play earns about 14, the best play about 24;
    # one illegal action ends an unmasked episode at -1.
    assert masked["last_episode_return_mean"] > 15.0
    assert masked["last_episode_return_mean"] > unmasked["last_episode_return_mean"] + 5.0


@pytest.mark.training
def test_evaluate_and_the_exported_onnx_honour_the_mask(runs: dict[str, Path]) -> None:
    home, run = runs["home"], runs["masked"]
    cli = Cli(home)
    result = cli("evaluate", str(run), "--episodes", "20", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["length_mean"] == 25.0  # no episode ended early on an illegal action
    assert report["return_mean"] > 15.0
    result = cli("export", str(run), "-o", "masked.onnx")
    assert result.exit_code == 0, result.output
    assert "  input   action_mask  float32 [batch, 6]   1 legal, 0 illegal" in result.stdout
    # The example script: onnxruntime alone, the env raising on any illegal action.
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "onnx_masked_policy.py"),
         str(home / "masked.onnx"), "20"], capture_output=True, text=True, check=True,
        cwd=ROOT)
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert lines["illegal actions"] == "0"
    assert lines["ray imported"] == "False"
    assert float(lines["mean return"]) >= 0.9 * report["return_mean"]
    assert _illegal(home / "masked.log") == 0


@pytest.mark.training
def test_tictactoe_learns_against_a_fixed_opponent(cli: Cli) -> None:
    """PettingZoo's tic-tac-toe (AEC, masks in its observations): player_1 learns, player_2's
    policy never trains (random initial weights, sampled over its legal moves: about a
    random player). Sampled play, a random player_1 wins 57% of its games (player_2: 31%)."""
    pytest.importorskip("pettingzoo.classic")
    result = cli("train", str(ROOT / "examples" / "tictactoe.yaml"), "--name", "ttt",
                 "--num-cpus", "2", "--no-check-env", "--set", "stop.timesteps=10000")
    assert result.exit_code == 0, result.output
    run = cli.cwd / "rlscale_runs" / "ttt"
    assert read_summary(run)["agent_return_mean"]["player_1"] > 0.4  # random: about 0.3
    result = cli("evaluate", str(run), "--episodes", "200", "--explore", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["agent_policy"] == {"player_1": "learner", "player_2": "opponent"}
    assert report["agent_win_rate"]["player_1"] >= 0.66
    assert report["agent_win_rate"]["player_2"] < 0.2
    # A game has 5 moves at least; an illegal move would end it sooner (PettingZoo's rule).
    assert min(report["lengths"]) >= 5
    result = cli("evaluate", str(run), "--episodes", "2")
    assert "player_1   " in result.stdout and "(policy learner, wins " in result.stdout
    result = cli("export", str(run), "-o", "ttt")
    assert result.exit_code == 0, result.output
    mapping = json.loads((cli.cwd / "ttt" / "policy_mapping.json").read_text())
    assert mapping["policies"]["learner"]["inputs"] == ["obs", "action_mask"]


def test_every_forward_pass_of_a_masked_module_is_masked() -> None:
    """PPO's exploration/inference/training passes and APPO's target network: the argmax
    of the logits is legal whatever the (untrained) weights say."""
    import torch
    from ray.rllib.algorithms.appo import APPOConfig
    from ray.rllib.algorithms.ppo import PPOConfig

    from rlscale.algos.masked_modules import masked_spec

    sys.path.insert(0, str(ROOT / "examples"))
    from masked_choice import MaskedChoice

    env = MaskedChoice()
    mask = find_action_mask(env.observation_space, env.action_space)
    assert mask is not None
    obs = [env.reset(seed=i)[0] for i in range(16)]
    batch = {"obs": {k: torch.as_tensor(np.stack([o[k] for o in obs])) for k in obs[0]}}
    legal = np.stack([o["action_mask"] for o in obs]) > 0

    def assert_legal(logits: torch.Tensor) -> None:
        picked = logits.detach().argmax(-1).numpy()
        assert legal[np.arange(len(obs)), picked].all()

    for config in (PPOConfig(), APPOConfig()):
        config.environment(observation_space=env.observation_space,
                           action_space=env.action_space)
        config.rl_module(rl_module_spec=masked_spec(config, mask))
        module = config.get_rl_module_spec().build()
        for forward in (module.forward_exploration, module.forward_inference,
                        module.forward_train):
            assert_legal(forward(dict(batch))["action_dist_inputs"])
        if hasattr(module, "make_target_networks"):  # APPO
            module.make_target_networks()
            assert_legal(next(iter(module.forward_target(dict(batch)).values())))


def test_a_masked_recurrent_policy_exports_mask_and_state(tmp_path: Path) -> None:
    """An LSTM with a mask (untrained): evaluate's stepping (state carried) and the exported
    ONNX file (obs, action_mask, state in; logits, state out) pick the same legal actions."""
    ort = pytest.importorskip("onnxruntime")
    from ray.rllib.algorithms.ppo import PPOConfig

    from rlscale.algos.masked_modules import masked_spec
    from rlscale.evaluate.export import export_policy
    from rlscale.evaluate.restore import Policy

    sys.path.insert(0, str(ROOT / "examples"))
    from masked_choice import MaskedChoice

    env = MaskedChoice()
    config = PPOConfig().environment(observation_space=env.observation_space,
                                     action_space=env.action_space)
    config.rl_module(model_config={"use_lstm": True, "lstm_cell_size": 16, "max_seq_len": 5})
    mask = find_action_mask(env.observation_space, env.action_space)
    assert mask is not None
    config.rl_module(rl_module_spec=masked_spec(config, mask))
    module = config.get_rl_module_spec().build()
    module.eval()
    policy = Policy(module, env.observation_space, env.action_space, False, False)
    export_policy(policy, tmp_path / "p.onnx", "onnx")
    session = ort.InferenceSession(str(tmp_path / "p.onnx"), providers=["CPUExecutionProvider"])
    inputs = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    assert inputs[:2] == ["obs", "action_mask"] and inputs[2].startswith("state_in_")
    assert outputs[0] == "logits" and outputs[1].startswith("state_out_")
    onnx_state = {i.name: np.zeros([1, *i.shape[1:]], np.float32)
                  for i in session.get_inputs() if i.name.startswith("state_in_")}
    obs, _ = env.reset(seed=0)
    state = policy.initial_state()
    for _ in range(25):
        actions, state = policy.act_with_state([obs], state)
        flat, legal = policy.export_inputs([obs])
        logits, *next_state = session.run(outputs, {"obs": flat, "action_mask": legal,
                                                    **onnx_state})
        onnx_state = {name.replace("state_out_", "state_in_"): value
                      for name, value in zip(outputs[1:], next_state, strict=True)}
        assert int(logits.argmax()) == int(actions[0])
        assert obs["action_mask"][actions[0]] == 1
        obs, _, terminated, truncated, _ = env.step(int(actions[0]))
        assert not terminated
