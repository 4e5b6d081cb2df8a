"""``rlscale evaluate`` on a real trained run: statistics, checkpoints, video, errors."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

from rlscale.evaluate.video import count_frames

pytestmark = pytest.mark.training


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_reports_statistics_of_greedy_episodes(cli, trained_run: Path) -> None:
    out = _json(cli("evaluate", str(trained_run), "--episodes", "5", "--json"))
    returns = np.array(out["returns"])
    assert len(returns) == 5 and len(out["lengths"]) == 5
    # CartPole: reward 1 per step, so a return is the episode's length.
    assert out["returns"] == [float(n) for n in out["lengths"]]
    assert out["return_mean"] == pytest.approx(returns.mean())
    assert out["return_std"] == pytest.approx(returns.std())
    assert out["return_min"] == returns.min() and out["return_max"] == returns.max()
    assert out["length_mean"] == pytest.approx(np.mean(out["lengths"]))
    assert 8 <= out["return_min"] <= out["return_max"] <= 500
    summary = json.loads((trained_run / "summary.json").read_text())
    assert out["checkpoint"] == summary["best_checkpoint"]
    assert out["env"] == "CartPole-v1" and out["algo"] == "PPO" and out["explore"] is False
    # Same seed, same greedy policy: the same episodes, from the Python API too.
    import rlscale

    report = rlscale.evaluate(trained_run, episodes=5)
    assert report.returns == out["returns"] and report.checkpoint == out["checkpoint"]
    assert set(report.as_dict()) == set(out)


def test_text_output_checkpoint_choice_and_explore(cli, trained_run: Path) -> None:
    summary = json.loads((trained_run / "summary.json").read_text())
    result = cli("evaluate", str(trained_run), "--checkpoint", "last", "--episodes", "3")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [ln.split()[0] for ln in lines[:5]] == [
        "return_mean", "return_std", "return_min", "return_max", "length_mean"]
    assert f"checkpoint   {summary['last_checkpoint']}" in result.stdout
    assert "episodes     3 (greedy actions, seed 0)" in result.stdout
    # A checkpoint directory itself is accepted; it lies inside the run.
    ckpt = trained_run / summary["checkpoints"][0]["path"]
    first = _json(cli("evaluate", str(ckpt), "--episodes", "2", "--json"))
    assert first["checkpoint"] == summary["checkpoints"][0]["path"]
    # --checkpoint also takes a checkpoint's folder name inside the run.
    name = Path(summary["checkpoints"][0]["path"]).name
    by_name = _json(cli("evaluate", str(trained_run), "--checkpoint", name, "--episodes", "2",
                        "--json"))
    assert by_name["checkpoint"] == first["checkpoint"]
    assert by_name["returns"] == first["returns"]
    sampled = _json(cli("evaluate", str(trained_run), "--episodes", "8", "--explore",
                        "--seed", "3", "--json"))
    assert sampled["explore"] is True and sampled["seed"] == 3


def test_env_config_override_reaches_the_env(cli, trained_run: Path) -> None:
    """--env-config takes JSON, as train and check-env do; KEY=VALUE is an alias."""
    out = _json(cli("evaluate", str(trained_run), "--episodes", "2", "--json",
                    "--env-config", '{"max_episode_steps": 5}'))
    assert out["lengths"] == [5, 5]
    out = _json(cli("evaluate", str(trained_run), "--episodes", "1", "--json",
                    "--env-config", "max_episode_steps=4"))
    assert out["lengths"] == [4]


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_video_has_one_frame_per_step(cli, trained_run: Path, suffix: str) -> None:
    video = cli.cwd / f"episodes{suffix}"
    episodes = "2" if suffix == ".mp4" else "1"  # GIF encoding is slow
    out = _json(cli("evaluate", str(trained_run), "--episodes", episodes, "--json",
                    "--video", str(video)))
    assert video.is_file()
    assert out["video_frames"] == sum(out["lengths"])
    assert count_frames(video) == sum(out["lengths"])
    again = cli("evaluate", str(trained_run), "--episodes", "1", "--video", str(video))
    assert again.exit_code == 2
    assert again.stderr == f"Error: {video} already exists; pass --overwrite to replace it\n"


def test_errors_are_one_line(cli, trained_run: Path, run_copy: Path) -> None:
    result = cli("evaluate", "nowhere")
    assert (result.exit_code, result.stderr) == (
        2, "Error: nowhere: no such file or directory\n")

    (cli.cwd / "plain").mkdir()
    result = cli("evaluate", "plain")
    assert (result.exit_code, result.stderr) == (
        2, f"Error: {(cli.cwd / 'plain').resolve()} is not an rlscale run directory or "
           "checkpoint\n")

    result = cli("evaluate", str(trained_run), "--checkpoint", "checkpoint_9")
    assert (result.exit_code, result.stderr) == (
        2, f"Error: --checkpoint checkpoint_9: no such checkpoint in {trained_run}\n")

    result = cli("evaluate", str(trained_run), "--video", "out.avi")
    assert (result.exit_code, result.stderr) == (
        2, "Error: --video out.avi: the file name must end in .mp4 or .gif\n")

    result = cli("evaluate", str(trained_run), "--env-config", "oops")
    assert (result.exit_code, result.stderr) == (
        2, "Error: --env-config: expected a JSON object like '{\"key\": 1}', got oops\n")

    summary_path = run_copy / "summary.json"
    fresh = json.loads(summary_path.read_text())
    summary_path.write_text(json.dumps(
        {**fresh, "best_checkpoint": None, "last_checkpoint": None, "checkpoints": []}))
    result = cli("evaluate", str(run_copy))
    assert (result.exit_code, result.stderr) == (
        2, f"Error: run {run_copy.resolve()} has no checkpoint yet\n")
    summary_path.write_text(json.dumps(fresh))

    config = yaml.safe_load((run_copy / "config.yaml").read_text())
    (run_copy / "config.yaml").write_text(yaml.safe_dump({**config, "env": "CartPoel-v1"}))
    result = cli("evaluate", str(run_copy))
    assert (result.exit_code, result.stderr) == (
        2, "Error: unknown environment 'CartPoel-v1' (did you mean 'CartPole-v1'?) "
           "(the run's env spec no longer resolves)\n")
    assert result.stdout == ""


class _NoRender(gym.Env):
    """CartPole's spaces, but no rendering at all."""

    metadata = {"render_modes": []}
    observation_space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = None


def test_video_of_an_env_that_cannot_render(cli, run_copy: Path) -> None:
    if "rlscale-test/NoRender-v0" not in gym.registry:
        gym.register("rlscale-test/NoRender-v0", entry_point=_NoRender)
    config = yaml.safe_load((run_copy / "config.yaml").read_text())
    (run_copy / "config.yaml").write_text(
        yaml.safe_dump({**config, "env": "rlscale-test/NoRender-v0"}))
    result = cli("evaluate", str(run_copy), "--video", "v.mp4")
    assert (result.exit_code, result.stderr) == (
        2, "Error: environment 'rlscale-test/NoRender-v0' cannot render rgb_array frames "
           "(its render modes: none); --video needs an environment with rgb_array rendering\n")
    assert not (cli.cwd / "v.mp4").exists()


HIGHWAY_LIKE = '''
import os

import gymnasium as gym
import numpy as np


class DrawsNothingUnderDummySdl(gym.Env):
    """Renders as highway-env does: its viewer draws nothing when SDL's video driver is
    "dummy" (highway_env.envs.common.graphics.EnvViewer), so the frames come out black."""

    metadata = {"render_modes": ["rgb_array"]}
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, True, False, {}

    def render(self):
        frame = np.zeros((4, 4, 3), np.uint8)
        if os.environ.get("SDL_VIDEODRIVER") != "dummy":
            frame[:] = 200
        return frame
'''


def test_video_frames_show_the_env_off_screen(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """evaluate --video renders off screen with SDL's "offscreen" driver, under which
    pygame envs draw (CartPole) and highway-env does too (it draws nothing under "dummy")."""
    from rlscale.evaluate.episodes import make_eval_env

    monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    (tmp_path / "highway_like.py").write_text(HIGHWAY_LIKE)
    for spec in (f"{tmp_path / 'highway_like.py'}:DrawsNothingUnderDummySdl", "CartPole-v1"):
        env = make_eval_env(spec, render=True)
        env.reset(seed=0)
        frame = env.render()
        env.close()
        assert isinstance(frame, np.ndarray) and frame.mean() > 50, spec
