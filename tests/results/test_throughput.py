"""Where the time went: one iteration's record from the per-runner counts, folded into the
summary, and the lines shown after training and by ``rlscale status``. Pure functions."""

from __future__ import annotations

from rlscale.algos.throughput import summarize
from rlscale.results.throughput import bound_line, describe_nodes, describe_split, fold_throughput

# Per node, per runner: env steps, seconds in sample() and its CPU seconds (where
# recorded) during one iteration.
LOGGED = {
    "127.0.0.3": {"1": {"steps": 512.0, "sample_s": 0.50, "sample_cpu_s": 0.25}},
    "127.0.0.4": {"2": {"steps": 512.0, "sample_s": 0.80}, "3": {"steps": 512.0,
                                                              "sample_s": 0.60}},
}


def test_one_iteration() -> None:
    record = summarize(LOGGED, iteration_s=1.6, learning_s=0.4)
    # The algorithm waits for the slowest sampler: 0.8 s of sampling.
    assert (record["sampling_s"], record["learning_s"], record["waiting_s"]) == (0.8, 0.4, 0.4)
    assert (record["sampling_share"], record["learning_share"], record["waiting_share"]) == \
        (0.5, 0.25, 0.25)
    assert record["slowest_runner_vs_median"] == round(0.8 / 0.6, 3)
    # CPU seconds: every sampling process's summed (a process that logged none adds 0).
    assert (record["sampling_cpu_s"], record["learning_cpu_s"]) == (0.25, None)
    assert record["nodes"] == [
        {"node": "127.0.0.3", "sampling_processes": 1, "env_steps": 512,
         "env_steps_per_s": 640.0},
        {"node": "127.0.0.4", "sampling_processes": 2, "env_steps": 1024,
         "env_steps_per_s": 1280.0},
    ]


def test_the_first_iteration_counts_steps_but_is_not_timed() -> None:
    record = summarize(LOGGED, iteration_s=None, learning_s=None)
    assert record["sampling_share"] is None and record["nodes"][0]["env_steps"] == 512
    folded = fold_throughput(None, {"rlscale_throughput": record})
    assert folded is not None and folded["total"]["iterations"] == 0
    assert folded["bound"] is None and bound_line(folded) is None
    assert folded["node_env_steps"] == {"127.0.0.3": 512, "127.0.0.4": 1024}


def test_folded_over_iterations_and_described() -> None:
    folded = None
    for iteration_s, learning_s in ((None, None), (1.6, 0.4), (2.0, 1.0)):
        record = summarize(LOGGED, iteration_s=iteration_s, learning_s=learning_s,
                           learning_cpu_s=learning_s and learning_s / 2)
        folded = fold_throughput(folded, {"rlscale_throughput": record, "other": 1})
    assert folded is not None
    assert folded["total"] == {"iterations": 2, "iteration_s": 3.6, "sampling_s": 1.6,
                               "learning_s": 1.4, "waiting_s": 0.6, "sampling_cpu_s": 0.5,
                               "learning_cpu_s": 0.7}
    assert folded["bound"] == "sampling"
    assert folded["node_env_steps"] == {"127.0.0.3": 1536, "127.0.0.4": 3072}
    assert describe_split(folded) == ("sampling 44%, learning 39%, waiting 17% (over 2 "
                                      "iteration(s) after the first)")
    assert describe_nodes(folded) == (
        "127.0.0.3 640 steps/s (1 process(es), 1,536 steps), "
        "127.0.0.4 1,280 steps/s (2 process(es), 3,072 steps)")
    line = bound_line(folded)
    assert line is not None and line.startswith("Sampling bound the run: sampling 44%")
    assert "slowest sampler 1.33x the median" in line
    # A result without the record leaves the summary's throughput as it was.
    assert fold_throughput(folded, {"training_iteration": 4}) == folded


def test_a_process_that_sampled_nothing_is_not_counted() -> None:
    """The main process, once it handed sampling over to the env runners, reports 0 steps."""
    logged = {"127.0.0.1": {"0": {"steps": 0.0, "sample_s": 0.0},
                            "1": {"steps": 512.0, "sample_s": 0.5}}}
    record = summarize(logged, iteration_s=1.0, learning_s=0.25)
    assert record["nodes"] == [{"node": "127.0.0.1", "sampling_processes": 1,
                                "env_steps": 512, "env_steps_per_s": 1024.0}]
