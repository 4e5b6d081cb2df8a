"""The embedded Ray session: its processes run PyTorch with the plan's thread count."""

from __future__ import annotations

import os

import pytest

from rlscale.runners.session import start_local_ray, stop_ray, torch_thread_environment


def test_torch_threads_default_to_the_plan_but_respect_the_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert torch_thread_environment(1) == {"OMP_NUM_THREADS": "1"}
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert torch_thread_environment(1) == {"OMP_NUM_THREADS": "4"}


def test_a_two_core_ray_process_runs_torch_with_one_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ray

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    # Ray would give a 2-CPU actor (the main process of a 2-core plan) 2 threads.
    start_local_ray(num_cpus=2, num_gpus=0, torch_threads=1)
    try:

        @ray.remote(num_cpus=2)
        def threads() -> tuple[str | None, int]:
            import torch

            return os.environ.get("OMP_NUM_THREADS"), torch.get_num_threads()

        assert ray.get(threads.remote()) == ("1", 1)
    finally:
        stop_ray()
        os.environ.pop("OMP_NUM_THREADS", None)
