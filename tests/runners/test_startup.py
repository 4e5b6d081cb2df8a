"""A local run is planned before RLlib and PyTorch are imported, so that its Ray starts
while they are (rlscale.runners.launch; docs/benchmarks.md, start-up)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_PLAN = """
import json, sys
import rlscale.cli.train
from rlscale.runners import launch
from rlscale.runners.job import prepare_job
seen = {"after_imports": sorted(m for m in ("ray.rllib", "torch") if m in sys.modules)}

def on_plan(plan):
    seen["at_plan"] = sorted(m for m in ("ray.rllib", "torch") if m in sys.modules)
    seen["cpus"] = plan.cpus_to_reserve

exp, preset = launch.load({"env": "CartPole-v1", "output": sys.argv[1],
                           "resources": {"num_cpus": 1}})
job = prepare_job(exp, preset, capacity=None, check_env=True, on_plan=on_plan)
seen["built"] = type(job.algo_config).__name__
print(json.dumps(seen))
"""


def test_a_local_run_is_planned_before_rllib_and_torch_are_imported(tmp_path: Path) -> None:
    output = tmp_path / "runs"
    done = subprocess.run([sys.executable, "-c", _PLAN, str(output)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"after_imports": [], "at_plan": [], "cpus": 1, "built": "PPOConfig"}
    assert not output.exists()  # planning writes nothing
