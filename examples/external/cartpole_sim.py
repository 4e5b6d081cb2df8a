"""A CartPole simulator in its own process, driven by rlscale over TCP (stdlib only).

How to run (two terminals; the run waits for its simulators)::

    rlscale train examples/external/cartpole.yaml
    python examples/external/cartpole_sim.py --port 5555

Result to expect: the run reaches a 100-episode mean return of 450 (CartPole's physics,
episodes truncated at 500 steps). ``--step-cost-ms`` makes each step cost that long (a
slower simulator); ``--fault`` misbehaves once, after ``--fault-after`` steps, to show that
a faulty simulator costs its episode, never the run: ``die`` exits mid-episode, ``hang``
stops answering, ``shape`` sends an observation of the wrong shape, ``nan`` sends NaN,
``bytes`` sends bytes that are not JSON.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time

try:
    from rlscale.external import Client, ProtocolError
except ImportError:  # a copy of rlscale/external.py next to this file
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from external import Client, ProtocolError  # type: ignore[no-redef]


class CartPole:
    """Gymnasium's CartPole-v1 physics (Barto, Sutton and Anderson), in plain Python."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.state = [0.0] * 4
        self.steps = 0

    def reset(self) -> list[float]:
        self.state = [self.rng.uniform(-0.05, 0.05) for _ in range(4)]
        self.steps = 0
        return list(self.state)

    def step(self, action: int) -> tuple[list[float], float, bool, bool]:
        x, x_dot, theta, theta_dot = self.state
        force = 10.0 if action == 1 else -10.0
        cos, sin = math.cos(theta), math.sin(theta)
        temp = (force + 0.05 * theta_dot**2 * sin) / 1.1
        theta_acc = (9.8 * sin - cos * temp) / (0.5 * (4.0 / 3.0 - 0.1 * cos**2 / 1.1))
        x_acc = temp - 0.05 * theta_acc * cos / 1.1
        x, x_dot = x + 0.02 * x_dot, x_dot + 0.02 * x_acc
        theta, theta_dot = theta + 0.02 * theta_dot, theta_dot + 0.02 * theta_acc
        self.state = [x, x_dot, theta, theta_dot]
        self.steps += 1
        terminated = abs(x) > 2.4 or abs(theta) > 12 * 2 * math.pi / 360
        return list(self.state), 1.0, terminated, self.steps >= 500


def spin(seconds: float) -> None:
    """Busy-wait: a simulator's own computation."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def misbehave(client: Client, fault: str, obs: list[float], hang_s: float) -> None:
    """Break the protocol once, as ``fault`` says."""
    if fault == "die":
        os._exit(3)
    if fault == "hang":
        time.sleep(hang_s)
    if fault == "shape":
        client.step(obs[:3], 1.0)
    if fault == "nan":
        client.step([float("nan")] * 4, 1.0)
    if fault == "bytes":
        client.sock.sendall(b"\x00\x00\x00\x05hello")
        client.sock.recv(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5555)
    parser.add_argument("--ports", type=int, default=1,
                        help="try port .. port + PORTS - 1 (one per env runner of the run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--step-cost-ms", type=float, default=0.0)
    parser.add_argument("--fault", choices=["die", "hang", "shape", "nan", "bytes"])
    parser.add_argument("--fault-after", type=int, default=100)
    parser.add_argument("--hang-s", type=float, default=3600.0,
                        help="how long --fault hang stops answering")
    parser.add_argument("--reconnect", action="store_true",
                        help="connect again when the run drops the connection")
    args = parser.parse_args()
    sim = CartPole(args.seed)
    steps = 0
    fault = args.fault
    while True:
        try:
            with Client(args.host, args.port, connect_timeout_s=600,
                        ports=args.ports) as client:
                host, port = client.address
                print(f"cartpole_sim: connected to {host}:{port}", file=sys.stderr,
                      flush=True)
                while True:
                    obs = sim.reset()
                    action = client.reset(obs)
                    while True:
                        spin(args.step_cost_ms / 1000)
                        obs, reward, terminated, truncated = sim.step(action)
                        steps += 1
                        if fault and steps >= args.fault_after:
                            fault, once = None, fault
                            misbehave(client, once, obs, args.hang_s)
                        if terminated or truncated:
                            client.end(obs, reward, terminated=terminated)
                            break
                        action = client.step(obs, reward)
        except (ProtocolError, OSError):
            if not args.reconnect:
                return


if __name__ == "__main__":
    main()
