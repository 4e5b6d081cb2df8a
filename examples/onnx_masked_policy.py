"""Play examples/masked_choice.py with a masked policy exported by `rlscale export`:
onnxruntime only, no Ray. The file takes two inputs, `obs` (the observation without its
mask, flattened) and `action_mask` (1 legal, 0 illegal); the argmax of its logits is always
a legal action. The env here raises on an illegal action instead of ending the episode.

How to run (from the repository root):
    rlscale train examples/masked_choice.yaml --name masked
    rlscale export rlscale_runs/masked -o masked.onnx
    python examples/onnx_masked_policy.py masked.onnx [EPISODES]

Result to expect: "illegal actions: 0", "mean return: " about evaluate's (20+ for a policy
trained as masked_choice.yaml says), "ray imported: False".
"""

import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
from masked_choice import MaskedChoice  # noqa: E402

session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
env = MaskedChoice({"illegal": "raise"})
rest = gym.spaces.Dict({k: s for k, s in env.observation_space.spaces.items()
                        if k != "action_mask"})
episodes = int(sys.argv[2]) if len(sys.argv) > 2 else 10
returns, illegal = [], 0
for i in range(episodes):
    obs, _ = env.reset(seed=i)
    total, done = 0.0, False
    while not done:
        flat = gym.spaces.flatten(rest, {k: obs[k] for k in rest.spaces})
        mask = obs["action_mask"].astype(np.float32)
        (logits,) = session.run(["logits"], {"obs": flat[None].astype(np.float32),
                                             "action_mask": mask[None]})
        action = int(logits.argmax())
        illegal += int(mask[action] == 0)
        obs, reward, terminated, truncated, _ = env.step(action)
        total, done = total + float(reward), terminated or truncated
    returns.append(total)
print(f"mean return: {np.mean(returns):.2f}")
print(f"illegal actions: {illegal}")
print("ray imported:", any(m == "ray" or m.startswith("ray.") for m in sys.modules))
