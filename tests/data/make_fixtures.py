#!/usr/bin/env python3
"""Writes the HDF5 files the data tests read, with h5py (the reference tool).

Usage: make_fixtures.py OUTDIR

Good files share one hand-checkable content: 10 transitions, rewards 1..10,
an episode terminated at step 3, one timed out at step 6, and a trailing
partial episode of 3 steps. observations[i, j] = i + j / 100,
actions[i, j] = (i - j) / 10.
"""
import json
import os
import sys

import h5py
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
N, OBS, ACT = 10, 4, 2
obs = np.array([[i + j / 100 for j in range(OBS)] for i in range(N)])
act = np.array([[(i - j) / 10 for j in range(ACT)] for i in range(N)])
rew = np.arange(1, N + 1, dtype=np.float64)
term = np.zeros(N, dtype=bool)
term[3] = True
tout = np.zeros(N, dtype=bool)
tout[6] = True


def d4rl(name, dtype=np.float32, rew_shape=(N,), flag_dtype=bool, with_timeouts=True, extras=False, **override):
    with h5py.File(os.path.join(out, name), "w") as f:
        f.create_dataset("observations", data=obs.astype(dtype), compression="gzip")
        f.create_dataset("actions", data=act.astype(dtype), compression="gzip")
        f.create_dataset("rewards", data=rew.astype(dtype).reshape(rew_shape))
        f.create_dataset("terminals", data=term.astype(flag_dtype))
        if with_timeouts:
            f.create_dataset("timeouts", data=tout.astype(flag_dtype))
        if extras:
            f.create_dataset("next_observations", data=(obs + 1).astype(dtype))
            f.create_dataset("infos/qpos", data=np.arange(N * 5, dtype=np.float64).reshape(N, 5) / 7)
            f.create_dataset("infos/qvel", data=-np.arange(N * 3, dtype=np.float64).reshape(N, 3) / 3)
            f.create_dataset("metadata/algorithm", data="SAC")
            f.create_dataset("metadata/env_name", data="hopper")
            f.create_dataset("metadata/iteration", data=42)
            f.create_dataset("metadata/policy/fc0/weight", data=np.zeros((64, 4)))
        for key, value in override.items():
            key = key.replace("__", "/")
            if key in f:
                del f[key]
            if value is not None:
                f.create_dataset(key, data=value)


# Good files.
d4rl("f32_bool.hdf5")
d4rl("f64_rew2d_uint8.hdf5", dtype=np.float64, rew_shape=(N, 1), flag_dtype=np.uint8)
d4rl("v0_no_timeouts.hdf5", with_timeouts=False)
d4rl("hopper-medium-v2.hdf5", extras=True)

# A damaged link: metadata/loop is the metadata group itself, so the group
# appears to contain itself (a walk without cycle detection never ends).
d4rl("metadata_cycle.hdf5", extras=True)
with h5py.File(os.path.join(out, "metadata_cycle.hdf5"), "a") as f:
    f["metadata/policy/loop"] = f["metadata"]

# D4RL v0 files have no timeouts; D4RL's sequence_dataset also ends an
# episode when the env's 1000-step limit runs out.
with h5py.File(os.path.join(out, "v0_halfcheetah_style.hdf5"), "w") as f:  # 3000 steps, no terminals
    f.create_dataset("observations", data=np.zeros((3000, 17), np.float32))
    f.create_dataset("actions", data=np.zeros((3000, 6), np.float32))
    f.create_dataset("rewards", data=np.ones(3000, np.float32))
    f.create_dataset("terminals", data=np.zeros(3000, bool))
with h5py.File(os.path.join(out, "v0_hopper_style.hdf5"), "w") as f:  # 1000 steps time-limited, then 200 to a fall
    f.create_dataset("observations", data=np.zeros((1200, 11), np.float32))
    f.create_dataset("actions", data=np.zeros((1200, 3), np.float32))
    f.create_dataset("rewards", data=np.ones(1200, np.float32))
    f.create_dataset("terminals", data=np.arange(1200) == 1199)

# Minari: episodes of 4 and 3 steps, observations with T + 1 rows.
os.makedirs(os.path.join(out, "minari", "data"), exist_ok=True)
with h5py.File(os.path.join(out, "minari", "data", "main_data.hdf5"), "w") as f:
    for ep, (start, T, terminated) in enumerate([(0, 4, True), (4, 3, False)]):
        g = f.create_group(f"episode_{ep}")
        g.create_dataset("observations", data=obs[start:start + T + 1].astype(np.float32))
        g.create_dataset("actions", data=act[start:start + T].astype(np.float32))
        g.create_dataset("rewards", data=rew[start:start + T])
        g.create_dataset("terminations", data=np.array([False] * (T - 1) + [terminated]))
        g.create_dataset("truncations", data=np.array([False] * (T - 1) + [not terminated]))
    f.attrs["total_steps"] = 7
# The same with one action too many in the first episode (T + 1 rows, as its observations).
os.makedirs(os.path.join(out, "minari_bad_length", "data"), exist_ok=True)
with h5py.File(os.path.join(out, "minari_bad_length", "data", "main_data.hdf5"), "w") as f:
    g = f.create_group("episode_0")
    g.create_dataset("observations", data=obs[0:5].astype(np.float32))
    g.create_dataset("actions", data=act[0:5].astype(np.float32))
    g.create_dataset("rewards", data=rew[0:4])
    g.create_dataset("terminations", data=np.array([False, False, False, True]))
    g.create_dataset("truncations", data=np.array([False] * 4))

# Minari's MuJoCo layout, one dataset per env (Minari's documentation, "Dataset Standards"; minari/dataset/
# minari_storage.py, _storages/hdf5_storage.py): <root>/mujoco/<env>/medium-v0/data/main_data.hdf5 with
# episode_<id> groups (observations T+1 rows, actions, rewards, terminations, truncations, infos; attrs id,
# seed, total_steps) and data/metadata.json (dataset_id, env_spec as Gymnasium's EnvSpec JSON, reference
# scores, spaces). Episodes: 3 of 5, 4 and 6 steps, the first terminated, the others truncated.
MINARI_ENVS = {"hopper": ("Hopper-v5", 11, 3), "halfcheetah": ("HalfCheetah-v5", 17, 6),
               "walker2d": ("Walker2d-v5", 17, 6), "ant": ("Ant-v5", 105, 8),
               "invertedpendulum": ("InvertedPendulum-v5", 4, 1),
               "inverteddoublependulum": ("InvertedDoublePendulum-v5", 9, 1),
               "reacher": ("Reacher-v5", 10, 2), "pusher": ("Pusher-v5", 23, 7),
               "humanoid": ("Humanoid-v5", 348, 17), "swimmer": ("Swimmer-v5", 8, 2)}
for robot, (env_id, o, a) in MINARI_ENVS.items():
    folder = os.path.join(out, "minari-mujoco", "mujoco", robot, "medium-v0", "data")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(len(robot))
    steps = 0
    with h5py.File(os.path.join(folder, "main_data.hdf5"), "w") as f:
        for ep, T in enumerate([5, 4, 6]):
            g = f.create_group(f"episode_{ep}")
            g.attrs["id"] = ep
            g.attrs["seed"] = 100 + ep
            g.attrs["total_steps"] = T
            g.create_dataset("observations", data=rng.normal(size=(T + 1, o)) * 0.1)
            g.create_dataset("actions", data=rng.uniform(-1, 1, size=(T, a)).astype(np.float32))
            g.create_dataset("rewards", data=np.full(T, 1.0 + ep))
            g.create_dataset("terminations", data=np.array([False] * (T - 1) + [ep == 0]))
            g.create_dataset("truncations", data=np.array([False] * (T - 1) + [ep != 0]))
            g.create_group("infos").create_dataset("x_position", data=np.zeros(T + 1))
            steps += T
    env_spec = {"id": env_id, "entry_point": f"gymnasium.envs.mujoco.{robot}_v5:Env", "reward_threshold": None,
                "nondeterministic": False, "max_episode_steps": 1000, "order_enforce": True,
                "disable_env_checker": False, "kwargs": {}, "additional_wrappers": [], "vector_entry_point": None}
    metadata = {"dataset_id": f"mujoco/{robot}/medium-v0", "env_spec": json.dumps(env_spec),
                "total_episodes": 3, "total_steps": steps, "ref_min_score": -10.0 * len(robot),
                "ref_max_score": 1000.0 + len(robot), "algorithm_name": "SAC", "minari_version": "0.5.1",
                "data_format": "hdf5", "dataset_size": 0.1}
    with open(os.path.join(folder, "metadata.json"), "w") as f:
        json.dump(metadata, f)

# Bad files: one problem each.
d4rl("bad_missing_actions.hdf5", actions=None)
d4rl("bad_length.hdf5", actions=act[:-1].astype(np.float32))
d4rl("bad_rank.hdf5", observations=obs.reshape(N, 2, 2).astype(np.float32))
d4rl("bad_rewards_rank.hdf5", rewards=rew.reshape(N, 1, 1))
d4rl("bad_strings.hdf5", observations=np.array([b"abc"] * N))
nan_obs = obs.astype(np.float32)
nan_obs[5, 2] = np.nan
d4rl("bad_nan.hdf5", observations=nan_obs)
inf_rew = rew.astype(np.float32)
inf_rew[7] = np.inf
d4rl("bad_inf.hdf5", rewards=inf_rew)
huge_rew = rew.astype(np.float32)
huge_rew[4] = -1e30  # finite, but training squares it: inf, then NaN
d4rl("bad_huge_reward.hdf5", rewards=huge_rew)
d4rl("bad_no_rows.hdf5", observations=np.zeros((0, OBS), np.float32), actions=np.zeros((0, ACT), np.float32),
     rewards=np.zeros(0, np.float32), terminals=np.zeros(0, bool), timeouts=np.zeros(0, bool))
d4rl("bad_group.hdf5", rewards=None)
with h5py.File(os.path.join(out, "bad_group.hdf5"), "a") as f:
    f.create_group("rewards")
# Shapes a file may declare in a few KB (chunked, never written): more values than an int64
# counts, and more bytes than any address space holds.
with h5py.File(os.path.join(out, "bad_huge_shape.hdf5"), "w") as f:
    f.create_dataset("observations", shape=(2**33, 2**31), dtype=np.float32, chunks=(64, 64))
with h5py.File(os.path.join(out, "bad_huge_memory.hdf5"), "w") as f:
    f.create_dataset("observations", shape=(2**45, OBS), dtype=np.float32, chunks=(1024, OBS))
open(os.path.join(out, "bad_empty.hdf5"), "wb").close()
with open(os.path.join(out, "bad_not_hdf5.hdf5"), "w") as f:
    f.write("observations,actions\n1,2\n")

# A larger gzip file, then truncated and corrupted copies of it.
big = 20000
with h5py.File(os.path.join(out, "big.hdf5"), "w") as f:
    rng = np.random.default_rng(0)
    f.create_dataset("observations", data=rng.normal(size=(big, 11)).astype(np.float32), compression="gzip",
                     chunks=(1000, 11))
    f.create_dataset("actions", data=rng.normal(size=(big, 3)).astype(np.float32), compression="gzip",
                     chunks=(1000, 3))
    f.create_dataset("rewards", data=rng.normal(size=big).astype(np.float32), compression="gzip", chunks=(1000,))
    t = np.zeros(big, dtype=bool)
    t[999::1000] = True
    f.create_dataset("terminals", data=np.zeros(big, dtype=bool), compression="gzip", chunks=(1000,))
    f.create_dataset("timeouts", data=t, compression="gzip", chunks=(1000,))
raw = open(os.path.join(out, "big.hdf5"), "rb").read()
with open(os.path.join(out, "bad_truncated.hdf5"), "wb") as f:
    f.write(raw[: len(raw) // 2])
corrupt = bytearray(raw)
mid = len(raw) // 3
corrupt[mid:mid + 4096] = bytes((i * 37 + 11) % 256 for i in range(4096))
with open(os.path.join(out, "bad_corrupt.hdf5"), "wb") as f:
    f.write(bytes(corrupt))
