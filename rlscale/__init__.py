"""rlscale: train RL agents with Ray RLlib and Tune, from one core to many Slurm nodes."""

__version__ = "0.1.0"
