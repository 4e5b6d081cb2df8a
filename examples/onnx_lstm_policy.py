"""Play CartPole without velocities (examples/stateless_cartpole.py) with a recurrent policy
exported by `rlscale export`, step by step: onnxruntime only, no Ray.

The file takes `obs` and the policy's state, `state_in_*` (zeros at an episode's start), and
returns `logits` and the next state, `state_out_*`, which goes back in at the next step.

How to run (from the repository root):
    rlscale train examples/stateless_cartpole.yaml --name lstm
    rlscale export rlscale_runs/lstm -o lstm.onnx
    python examples/onnx_lstm_policy.py lstm.onnx [EPISODES]

Result to expect: "mean return: " about what `rlscale evaluate rlscale_runs/lstm` reports
(the same greedy policy, the same episodes: seeds 0, 1, ...), and "ray imported: False".
"""

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stateless_cartpole import StatelessCartPole  # noqa: E402

session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
states = [i for i in session.get_inputs() if i.name.startswith("state_in_")]
outputs = ["logits", *(f"state_out_{i.name.removeprefix('state_in_')}" for i in states)]
env = StatelessCartPole()
episodes = int(sys.argv[2]) if len(sys.argv) > 2 else 10
returns = []
for i in range(episodes):
    obs, _ = env.reset(seed=i)
    # A new episode, a new memory: zeros of each state input's shape (batch of one).
    state = {s.name: np.zeros([1, *s.shape[1:]], np.float32) for s in states}
    total, done = 0.0, False
    while not done:
        logits, *next_state = session.run(outputs, {"obs": obs[None].astype(np.float32),
                                                    **state})
        state = {s.name: v for s, v in zip(states, next_state, strict=True)}
        obs, reward, terminated, truncated, _ = env.step(int(logits.argmax()))
        total, done = total + float(reward), terminated or truncated
    returns.append(total)
print(f"mean return: {np.mean(returns):.1f}")
print("ray imported:", any(m == "ray" or m.startswith("ray.") for m in sys.modules))
