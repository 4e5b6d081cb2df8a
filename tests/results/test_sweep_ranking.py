"""The sweep's ranking: by the training return, or by the evaluation return when the
trials evaluated (evaluation.every), the two orders disagreeing on purpose."""

from __future__ import annotations

from rlscale.results.sweep import RANK_BY_EVAL, RANK_BY_RETURN, TrialRecord, rank_points


def _trial(name: str, lr: float, seed: int, ret: float, eval_ret: float | None) -> TrialRecord:
    return TrialRecord(name=name, path=f"/runs/{name}", values={"algo_config.lr": lr},
                       seed=seed, status="completed", best_episode_return_mean=ret,
                       last_episode_return_mean=ret, timesteps_total=4000, iterations=2,
                       time_total_s=10.0, stopped_early=False, best_eval_return_mean=eval_ret)


# lr 1e-3 has the better training return, lr 1e-4 the better greedy (evaluation) return.
TRIALS = [
    _trial("t0", 1e-3, 0, 80.0, 40.0), _trial("t1", 1e-3, 1, 90.0, 50.0),
    _trial("t2", 1e-4, 0, 60.0, 100.0), _trial("t3", 1e-4, 1, 50.0, 120.0),
]


def test_evaluation_return_ranks_the_points_when_the_trials_evaluated() -> None:
    by_eval = rank_points(TRIALS, "max", RANK_BY_EVAL)
    assert [p.values["algo_config.lr"] for p in by_eval] == [1e-4, 1e-3]
    assert [p.rank for p in by_eval] == [1, 2]
    first = by_eval[0]
    assert (first.score, first.score_std) == (110.0, 10.0)
    assert first.best_eval_return_mean == 110.0 and first.best_return_mean == 55.0
    assert first.ranked_by == RANK_BY_EVAL and first.trials == ["t2", "t3"]

    by_return = rank_points(TRIALS, "max", RANK_BY_RETURN)
    assert [p.values["algo_config.lr"] for p in by_return] == [1e-3, 1e-4]
    assert by_return[0].score == 85.0


def test_a_point_that_never_evaluated_ranks_last() -> None:
    trials = [*TRIALS[:2], _trial("t4", 1e-5, 0, 200.0, None)]
    points = rank_points(trials, "max", RANK_BY_EVAL)
    assert [p.values["algo_config.lr"] for p in points] == [1e-3, 1e-5]
    assert points[-1].score is None and points[-1].best_return_mean == 200.0
