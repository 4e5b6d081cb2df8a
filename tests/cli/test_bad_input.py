"""Bad input of every kind, to every command: each is refused with one line ``Error: ...``
on stderr and exit code 2, with no traceback, nothing on stdout (no "Training ...") and
nothing written anywhere under the working directory.

In the messages, ``{cwd}`` is the test's working directory; ``{ncpu}``, ``{cores}`` and
``{limit}`` are 4x this machine's cores + 1, its cores, and 4x its cores (``NCPU`` in the
arguments is ``{ncpu}``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rlscale.runners.job import OVERSUBSCRIBE_FACTOR
from rlscale.runners.session import local_capacity
from tests.conftest import assert_error


@dataclass(frozen=True)
class Case:
    id: str
    args: list[str]
    message: str
    files: dict[str, bytes] = field(default_factory=dict)


SWEEP_GRID = ["--env", "CartPole-v1", "--stop-iters", "2", "--num-cpus", "2"]

CASES = [
    Case('binary-file', ['train', 'exp.yaml'],
         'exp.yaml: not a text (UTF-8) file: byte 0 is 0x89',
         {'exp.yaml': b'\x89PNG\r\n\x1a\n\x00\x00'}),
    Case('latin1-file', ['train', 'exp.yaml'],
         'exp.yaml: not a text (UTF-8) file: byte 26 is 0xe9',
         {'exp.yaml': b'env: CartPole-v1\nname: caf\xe9\n'}),
    Case('nul-bytes', ['train', 'exp.yaml'],
         'exp.yaml: not a text file (it holds NUL bytes)',
         {'exp.yaml': b'env: CartPole-v1\x00\n'}),
    Case('empty-file', ['train', 'exp.yaml'],
         "'env' is required (set it in the experiment file or with --env)",
         {'exp.yaml': b''}),
    Case('list-file', ['train', 'exp.yaml'],
         'exp.yaml: the experiment file must be a mapping of keys to values',
         {'exp.yaml': b'- env: CartPole-v1\n'}),
    Case('scalar-file', ['train', 'exp.yaml'],
         'exp.yaml: the experiment file must be a mapping of keys to values',
         {'exp.yaml': b'CartPole-v1\n'}),
    Case('malformed-yaml', ['train', 'exp.yaml'],
         "exp.yaml: malformed YAML (line 2): expected ',' or ']', but got '<stream end>'",
         {'exp.yaml': b'env: [CartPole-v1\n'}),
    Case('int-key', ['train', 'exp.yaml'],
         "exp.yaml: the key 1 in 'env_config' must be a string (quote it)",
         {'exp.yaml': b'env: CartPole-v1\nenv_config: {1: 2}\n'}),
    Case('folder-as-file', ['train', '.'],
         'experiment file not found: .'),
    Case('env-not-string', ['train', 'exp.yaml'],
         'env (--env): input should be a valid string (got 5)',
         {'exp.yaml': b'env: 5\n'}),
    Case('stop-not-mapping', ['train', 'exp.yaml'],
         'stop: input should be a valid dictionary or instance of stopconfig (got 5)',
         {'exp.yaml': b'env: CartPole-v1\nstop: 5\n'}),
    Case('env-packages-string', ['train', 'exp.yaml'],
         'env_packages (--env-package): input should be a valid list (got 5)',
         {'exp.yaml': b'env: CartPole-v1\nenv_packages: 5\n'}),
    Case('seed-string', ['train', 'exp.yaml'],
         'seed (--seed): input should be a valid integer, unable to parse string as an integer '
         "(got 'abc')",
         {'exp.yaml': b'env: CartPole-v1\nseed: abc\n'}),
    Case('stop-reward-nan', ['train', 'exp.yaml'],
         'stop.reward (--stop-reward): input should be a finite number (got nan)',
         {'exp.yaml': b'env: CartPole-v1\nstop: {reward: .nan}\n'}),
    Case('stop-reward-minus-inf', ['train', 'exp.yaml'],
         'stop.reward (--stop-reward): input should be a finite number (got -inf)',
         {'exp.yaml': b'env: CartPole-v1\nstop: {reward: -.inf}\n'}),
    Case('stop-time-inf', ['train', 'exp.yaml'],
         'stop.time_s (--stop-time): input should be a finite number (got inf)',
         {'exp.yaml': b'env: CartPole-v1\nstop: {time_s: .inf}\n'}),
    Case('num-gpus-nan', ['train', 'exp.yaml'],
         'resources.num_gpus (--num-gpus): input should be a finite number (got nan)',
         {'exp.yaml': b'env: CartPole-v1\nresources: {num_gpus: .nan}\n'}),
    Case('flag-stop-reward-nan', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--stop-reward', 'nan'],
         'stop.reward (--stop-reward): input should be a finite number (got nan)'),
    Case('stop-timesteps-negative', ['train', 'exp.yaml'],
         'stop.timesteps (--stop-timesteps): input should be greater than or equal to 1 (got -5)',
         {'exp.yaml': b'env: CartPole-v1\nstop: {timesteps: -5}\n'}),
    Case('stop-time-zero', ['train', '--env', 'CartPole-v1', '--name', 'r', '--stop-time', '0'],
         'stop.time_s (--stop-time): input should be greater than 0 (got 0.0)'),
    Case('checkpoint-every-negative', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--checkpoint-every', '-1'],
         'checkpoint.every (--checkpoint-every): input should be greater than or equal to 0 (got '
         '-1)'),
    Case('num-envs-zero', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set', 'resources.num_envs=0'],
         'resources.num_envs: input should be greater than or equal to 1 (got 0)'),
    Case('num-env-runners-negative', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set', 'resources.num_env_runners=-1'],
         'resources.num_env_runners: input should be greater than or equal to 0 (got -1)'),
    Case('unknown-top-key', ['train', 'exp.yaml'],
         "unknown key 'algoo' (did you mean 'algo'?)",
         {'exp.yaml': b'env: CartPole-v1\nalgoo: PPO\n'}),
    Case('unknown-resources-key', ['train', 'exp.yaml'],
         "unknown key 'resources.num_cpu' (did you mean 'resources.num_cpus'?)",
         {'exp.yaml': b'env: CartPole-v1\nresources: {num_cpu: 2}\n'}),
    Case('unknown-stop-key', ['train', 'exp.yaml'],
         "unknown key 'stop.iter' (did you mean 'stop.iters'?)",
         {'exp.yaml': b'env: CartPole-v1\nstop: {iter: 3}\n'}),
    Case('unknown-checkpoint-key', ['train', 'exp.yaml'],
         "unknown key 'checkpoint.evry' (did you mean 'checkpoint.every'?)",
         {'exp.yaml': b'env: CartPole-v1\ncheckpoint: {evry: 3}\n'}),
    Case('unknown-algo-config-key', ['train', 'exp.yaml'],
         "unknown key 'algo_config.gama' for PPO (did you mean 'gamma'?)",
         {'exp.yaml': b'env: CartPole-v1\nalgo_config: {gama: 0.9}\n'}),
    Case('unknown-model-key', ['train', 'exp.yaml'],
         "unknown key 'algo_config.model.fcnet_hidden' (did you mean 'fcnet_hiddens'?)",
         {'exp.yaml': b'env: CartPole-v1\nalgo_config: {model: {fcnet_hidden: [8]}}\n'}),
    Case('lr-negative', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set', 'algo_config.lr=-1',
         '--dry-run'],
         'algo_config.lr: expected a number > 0, got -1'),
    Case('lr-negative-real-run', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set', 'algo_config.lr=-1'],
         'algo_config.lr: expected a number > 0, got -1'),
    Case('batch-zero', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set',
         'algo_config.train_batch_size_per_learner=0', '--dry-run'],
         'algo_config.train_batch_size_per_learner: expected a whole number >= 1 and <= 1e+08, '
         'got 0'),
    Case('batch-zero-real-run', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set',
         'algo_config.train_batch_size_per_learner=0'],
         'algo_config.train_batch_size_per_learner: expected a whole number >= 1 and <= 1e+08, '
         'got 0'),
    Case('hiddens-letter', ['train', 'exp.yaml', '--dry-run'],
         'algo_config.model.fcnet_hiddens[0]: input should be a valid integer, unable to parse '
         "string as an integer (got 'a')",
         {'exp.yaml': b'env: CartPole-v1\nname: r\nalgo_config: {model: {fcnet_hiddens: [a]}}\n'}),
    Case('hiddens-letter-real-run', ['train', 'exp.yaml'],
         'algo_config.model.fcnet_hiddens[0]: input should be a valid integer, unable to parse '
         "string as an integer (got 'a')",
         {'exp.yaml': b'env: CartPole-v1\nname: r\nalgo_config: {model: {fcnet_hiddens: [a]}}\n'}),
    Case('hiddens-zero', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set',
         'algo_config.model.fcnet_hiddens=[64, 0]', '--dry-run'],
         'algo_config.model.fcnet_hiddens: layer sizes must be whole numbers >= 1, got [64, 0]'),
    Case('activation-unknown', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set',
         'algo_config.model.fcnet_activation=sparkle', '--dry-run'],
         "algo_config.model {'fcnet_hiddens': [64, 64], 'fcnet_activation': 'sparkle'}: PPO's RL "
         'module cannot be built (ValueError: Unknown activation (sparkle) for framework=torch!)'),
    Case('gamma-above-one', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set', 'algo_config.gamma=1.5',
         '--dry-run'],
         'algo_config.gamma: expected a number >= 0 and <= 1, got 1.5'),
    Case('lr-nan', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set', 'algo_config.lr=.nan',
         '--dry-run'],
         'algo_config.lr: NaN is not a value (got nan)'),
    Case('lr-schedule-negative', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set',
         'algo_config.lr=[[0, 0.001], [1000, -0.001]]', '--dry-run'],
         'algo_config.lr: a schedule is [[timestep, value], ...] with whole timesteps >= 0 and '
         'values a number > 0, got [[0, 0.001], [1000, -0.001]]'),
    Case('num-epochs-fraction', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set', 'algo_config.num_epochs=2.5',
         '--dry-run'],
         'algo_config.num_epochs: expected a whole number >= 1, got 2.5'),
    Case('entropy-negative', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set',
         'algo_config.entropy_coeff=-0.1', '--dry-run'],
         'algo_config.entropy_coeff: expected a number >= 0, got -0.1'),
    Case('dqn-lr-zero', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--algo', 'DQN', '--set',
         'algo_config.lr=0', '--dry-run'],
         'algo_config.lr: expected a number > 0, got 0'),
    Case('model-not-mapping', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set', 'algo_config.model=8',
         '--dry-run'],
         'algo_config.model: expected a mapping, got 8'),
    Case('output-under-file', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--output', 'notes.txt/runs'],
         'output folder {cwd}/notes.txt/runs cannot be created: {cwd}/notes.txt is a file, not a '
         'folder',
         {'notes.txt': b'mine'}),
    Case('output-is-file', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--output', 'notes.txt'],
         'output folder {cwd}/notes.txt cannot be created: {cwd}/notes.txt is a file, not a folder',
         {'notes.txt': b'mine'}),
    Case('output-proc', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--output', '/proc/rlscale'],
         'output folder /proc/rlscale is on /proc, a proc file system of the kernel, not a place '
         'for files; choose another --output'),
    Case('output-sys', ['train', '--env', 'CartPole-v1', '--name', 'r', '--output', '/sys/rlscale'],
         'output folder /sys/rlscale is on /sys, a sysfs file system of the kernel, not a place '
         'for files; choose another --output'),
    Case('run-dir-is-file', ['train', '--env', 'CartPole-v1', '--output', 'out', '--name', 'r'],
         '{cwd}/out/r is a file, not a run directory',
         {'out/r': b'mine'}),
    Case('name-dotdot', ['train', '--env', 'CartPole-v1', '--name', '../../etc/x'],
         "name (--name): a run name is one folder name (no '/', '\\', '..' or absolute path; use "
         "--output for the folder), got '../../etc/x'"),
    Case('name-absolute', ['train', '--env', 'CartPole-v1', '--name', '/tmp/x'],
         "name (--name): a run name is one folder name (no '/', '\\', '..' or absolute path; use "
         "--output for the folder), got '/tmp/x'"),
    Case('name-slash', ['train', '--env', 'CartPole-v1', '--name', 'a/b'],
         "name (--name): a run name is one folder name (no '/', '\\', '..' or absolute path; use "
         "--output for the folder), got 'a/b'"),
    Case('name-parent', ['train', '--env', 'CartPole-v1', '--name', '..'],
         "name (--name): a run name is one folder name (no '/', '\\', '..' or absolute path; use "
         "--output for the folder), got '..'"),
    Case('name-empty', ['train', '--env', 'CartPole-v1', '--name', ''],
         "name (--name): a run name is one folder name (no '/', '\\', '..' or absolute path; use "
         "--output for the folder), got ''"),
    Case('sweep-name-dotdot', [
         'sweep', '--env', 'CartPole-v1', '--stop-iters', '1', '--search',
         'algo_config.lr={grid: [0.001]}', '--name', '../x'],
         "name (--name): a run name is one folder name (no '/', '\\', '..' or absolute path; use "
         "--output for the folder), got '../x'"),
    Case('rollout-fragment-zero', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set',
         'algo_config.rollout_fragment_length=0', '--dry-run'],
         'algo_config.rollout_fragment_length: expected a whole number >= 1 and <= 1e+08, got 0'),
    Case('batch-far-too-large', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set',
         'algo_config.train_batch_size_per_learner=1000000000000', '--dry-run'],
         'algo_config.train_batch_size_per_learner: expected a whole number >= 1 and <= 1e+08, '
         'got 1000000000000'),
    Case('epsilon-schedule-above-one', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--algo', 'DQN', '--set',
         'algo_config.epsilon=[[0, 1.0], [1000, 2.0]]', '--dry-run'],
         'algo_config.epsilon: a schedule is [[timestep, value], ...] with whole timesteps >= 0 '
         'and values a number >= 0 and <= 1, got [[0, 1.0], [1000, 2.0]]'),
    Case('grad-clip-by-unknown', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set', 'algo_config.grad_clip_by=x',
         '--dry-run'],
         "algo_config.grad_clip_by: expected one of value, norm, global_norm, got 'x'"),
    Case('lstm-cell-zero', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set',
         'algo_config.model={use_lstm: true, lstm_cell_size: 0}', '--dry-run'],
         "algo_config.model {'fcnet_hiddens': [64, 64], 'use_lstm': True, 'lstm_cell_size': 0}: "
         "PPO's RL module cannot be built (ValueError: hidden_size must be greater than zero)"),
    Case('conv-filter-short', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--set',
         'algo_config.model.conv_filters=[[16, 4]]', '--dry-run'],
         'algo_config.model.conv_filters[0][2]: field required (got [16, 4])'),
    Case('seed-negative', ['train', '--env', 'CartPole-v1', '--name', 'r', '--seed', '-1'],
         'seed (--seed): input should be greater than or equal to 0 (got -1)'),
    Case('seed-beyond-numpy', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--seed', '4294967296'],
         'seed (--seed): input should be less than or equal to 4294967295 (got 4294967296)'),
    Case('output-empty', ['train', '--env', 'CartPole-v1', '--output', ''],
         "output (--output): expected a folder path, got ''"),
    Case('name-too-long', [
         'train', '--env', 'CartPole-v1', '--name',
         "n" * 256],
         'name (--name): a run name has at most 255 bytes, got 256'),
    Case('sweep-search-nan', [
         'sweep', '--env', 'CartPole-v1', '--stop-iters', '1', '--search',
         'algo_config.lr={grid: [.nan]}'],
         'search: algo_config.lr: NaN is not a value (got nan)'),
    Case('sweep-search-out-of-range', [
         'sweep', '--env', 'CartPole-v1', '--stop-iters', '1', '--search',
         'algo_config.gamma={grid: [0.9, 1.5]}'],
         'search: algo_config.gamma: expected a number >= 0 and <= 1, got 1.5'),
    Case('sweep-output-proc', [
         'sweep', '--env', 'CartPole-v1', '--stop-iters', '1', '--search',
         'algo_config.lr={grid: [0.001]}', '--output', '/proc/x'],
         'output folder /proc/x is on /proc, a proc file system of the kernel, not a place for '
         'files; choose another --output'),
    Case('num-cpus-far-beyond', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--num-cpus', 'NCPU'],
         '--num-cpus {ncpu} is more than 4x the {cores} core(s) of this machine (at most '
         '{limit}): that many processes would start; pass --oversubscribe '
         '(resources.oversubscribe: true) if you mean it'),
    Case('num-cpus-far-beyond-file', ['train', 'exp.yaml'],
         '--num-cpus 100000 is more than 4x the {cores} core(s) of this machine (at most '
         '{limit}): that many processes would start; pass --oversubscribe '
         '(resources.oversubscribe: true) if you mean it',
         {'exp.yaml': b'env: CartPole-v1\nname: r\nresources: {num_cpus: 100000}\n'}),
    Case('sweep-num-cpus-far-beyond', [
         'sweep', '--env', 'CartPole-v1', '--stop-iters', '1', '--search',
         'algo_config.lr={grid: [0.001]}', '--num-cpus', 'NCPU'],
         '--num-cpus {ncpu} is more than 4x the {cores} core(s) of this machine (at most '
         '{limit}): that many processes would start; pass --oversubscribe '
         '(resources.oversubscribe: true) if you mean it'),
    Case('train-seed-not-int', ['train', '--env', 'CartPole-v1', '--name', 'r', '--seed', 'x'],
         "Invalid value for '--seed': Input should be a valid integer, unable to parse string as "
         'an integer (see: rlscale train --help)'),
    Case('train-unknown-flag', ['train', '--env', 'CartPole-v1', '--name', 'r', '--stop-iter', '3'],
         'No such option: --stop-iter (Possible options: --stop-iters, --stop-time, '
         '--stop-timesteps) (see: rlscale train --help)'),
    Case('train-flag-without-value', [
         'train', '--env', 'CartPole-v1', '--name', 'r', '--stop-iters'],
         "Option '--stop-iters' requires an argument. (see: rlscale train --help)"),
    Case('train-unknown-engine', ['train', '--env', 'CartPole-v1', '--engine', 'warp'],
         "unknown engine 'warp'; use one of auto, driver, tune"),
    Case('unknown-command', ['trian'],
         "No such command 'trian'. Did you mean 'train'? (see: rlscale --help)"),
    Case('sweep-num-cpus-not-int', ['sweep', '--env', 'CartPole-v1', '--num-cpus', 'x'],
         "Invalid value for '--num-cpus': Input should be a valid integer, unable to parse "
         'string as an integer (see: rlscale sweep --help)'),
    Case('sweep-binary-file', ['sweep', 'exp.yaml'],
         'exp.yaml: not a text (UTF-8) file: byte 0 is 0xff',
         {'exp.yaml': b'\xff\xfe\x00'}),
    Case('check-env-episodes-zero', ['check-env', 'CartPole-v1', '--episodes', '0'],
         "Invalid value for '--episodes': Input should be greater than or equal to 1 (see: "
         'rlscale check-env --help)'),
    Case('check-env-unknown-env', ['check-env', 'CartPole-v9'],
         "unknown environment 'CartPole-v9' (did you mean 'CartPole-v1'?)"),
    Case('evaluate-episodes-zero', ['evaluate', 'nowhere', '--episodes', '0'],
         "Invalid value for '--episodes': Input should be greater than or equal to 1 (see: "
         'rlscale evaluate --help)'),
    Case('evaluate-missing-run', ['evaluate', 'nowhere'],
         'nowhere: no such file or directory'),
    Case('export-without-output', ['export', 'nowhere'],
         "Missing option '-o' / '--output'. (see: rlscale export --help)"),
    Case('export-bad-format', ['export', 'nowhere', '-o', 'p.onnx', '--format', 'pickle'],
         "--format must be one of onnx, torchscript, not 'pickle'"),
    Case('plot-without-output', ['plot', 'nowhere'],
         "Missing option '-o' / '--output'. (see: rlscale plot --help)"),
    Case('runs-unknown-flag', ['runs', '--jsn'],
         'No such option: --jsn (Possible options: --json) (see: rlscale runs --help)'),
    Case('runs-missing-folder', ['runs', 'nowhere'],
         'no such folder: nowhere'),
    Case('status-without-run', ['status'],
         "Missing argument 'run_dir'. (see: rlscale status --help)"),
    Case('status-not-a-run', ['status', '.'],
         '. is not an rlscale run (no summary.json or slurm.json)'),
    Case('slurm-without-nodes', ['slurm', '--env', 'CartPole-v1', '--time', '10'],
         "--nodes is required (or --predict, with --cpus-per-node, to size the job from the "
         "scaling prediction)"),
    Case('slurm-without-time', ['slurm', '--env', 'CartPole-v1', '--nodes', '1'],
         "Missing option '--time'. (see: rlscale slurm --help)"),
    Case('slurm-nodes-zero', ['slurm', '--env', 'CartPole-v1', '--nodes', '0', '--time', '10'],
         '--nodes must be at least 1, got 0'),
    Case('slurm-binary-file', ['slurm', 'exp.yaml', '--nodes', '1', '--time', '10'],
         'exp.yaml: not a text (UTF-8) file: byte 0 is 0xff',
         {'exp.yaml': b'\xff\xfe\x00'}),
    # rlscale train
    Case('train-unknown-environment-cartpole-v2-did-you', ["train", "--env", "CartPole-v2"],
     "unknown environment 'CartPole-v2' (did you mean 'CartPole-v1'?)"),
    Case('train-unknown-algorithm-ppoo-did-you-mean', ["train", "--env", "CartPole-v1",
         "--algo", "PPOO"],
     "unknown algorithm 'PPOO' (did you mean 'PPO'?); available: PPO, APPO, IMPALA, DQN, "
     "SAC, TQC"),
    Case('train-algorithm-bc-learns-from-offline-data', ["train", "--env", "CartPole-v1",
         "--algo", "BC"],
     "algorithm 'BC' learns from offline data; rlscale trains online (use one of PPO, APPO, "
     "IMPALA, DQN, SAC, TQC)"),
    Case('train-dqn-cannot-handle-the-action-space', ["train", "--env", "Pendulum-v1",
         "--algo", "DQN"],
     "DQN cannot handle the action space Box(-2.0, 2.0, (1,), float32) (DQN supports "
     "Discrete actions); use SAC (continuous or discrete) or PPO (any) instead"),
    Case('train-unknown-key-algo-config-lrr-for', ["train", "--env", "CartPole-v1", "--set",
         "algo_config.lrr=0.1"],
     "unknown key 'algo_config.lrr' for PPO (did you mean 'lr'?)"),
    Case('train-algo-config-lr-expected-a-number', ["train", "--env", "CartPole-v1", "--set",
         "algo_config.lr=fast"],
     "algo_config.lr: expected a number (or a [[timestep, value], ...] schedule), got 'fast'"),
    Case('train-algo-config-rollout-fragment-length-expected', ["train", "--env",
         "CartPole-v1", "--set", "algo_config.rollout_fragment_length=long"],
     "algo_config.rollout_fragment_length: expected a number or \"auto\", got 'long'"),
    Case('train-algo-config-num-workers-is-set', ["train", "--env", "CartPole-v1", "--set",
         "algo_config.num_workers=4"],
     "algo_config.num_workers is set by rlscale: use resources.num_cpus (--num-cpus) or "
     "resources.num_env_runners"),
    Case('train-unknown-key-algo-config-model-fcnet', ["train", "--env", "CartPole-v1",
         "--set", "algo_config.model.fcnet_hidens=[8]"],
     "unknown key 'algo_config.model.fcnet_hidens' (did you mean 'fcnet_hiddens'?)"),
    # 2 cores: on more the plan grows the preset's batch of 1,024 with the env runners.
    Case('train-invalid-ppo-settings-minibatch-size-5000', ["train", "--env", "CartPole-v1",
         "--num-cpus", "2", "--set", "algo_config.minibatch_size=5000"],
     "invalid PPO settings: `minibatch_size` (5000) must be <= `train_batch_size_per_learner`"
     " (1024). In PPO, the train batch will be split into 5000 chunks, each of which is "
     "iterated over (used for updating the policy) 10 times."),
    Case('train-resources-num-cpus-num-cpus-input', ["train", "--env", "CartPole-v1",
         "--num-cpus", "0"],
     "resources.num_cpus (--num-cpus): input should be greater than or equal to 1 (got 0)"),
    Case('train-resume-needs-the-run-to-continue', ["train", "--env", "CartPole-v1", "--resume"],
     "--resume needs the run to continue: pass its config.yaml (rlscale train "
     "RUN_DIR/config.yaml --resume) or --name NAME"),
    Case('train-resume-and-overwrite-cannot-be-used', ["train", "--env", "CartPole-v1",
         "--resume", "--overwrite"],
     "--resume and --overwrite cannot be used together"),
    Case('train-stop-iters-stop-iters-input-should', ["train", "--env", "CartPole-v1",
         "--stop-iters", "0"],
     "stop.iters (--stop-iters): input should be greater than or equal to 1 (got 0)"),
    Case('train-experiment-file-not-found-missing-yaml', ["train", "missing.yaml"],
         "experiment file not found: missing.yaml"),
    # rlscale sweep (SWEEP_GRID: a budget per trial and 2 cores)
    Case('sweep-search-unknown-key-algo-config-lrr', ["sweep", *SWEEP_GRID, "--search",
         "algo_config.lrr={grid: [0.1]}"],
     "search: unknown key 'algo_config.lrr' for PPO (did you mean 'lr'?)"),
    Case('sweep-unknown-key-algo-confg-lr-in', ["sweep", *SWEEP_GRID, "--search",
         "algo_confg.lr={grid: [0.1]}"],
     "unknown key 'algo_confg.lr' in search (did you mean 'algo_config.lr'?)"),
    Case('sweep-search-unknown-key-algo-config-model', ["sweep", *SWEEP_GRID, "--search",
         "algo_config.model.fcnet_hidens={choice: [[32], [64]]}"],
     "search: unknown key 'algo_config.model.fcnet_hidens' (did you mean 'fcnet_hiddens'?)"),
    Case('sweep-search-algo-config-lr-empty-range', ["sweep", *SWEEP_GRID, "--search",
         "algo_config.lr={uniform: [0.1, 0.01]}"],
     "search.algo_config.lr: empty range uniform [0.1, 0.01]: low must be below high"),
    Case('sweep-search-algo-config-lr-grid-needs', ["sweep", *SWEEP_GRID, "--search",
         "algo_config.lr={grid: []}"],
     "search.algo_config.lr: grid needs at least one value, got []"),
    Case('sweep-search-algo-config-lr-loguniform-needs', ["sweep", *SWEEP_GRID, "--search",
         "algo_config.lr={loguniform: [0, 1]}"],
     "search.algo_config.lr: loguniform needs low > 0, got [0, 1]"),
    Case('sweep-search-algo-config-lr-unknown-search', ["sweep", *SWEEP_GRID, "--search",
         "algo_config.lr={gird: [0.1]}"],
     "search.algo_config.lr: unknown search kind 'gird' (did you mean 'grid'?); use one of "
     "grid, choice, uniform, loguniform, randint, quniform"),
    Case('sweep-search-algo-config-lr-expected-a', ["sweep", *SWEEP_GRID, "--search",
         "algo_config.lr={grid: [fast]}"],
     "search: algo_config.lr: expected a number (or a [[timestep, value], ...] schedule), "
     "got 'fast'"),
    Case('sweep-search-stop-iters-cannot-be-searched', ["sweep", *SWEEP_GRID, "--search",
         "stop.iters={grid: [1, 2]}"],
     "search: 'stop.iters' cannot be searched (searchable: algo_config.KEY, "
     "env_config.KEY, seed; and seeds: K)"),
    Case('sweep-search-seeds-expected-a-whole-number', ["sweep", *SWEEP_GRID, "--search",
         "seeds=0"], "search.seeds: expected a whole number >= 1, got 0"),
    Case('sweep-unknown-scheduler-ashha-did-you-mean', ["sweep", *SWEEP_GRID, "--search",
         "seeds=2", "--scheduler", "ashha"],
     "unknown scheduler 'ashha' (did you mean 'asha'?); use one of fifo, asha, pbt"),
    Case('sweep-unknown-searcher-bayes-use-one-of', ["sweep", *SWEEP_GRID, "--search",
         "seeds=2", "--search-alg", "bayes"],
     "unknown searcher 'bayes'; use one of random, optuna, hyperopt"),
    Case('sweep-scheduler-pbt-needs-an-algo-config', ["sweep", *SWEEP_GRID, "--search",
         "seeds=2", "--scheduler", "pbt"],
     "--scheduler pbt needs an algo_config key searched with choice, uniform, loguniform, "
     "randint or quniform (the values it mutates)"),
    Case('sweep-one-trial-needs-4-cores-resources', ["sweep", *SWEEP_GRID, "--search",
         "seeds=2", "--cpus-per-trial", "4"],
     "one trial needs 4 cores (resources.num_cpus, --cpus-per-trial) but the sweep may use "
     "2 (--num-cpus)"),
    Case('sweep-search-invalid-ppo-settings-minibatch-size', ["sweep", *SWEEP_GRID, "--search",
         "algo_config.minibatch_size={grid: [5000]}"],
     "search: invalid PPO settings: `minibatch_size` (5000) must be <= "
     "`train_batch_size_per_learner` (1024). In PPO, the train batch will be split into "
     "5000 chunks, each of which is iterated over (used for updating the policy) 10 times."),
    Case('sweep-nothing-to-sweep-add-a-search', ["sweep", *SWEEP_GRID],
         "nothing to sweep: add a search block to the experiment or pass --search key=SPEC "
         "(e.g. --search 'algo_config.lr={grid: [0.001, 0.0003]}')"),
    Case('sweep-resume-needs-the-sweep-to-continue', ["sweep", *SWEEP_GRID, "--search",
         "seeds=2", "--resume"],
     "--resume needs the sweep to continue: pass its sweep.yaml (rlscale sweep "
     "SWEEP_DIR/sweep.yaml --resume) or --name NAME"),
]


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(root.rglob("*"))
    }


def _placeholders(text: str, cwd: Path) -> str:
    cores = local_capacity().cpus
    limit = OVERSUBSCRIBE_FACTOR * cores
    for key, value in (
        ("{cwd}", str(cwd)),
        ("{ncpu}", str(limit + 1)),
        ("{cores}", str(cores)),
        ("{limit}", str(limit)),
    ):
        text = text.replace(key, value)
    return text


def test_the_table_is_large_and_its_ids_unique() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(cli, case: Case) -> None:
    for name, data in case.files.items():
        (cli.cwd / name).parent.mkdir(parents=True, exist_ok=True)
        (cli.cwd / name).write_bytes(data)
    before = _files(cli.cwd)
    result = cli(*[a.replace("NCPU", _placeholders("{ncpu}", cli.cwd)) for a in case.args])
    assert_error(result, _placeholders(case.message, cli.cwd), cli.cwd)
    assert result.stdout == ""
    assert _files(cli.cwd) == before, "nothing may be written"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_unwritable_output_folder(cli) -> None:
    locked = cli.cwd / "locked"
    locked.mkdir(mode=0o500)
    try:
        result = cli("train", "--env", "CartPole-v1", "--output", "locked/runs", "--dry-run")
        assert_error(
            result, f"output folder {locked}/runs: {locked} is not writable by this user", cli.cwd
        )
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_oversubscribe_allows_many_cores(cli) -> None:
    cores = local_capacity().cpus
    many = str(OVERSUBSCRIBE_FACTOR * cores + 1)
    result = cli(
        "train", "--env", "CartPole-v1", "--num-cpus", many, "--oversubscribe", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert f"oversubscribed: {many} cores asked for, the machine has {cores}" in result.stdout
    # The experiment key does the same; the flag left out does not turn it off.
    (cli.cwd / "exp.yaml").write_text(
        f"env: CartPole-v1\nresources: {{num_cpus: {many}, oversubscribe: true}}\n"
    )
    result = cli("train", "exp.yaml", "--dry-run")
    assert result.exit_code == 0, result.output
    assert not (cli.cwd / "rlscale_runs").exists()


def test_valid_rllib_settings_still_pass(cli) -> None:
    """The range checks let through what RLlib's users write: schedules, inf clipping,
    a model with its own layers."""
    result = cli(
        "train",
        "--env",
        "CartPole-v1",
        "--dry-run",
        "--set",
        "algo_config.lr=[[0, 0.001], [10000, 0.0001]]",
        "--set",
        "algo_config.vf_clip_param=.inf",
        "--set",
        "algo_config.model={fcnet_hiddens: [32, 32], fcnet_activation: relu}",
    )
    assert result.exit_code == 0, result.output
    assert "fcnet_activation: relu" in result.stdout


def test_a_module_error_in_a_real_run_is_one_line_before_training(cli) -> None:
    """What only the RL module's constructor knows (an activation PyTorch lacks) is found
    in a real run too: Ray has started, but nothing is printed or written."""
    result = cli("train", "--env", "CartPole-v1", "--name", "r", "--num-cpus", "1",
                 "--set", "algo_config.model.fcnet_activation=sparkle")
    assert_error(result, "algo_config.model {'fcnet_hiddens': [64, 64], 'fcnet_activation': "
                         "'sparkle'}: PPO's RL module cannot be built (ValueError: Unknown "
                         "activation (sparkle) for framework=torch!)", cli.cwd)
    assert result.stdout == ""
    assert sorted(p.name for p in cli.cwd.iterdir()) == []
