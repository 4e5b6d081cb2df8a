"""Multi-agent env specs, the policy mapping and check-env, without starting Ray."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest

from rlscale.algos.policies import parse_policies_flag, plan_policies
from rlscale.envs import multiagent
from rlscale.envs.check import check_env
from rlscale.envs.resolve import resolve_env
from rlscale.errors import ConfigError, EnvSpecError
from tests.conftest import assert_error

HERE = Path(__file__).parent
ENVS = f"{HERE / 'multiagent_envs.py'}"
EXAMPLES = HERE.parents[1] / "examples"


@pytest.mark.parametrize(("spec", "config", "kind", "agents"), [
    ("mpe2.simple_spread_v3:parallel_env", {"N": 2}, multiagent.PARALLEL,
     ("agent_0", "agent_1")),
    ("mpe2.simple_spread_v3:env", {"N": 2}, multiagent.AEC, ("agent_0", "agent_1")),
    ("pettingzoo.classic.rps_v2:env", {}, multiagent.AEC, ("player_0", "player_1")),
    (f"{ENVS}:MixedEnding", {"length": 4}, multiagent.PARALLEL, ("a", "b")),
    (f"{ENVS}:Grid", {"steps": 3}, multiagent.RLLIB,
     ("battery_0", "battery_1", "grid_operator")),
    (f"{EXAMPLES / 'feeder_batteries.py'}:FeederBatteries", {"num_batteries": 2},
     multiagent.PARALLEL, ("battery_0", "battery_1")),
])
def test_multiagent_specs_resolve_with_their_agents_and_config(spec, config, kind,
                                                               agents) -> None:
    resolved = resolve_env(spec, config)
    assert resolved.is_multiagent and resolved.agents is not None
    assert resolved.agents.kind == kind
    assert resolved.agents.agents == agents  # the env's own order
    assert resolved.observation_space is None and resolved.action_space is None
    env = resolved.make()  # as RLlib's env runners build it: an RLlib MultiAgentEnv
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    assert isinstance(env, MultiAgentEnv)
    obs, _ = env.reset(seed=0)
    assert set(map(str, obs)) <= set(agents)


def test_env_config_reaches_the_constructor() -> None:
    env = resolve_env(f"{ENVS}:MixedEnding", {"length": 7, "scale": 2.0}).make()
    assert env.par_env.length == 7 and env.par_env.scale == 2.0
    grid = resolve_env(f"{ENVS}:Grid", {"steps": 9}).make()
    assert grid.steps == 9  # a config dict for a class that takes one


def test_a_registered_gymnasium_id_with_a_pettingzoo_entry_point() -> None:
    gym.register("RlscaleTest/Spread-v0", entry_point="mpe2.simple_spread_v3:parallel_env",
                 kwargs={"N": 3})
    try:
        resolved = resolve_env("RlscaleTest/Spread-v0", {"max_cycles": 5})
        assert resolved.agents is not None
        assert resolved.agents.agents == ("agent_0", "agent_1", "agent_2")
        env = resolved.make()
        env.reset(seed=0)
        for _ in range(5):
            *_, terminated, truncated, _ = env.step({a: 0 for a in env.agents})
        assert truncated["__all__"]  # max_cycles=5 from env_config reached the factory
        # Registered in this process only (no --env-package): env runners could not build it.
        report = check_env("RlscaleTest/Spread-v0", {"max_cycles": 5}, episodes=1)
        assert [p.message for p in report.errors] == [
            "cannot be re-created in another process (as Ray's env runners do): "
            "EnvSpecError: unknown environment 'RlscaleTest/Spread-v0'"]
    finally:
        del gym.registry["RlscaleTest/Spread-v0"]


def test_rllibs_parallel_wrapper_never_ends_a_mixed_ending_and_ours_does() -> None:
    """One agent terminates and the other is truncated in the same step: PettingZoo's agent
    list is empty, the episode is over. RLlib's ParallelPettingZooEnv sets neither
    '__all__' (so RLlib would step an env without agents); rlscale's wrapper ends it."""
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    from tests.envs.multiagent_envs import MixedEnding

    for wrapper, ends in ((ParallelPettingZooEnv, False), (multiagent.wrap, True)):
        env = wrapper(MixedEnding(length=2))
        env.reset(seed=0)
        env.step({"a": 0, "b": 1})
        _, rewards, terminated, truncated, _ = env.step({"a": 1, "b": 1})
        assert env.par_env.agents == []
        assert terminated["a"] and truncated["b"] and rewards == {"a": 1.0, "b": 1.0}
        assert (terminated["__all__"] or truncated["__all__"]) is ends, wrapper
    # check-env reports it for RLlib's wrapper, and passes rlscale's.
    report = check_env(f"{ENVS}:rllib_wrapped_mixed_ending", episodes=1, recreate=False)
    assert [p.message for p in report.errors] == [
        "the PettingZoo env has no agents left but terminateds/truncateds do not set "
        "'__all__': the episode never ends (first episode 1, step 3)"]
    assert check_env(f"{ENVS}:MixedEnding", episodes=2, recreate=False).ok


def test_rllibs_aec_wrapper_never_ends_a_mixed_ending_and_ours_does() -> None:
    """The same for a turn-based env: the last turn ends p0 by termination and p1 by
    truncation. RLlib's PettingZooEnv sets neither '__all__'; rlscale's wrapper (which keeps
    RLlib's turn-by-turn stepping) ends the episode, with the same rewards and flags."""
    from ray.rllib.env.wrappers.pettingzoo_env import PettingZooEnv

    from tests.envs.multiagent_envs import TakeTurns

    outcomes = []
    for wrapper in (PettingZooEnv, multiagent.wrap):
        env = wrapper(TakeTurns(length=2, fault="mixed"))
        obs, _ = env.reset(seed=0)
        assert list(obs) == ["p0"]
        env.step({"p0": 1})
        _, rewards, terminated, truncated, _ = env.step({"p1": 1})
        assert env.env.agents == []
        outcomes.append((rewards, terminated, truncated))
    (theirs_r, theirs_term, theirs_trunc), (ours_r, ours_term, ours_trunc) = outcomes
    assert theirs_r == ours_r and theirs_term["p0"] and theirs_trunc["p1"]
    assert not (theirs_term["__all__"] or theirs_trunc["__all__"])
    assert ours_trunc["__all__"] and not ours_term["__all__"]
    assert {k: v for k, v in ours_term.items() if k != "__all__"} == {
        k: v for k, v in theirs_term.items() if k != "__all__"}
    report = check_env(f"{ENVS}:rllib_wrapped_take_turns", episodes=1, recreate=False)
    assert [p.message for p in report.errors] == [
        "the PettingZoo env has no agents left but terminateds/truncateds do not set "
        "'__all__': the episode never ends (first episode 1, step 4)"]
    assert check_env(f"{ENVS}:TakeTurns", {"fault": "mixed"}, episodes=2, recreate=False).ok


def test_check_env_reports_agents_spaces_and_per_agent_returns() -> None:
    report = check_env(f"{ENVS}:Grid", {"steps": 4}, episodes=2, seed=1)  # new process too
    assert report.ok, report.problems
    assert report.agents == {
        "battery_0": ("Box(2,) float32", "Discrete(2)"),
        "battery_1": ("Box(2,) float32", "Discrete(2)"),
        "grid_operator": ("Box(3,) float32", "Discrete(2)"),
    }
    assert report.episode_lengths == [4, 4]
    assert set(report.agent_returns) == set(report.agents)
    assert all(len(r) == 2 and 0 <= r[0] <= 4 for r in report.agent_returns.values())
    assert report.episode_returns[0] == pytest.approx(
        sum(r[0] for r in report.agent_returns.values()))
    assert report.agent_lengths["grid_operator"] == [4, 4]


@pytest.mark.parametrize(("env", "fault", "message"), [
    ("Grid", "outside", "agent battery_1: observation outside its declared Box(2,) float32: "
                        "element 1 is 5 > high 1 (first episode 1, step 2)"),
    ("Grid", "stranger", "agent battery_9 has an observation but is not one of the env's "
                         "possible agents (battery_0, battery_1, grid_operator) (first episode "
                         "1, step 1)"),
    ("Grid", "no_all", "step(): terminateds has no '__all__' key (RLlib ends an episode when "
                       "terminateds['__all__'] is true) (first episode 1, step 1)"),
    ("Grid", "nan", "step(): agent grid_operator's reward is nan (first episode 1, step 3)"),
    ("Grid", "zombie", "agent battery_0 has an observation after it was done (first episode "
                       "1, step 3)"),
    ("Grid", "never_ends", "every agent is done (battery_0, battery_1, grid_operator) but "
                           "neither terminateds nor truncateds sets '__all__' (first episode "
                           "1, step 5)"),
    # A parallel env's agent list (MixedEnding): kept in step with its dicts.
    ("MixedEnding", "keeps_done", "agent a is done but still in the env's agent list (first "
                                  "episode 1, step 3)"),
    ("MixedEnding", "drops_obs", "agent b is in the env's agent list but has no observation "
                                 "(first episode 1, step 1)"),
])
def test_check_env_finds_multiagent_problems(env: str, fault: str, message: str) -> None:
    report = check_env(f"{ENVS}:{env}", {"fault": fault}, episodes=1, recreate=False)
    assert message in [p.message for p in report.errors], report.problems


AEC_FAULTS = [
    ("stranger", "agent p9 is in env.agents but not one of the env's possible agents (p0, "
                 "p1) (first episode 1, step 1)"),
    ("stale_dicts", "agent p1 is in env.agents but not in env.rewards (first episode 1, "
                    "step 1)"),
    ("selection", "env.agent_selection is 'p7', not one of env.agents (p0, p1) (first "
                  "episode 1, step 2)"),
    ("vanishes", "agent p1 left env.agents without being terminated or truncated (first "
                 "episode 1, step 2)"),
    ("undead", "agent p0 is still in env.agents after its last step (the step with action "
               "None after it was terminated or truncated) (first episode 1, step 5)"),
    ("returns", "agent p0 is back in env.agents after it left (first episode 1, step 6)"),
    ("undone", "agent p1 was terminated or truncated, then not, before it left env.agents "
               "(first episode 1, step 5)"),
]


def test_check_env_checks_an_aec_envs_agent_bookkeeping() -> None:
    """A turn-based (AEC) env's own bookkeeping is checked on the env itself, each rule
    once: a sound env and PettingZoo's rock-paper-scissors pass; each fault is named, alone,
    at the step where it first happens (RLlib's wrapper is not stepped into a KeyError)."""
    sound = check_env(f"{ENVS}:TakeTurns", episodes=2, recreate=False)
    assert sound.ok and sound.problems == [], sound.problems
    assert sound.episode_returns == [sum(r) for r in zip(*sound.agent_returns.values(),
                                                         strict=True)]
    assert check_env("pettingzoo.classic.rps_v2:env", episodes=2, recreate=False).ok
    for fault, message in AEC_FAULTS:
        report = check_env(f"{ENVS}:TakeTurns", {"fault": fault}, episodes=2, recreate=False)
        assert [p.message for p in report.problems] == [message], (fault, report.problems)


def test_check_env_cli_prints_agents_and_fails_on_a_broken_env(cli) -> None:
    ok = cli("check-env", f"{ENVS}:Grid", "--episodes", "1")
    assert ok.exit_code == 0, ok.output
    assert "Agents        3 (RLlib MultiAgentEnv)" in ok.stdout
    assert "  grid_operator  observations Box(3,) float32, actions Discrete(2)" in ok.stdout
    assert "  returns     " in ok.stdout and "(summed over agents)" in ok.stdout
    bad = cli("check-env", f"{ENVS}:Grid", "--env-config", '{"fault": "nan"}', "--episodes", "1")
    assert bad.exit_code == 1
    assert "agent grid_operator's reward is nan" in bad.stdout


def _grid_agents():
    resolved = resolve_env(f"{ENVS}:Grid")
    assert resolved.agents is not None
    return resolved.agents


def test_policies_default_shared_per_agent_and_patterns() -> None:
    spread = resolve_env("mpe2.simple_spread_v3:parallel_env", {"N": 3}).agents
    assert spread is not None
    shared = plan_policies(None, None, spread)  # same spaces: one shared policy
    assert shared.policies == ("shared",) and set(shared.mapping.values()) == {"shared"}
    grid = _grid_agents()
    per = plan_policies(None, None, grid)  # spaces differ: one policy per agent
    assert per.mapping == {"battery_0": "battery_0", "battery_1": "battery_1",
                           "grid_operator": "grid_operator"}
    mapped = plan_policies({"battery_*": "battery", "grid_operator": "operator"}, ["battery"],
                           grid)
    assert mapped.mapping == {"battery_0": "battery", "battery_1": "battery",
                              "grid_operator": "operator"}
    assert mapped.policies == ("battery", "operator") and mapped.to_train == ("battery",)


@pytest.mark.parametrize(("setting", "to_train", "message"), [
    ("shared", None, "policies: agents battery_0 (observations Box(2,) float32, actions "
                     "Discrete(2)) and grid_operator (observations Box(3,) float32, actions "
                     "Discrete(2)) cannot share policy 'shared': their spaces differ"),
    ({"battery_*": "battery"}, None, "policies: agent(s) grid_operator match no pattern "
                                     "(battery_*)"),
    ({"battery_*": "b", "grid_operator": "o", "pv_*": "pv"}, None,
     "policies: pattern 'pv_*' matches no agent (agents: battery_0, battery_1, grid_operator)"),
    ("per_agnet", None, "policies: expected shared, per_agent or a mapping of agent-id "
                        "patterns to policy names, got 'per_agnet' (did you mean 'per_agent'?)"),
    ("per_agent", ["batery_0"], "policies_to_train: no policy 'batery_0' (policies: "
                                 "battery_0, battery_1, grid_operator) (did you mean "
                                 "'battery_0'?)"),
])
def test_policy_errors_name_the_agents(setting, to_train, message) -> None:
    with pytest.raises(ConfigError) as err:
        plan_policies(setting, to_train, _grid_agents())
    assert str(err.value) == message


def test_policies_flag_parses() -> None:
    assert parse_policies_flag("per_agent") == "per_agent"
    assert parse_policies_flag("battery_*=battery, grid_operator=operator") == {
        "battery_*": "battery", "grid_operator": "operator"}
    with pytest.raises(ConfigError, match="expected shared, per_agent or PATTERN=POLICY"):
        parse_policies_flag("battery_*")


def test_train_refuses_bad_policies_before_ray(cli) -> None:
    result = cli("train", "--env", f"{ENVS}:Grid", "--policies", "shared", "--dry-run")
    assert_error(result, "policies: agents battery_0 (observations Box(2,) float32, actions "
                 "Discrete(2)) and grid_operator (observations Box(3,) float32, actions "
                 "Discrete(2)) cannot share policy 'shared': their spaces differ", cli.cwd)
    single = cli("train", "--env", "CartPole-v1", "--policies", "per_agent", "--dry-run")
    assert_error(single, "policies: 'CartPole-v1' is a single-agent env", cli.cwd)
    dqn = cli("train", "--env", "mpe2.simple_spread_v3:parallel_env", "--env-config",
              '{"continuous_actions": true}', "--algo", "DQN", "--dry-run")
    assert_error(dqn, "DQN cannot handle the action space Box(0.0, 1.0, (5,), float32) (DQN "
                 "supports Discrete actions); use SAC (continuous or discrete) or PPO (any) "
                 "instead", cli.cwd)


def test_dry_run_shows_agents_and_policies(cli) -> None:
    result = cli("train", "--env", f"{ENVS}:Grid", "--policies",
                 "battery_*=battery,grid_operator=operator", "--set",
                 "policies_to_train=[battery]", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "observations battery_0: Box(2,) float32, battery_1: Box(2,) float32, " \
           "grid_operator: Box(3,) float32; actions battery_0: Discrete(2)" in result.stdout
    assert "policy battery: battery_0, battery_1\n" in result.stdout
    assert "policy operator: grid_operator  (not trained)\n" in result.stdout
    assert "policies_to_train:\n  - battery\n" in result.stdout


def test_a_non_env_factory_is_still_refused() -> None:
    with pytest.raises(EnvSpecError, match="not a gymnasium.Env"):
        resolve_env("collections:OrderedDict")


@pytest.mark.parametrize(("algo", "buffer"), [
    ("DQN", "MultiAgentEpisodeReplayBuffer"),  # DQN/default's EpisodeReplayBuffer, swapped
    ("SAC", "MultiAgentPrioritizedEpisodeReplayBuffer"),  # RLlib's own default, swapped
])
def test_replay_buffers_become_multi_agent(algo: str, buffer: str, tmp_path) -> None:
    """DQN and SAC default to single-agent episode replay buffers, which fail on multi-agent
    episodes: a multi-agent run gets RLlib's multi-agent counterpart (no Ray started)."""
    from rlscale.config import resolve_experiment
    from rlscale.runners import prepare_job

    exp, preset = resolve_experiment(None, flags={
        "env": f"{ENVS}:Grid", "algo": algo, "output": str(tmp_path),
        "policies": {"battery_*": "battery", "grid_operator": "operator"}})
    config = prepare_job(exp, preset).algo_config
    assert config.replay_buffer_config["type"] == buffer
    if "Prioritized" in buffer:
        assert config.replay_buffer_config["beta"] == 0.4
