"""Play CartPole-v1 with a policy exported by `rlscale export`: onnxruntime only, no Ray.

How to run:
    rlscale export rlscale_runs/quickstart --format onnx -o policy.onnx
    python examples/onnx_policy.py policy.onnx [EPISODES]

Result to expect (a policy trained to 450+): "mean return 500.0 over 10 episodes" and
"ray imported: False".
"""

import sys

import gymnasium as gym
import numpy as np
import onnxruntime as ort

session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
env = gym.make("CartPole-v1")
episodes = int(sys.argv[2]) if len(sys.argv) > 2 else 10
returns = []
for i in range(episodes):
    obs, _ = env.reset(seed=i)
    total, done = 0.0, False
    while not done:
        (logits,) = session.run(["logits"], {"obs": obs[None].astype(np.float32)})
        obs, reward, terminated, truncated, _ = env.step(int(logits.argmax()))
        total, done = total + reward, terminated or truncated
    returns.append(total)
print(f"mean return {np.mean(returns):.1f} over {episodes} episodes")
print("ray imported:", any(m == "ray" or m.startswith("ray.") for m in sys.modules))
