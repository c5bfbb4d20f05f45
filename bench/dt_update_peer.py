#!/usr/bin/env python3
"""The peer for `aaren bench train`: one Decision Transformer update written
the plain PyTorch way, with the sizes of DT (Chen et al. 2021): width 128,
3 GPT-2 blocks (pre-LayerNorm, causal nn.MultiheadAttention with 1 head, a
4x GELU MLP), return/state/action/timestep embeddings, interleaved tokens
(R_1, s_1, a_1, ...), a tanh action head, MSE, gradient clipping at 0.25 and
AdamW. It runs on the same LibTorch as the C++ toolkit (Debian's
python3-torch wraps Debian's libtorch), so the two measure the same kernels
driven from Python and from C++.

Usage: bench/dt_update_peer.py [--batch-size 64] [--context 20] [--threads 1]
       [--min-seconds 3] [--precision fp32|bf16] [--csv FILE]
Prints one line: median milliseconds per update (after warm-up).
"""
import argparse
import csv
import statistics
import sys
import time

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, d, heads, dropout):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d), nn.Dropout(dropout))

    def forward(self, x, causal):
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=causal, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class DecisionTransformer(nn.Module):
    def __init__(self, state_dim, act_dim, d=128, layers=3, heads=1, max_ep_len=1000, dropout=0.1):
        super().__init__()
        self.embed_t = nn.Embedding(max_ep_len, d)
        self.embed_r, self.embed_s, self.embed_a = nn.Linear(1, d), nn.Linear(state_dim, d), nn.Linear(act_dim, d)
        self.embed_ln = nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d, heads, dropout) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Sequential(nn.Linear(d, act_dim), nn.Tanh())

    def forward(self, states, actions, rtg, timesteps):
        B, K, _ = states.shape
        t = self.embed_t(timesteps)
        tokens = torch.stack((self.embed_r(rtg) + t, self.embed_s(states) + t, self.embed_a(actions) + t), dim=2)
        x = self.drop(self.embed_ln(tokens.reshape(B, 3 * K, -1)))
        causal = torch.triu(torch.ones(3 * K, 3 * K, dtype=torch.bool), diagonal=1)
        for block in self.blocks:
            x = block(x, causal)
        x = self.ln_f(x).reshape(B, K, 3, -1)
        return self.head(x[:, :, 1])  # a_t from the s_t token


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--context", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--min-seconds", type=float, default=3.0)
    p.add_argument("--min-rounds", type=int, default=5)
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--csv")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    state_dim, act_dim = 11, 3  # Hopper's
    model = DecisionTransformer(state_dim, act_dim)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-4)
    B, K = a.batch_size, a.context
    states, actions = torch.randn(B, K, state_dim), torch.rand(B, K, act_dim) * 2 - 1
    rtg, timesteps = torch.randn(B, K, 1), torch.randint(0, 1000, (B, K))

    def update():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            pred = model(states, actions, rtg, timesteps)
        loss = ((pred.float() - actions) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        opt.step()

    for _ in range(2):
        update()  # warm-up: allocator, kernels
    times, start = [], time.perf_counter()
    while len(times) < a.min_rounds or time.perf_counter() - start < a.min_seconds:
        t0 = time.perf_counter()
        update()
        times.append(time.perf_counter() - t0)
    ms = 1e3 * statistics.median(times)
    print(f"python-peer: {ms:.2f} ms/update (batch {B}, K {K}, {a.precision}, {a.threads} thread(s), "
          f"torch {torch.__version__}, {len(times)} rounds)")
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["tokens", "batch", "precision", "threads", "peer_ms", "rounds", "torch"])
            w.writerow([3 * K, B, a.precision, a.threads, f"{ms:.3f}", len(times), torch.__version__])
    return 0


if __name__ == "__main__":
    sys.exit(main())
