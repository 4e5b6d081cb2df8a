"""What a trained policy is worth: restore it, run episodes, record video, export it."""

from rlscale.evaluate.restore import CheckpointRef, Policy, load_policy, locate_checkpoint

__all__ = ["CheckpointRef", "Policy", "load_policy", "locate_checkpoint"]
