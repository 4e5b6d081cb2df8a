"""benchmarks/atari.py's table: the ratios of each round (pure: no Ray, no Atari, no timing)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import atari  # noqa: E402


def test_the_table_pairs_each_round() -> None:
    rows = [
        {"round": 1, "name": atari.RLSCALE, "steps": 6000, "train_s": 100.0, "wall_s": 150.0,
         "return_100": -20.5, "load": "load 1.00 on 2 cores"},
        {"round": 1, "name": atari.SB3, "steps": 4000, "train_s": 100.0, "wall_s": 120.0,
         "return_100": None, "load": "load 1.10 on 2 cores"},
        {"round": 2, "name": atari.SB3, "steps": 5000, "train_s": 100.0, "wall_s": 110.0,
         "return_100": -21.0, "load": "load 1.20 on 2 cores"},
    ]
    text = atari.table("ALE/Pong-v5", 100, 0, rows)
    assert "| 1 | rlscale PPO/atari | 6,000 | 100.0 | 150.0 | 60.0 | 40.0 | -20.5 |" in text
    assert "| 1 | SB3 Atari PPO | 4,000 | 100.0 | 120.0 | 40.0 | 33.3 | - |" in text
    # 60 / 40 steps/s of training; (6000 / 150) / (4000 / 120) of wall clock
    assert "round 1: env steps/s rlscale / SB3: 1.50 (training), 1.20 (wall clock)" in text
    assert "round 2:" not in text  # no rlscale row in round 2: no ratio
