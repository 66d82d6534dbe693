#!/usr/bin/python3
"""The seed's recipe trained in PyTorch on a shoebot dataset, for the cross-check in
`npm run bench:recipes -- torch` (the report then scores its samples with our metric).

Same networks as bench/torch_dcgan.py (= src/gan/model.ts), same recipe as src/gan/train-step.ts
with `--recipe seed`: BCE on logits, real target 0.9 for D and as G's target, non-saturating G
loss, Adam lr 2e-4 betas (0.5, 0.999) with L2 weight decay 1e-4, Gaussian z, conv weights
N(0, 0.02), BN gamma N(1, 0.02); freezing: skip D's update while mean(loss_D) < 0.7 * mean(loss_G)
over the current epoch; one permutation per epoch, the last partial batch dropped. The update is
pytorch/examples' (one G(z) per step, reused for G's loss); ours draws G(z) again after D's update.

Usage: torch_train.py DATASET_DIR RUN_DIR --seed S --steps N --every K [--ngf 32 --ndf 32 --batch-size 32]
Writes RUN_DIR/samples-<step>.u8 (1000 samples, [n, H, W, C] uint8, G in eval mode, fixed noise)
and RUN_DIR/progress.json every K steps; RUN_DIR/state.pt lets an interrupted run resume.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_dcgan import discriminator, generator  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("dataset")
p.add_argument("run")
p.add_argument("--seed", type=int, default=1)
p.add_argument("--steps", type=int, default=1500)
p.add_argument("--every", type=int, default=500)
p.add_argument("--ngf", type=int, default=32)
p.add_argument("--ndf", type=int, default=32)
p.add_argument("--batch-size", type=int, default=32)
p.add_argument("--samples", type=int, default=1000)
p.add_argument("--threads", type=int, default=1)
a = p.parse_args()
torch.set_num_threads(a.threads)

meta = json.load(open(os.path.join(a.dataset, "meta.json")))
H, W, C = meta["height"], meta["width"], meta["channels"]
# uint8 on disk, normalised per batch: the whole set never exists as float32.
train = np.fromfile(os.path.join(a.dataset, "train.u8"), dtype=np.uint8).reshape(-1, H, W, C)
N, B, NZ = len(train), a.batch_size, 100
steps_per_epoch = N // B

torch.manual_seed(a.seed)
G, D = generator(H, C, NZ, a.ngf), discriminator(H, C, a.ndf)
for m in list(G.modules()) + list(D.modules()):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), weight_decay=1e-4)
optG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), weight_decay=1e-4)
bce = nn.BCEWithLogitsLoss()
rng = np.random.default_rng(a.seed)
st = {"step": 0, "frozen": 0, "epoch_pos": steps_per_epoch, "perm": None, "sum_d": 0.0, "sum_g": 0.0, "count": 0, "train_s": 0.0}

os.makedirs(a.run, exist_ok=True)
state_path = os.path.join(a.run, "state.pt")
if os.path.exists(state_path):
    s = torch.load(state_path)
    G.load_state_dict(s["G"]), D.load_state_dict(s["D"]), optG.load_state_dict(s["optG"]), optD.load_state_dict(s["optD"])
    torch.set_rng_state(s["torch_rng"])
    rng.bit_generator.state = s["np_rng"]
    st = s["st"]
    print(f"torch: resumed {a.run} at step {st['step']}", file=sys.stderr)


def write_samples(step):
    G.eval()
    with torch.no_grad():
        z = torch.randn(a.samples, NZ, 1, 1, generator=torch.Generator().manual_seed(20171))
        x = torch.cat([G(z[i : i + 100]) for i in range(0, a.samples, 100)])
    G.train()
    px = ((x.permute(0, 2, 3, 1).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    px.tofile(os.path.join(a.run, f"samples-{step}.u8"))


ones, zeros = torch.full((B,), 0.9), torch.zeros(B)
while st["step"] < a.steps:
    if st["epoch_pos"] >= steps_per_epoch:
        st["perm"], st["epoch_pos"] = rng.permutation(N), 0
        st["sum_d"], st["sum_g"], st["count"] = 0.0, 0.0, 0
    t0 = time.perf_counter()
    idx = np.sort(st["perm"][st["epoch_pos"] * B : (st["epoch_pos"] + 1) * B])
    real = torch.from_numpy(train[idx]).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    frozen = st["count"] > 0 and st["sum_d"] / st["count"] < 0.7 * st["sum_g"] / st["count"]
    fake = G(torch.randn(B, NZ, 1, 1))
    if frozen:
        with torch.no_grad():
            loss_d = bce(D(real).view(-1), ones) + bce(D(fake).view(-1), zeros)
    else:
        optD.zero_grad()
        loss_d = bce(D(real).view(-1), ones) + bce(D(fake.detach()).view(-1), zeros)
        loss_d.backward()
        optD.step()
    optG.zero_grad()
    loss_g = bce(D(fake).view(-1), ones)
    loss_g.backward()
    optG.step()
    st["train_s"] += time.perf_counter() - t0
    st["step"] += 1
    st["epoch_pos"] += 1
    st["frozen"] += int(frozen)
    st["sum_d"] += loss_d.item()
    st["sum_g"] += loss_g.item()
    st["count"] += 1
    if st["step"] % 50 == 0:
        ips = st["step"] * B / st["train_s"]
        eta = (a.steps - st["step"]) * B / ips
        print(f"torch s{a.seed} step {st['step']}/{a.steps} loss_D {loss_d.item():.3f} loss_G {loss_g.item():.3f} "
              f"frozen {100 * st['frozen'] / st['step']:.0f}% {ips:.1f} img/s ETA {eta / 60:.0f} min", file=sys.stderr, flush=True)
    if st["step"] % a.every == 0 or st["step"] == a.steps:
        write_samples(st["step"])
        torch.save({"G": G.state_dict(), "D": D.state_dict(), "optG": optG.state_dict(), "optD": optD.state_dict(),
                    "torch_rng": torch.get_rng_state(), "np_rng": rng.bit_generator.state, "st": st}, state_path + ".tmp")
        os.replace(state_path + ".tmp", state_path)
        with open(os.path.join(a.run, "progress.json"), "w") as f:
            json.dump({"step": st["step"], "imagesPerSecond": st["step"] * B / st["train_s"], "freezeRate": st["frozen"] / st["step"],
                       "torch": torch.__version__, "threads": a.threads, "batchSize": B, "ngf": a.ngf, "ndf": a.ndf}, f)
