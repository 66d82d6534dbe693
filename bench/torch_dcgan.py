#!/usr/bin/python3
"""The same DCGAN as src/gan/model.ts in PyTorch, for `npm run bench`'s ratio.

pytorch/examples DCGAN layout (no biases, BN + ReLU / LeakyReLU 0.2, tanh),
one thread, the canonical training step (D on real with target 0.9 and on
G(z).detach() with target 0, then G's non-saturating loss with target 0.9 on
D(G(z)); Adam lr 2e-4, betas (0.5, 0.999), weight decay 1e-4).

Usage: torch_dcgan.py '{"configs": [...], "genBatches": [1,4,16], "trainBatch": 32, "trainSteps": 5, "threads": 1}'
Prints one JSON object: {"torch": version, "threads": n, "results": [...]}.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn


def generator(size, nc, nz, ngf):
    stages = {32: 3, 64: 4, 128: 5}[size]
    mult = 2 ** (stages - 1)
    layers = [nn.ConvTranspose2d(nz, ngf * mult, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * mult), nn.ReLU(True)]
    for _ in range(1, stages):
        layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * mult // 2), nn.ReLU(True)]
        mult //= 2
    layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def discriminator(size, nc, ndf):
    stages = {32: 3, 64: 4, 128: 5}[size]
    layers = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    mult = 1
    for _ in range(1, stages):
        layers += [nn.Conv2d(ndf * mult, ndf * mult * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * mult * 2), nn.LeakyReLU(0.2, True)]
        mult *= 2
    layers += [nn.Conv2d(ndf * mult, 1, 4, 1, 0, bias=False)]
    return nn.Sequential(*layers)


def timed(fn, reps, warmup=1):
    """Median and best wall ms, and mean CPU ms (process time: less sensitive to a shared machine)."""
    for _ in range(warmup):
        fn()
    times = []
    c0 = time.process_time()
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    cpu = (time.process_time() - c0) * 1000 / reps
    return statistics.median(times), min(times), cpu


def bench(cfg, gen_batches, train_batch, train_steps):
    size, nc, nz, ngf, ndf = cfg["imageSize"], cfg["channels"], cfg.get("nz", 100), cfg["ngf"], cfg["ndf"]
    torch.manual_seed(0)
    G, D = generator(size, nc, nz, ngf), discriminator(size, nc, ndf)
    out = {"config": cfg, "generatorMs": {}, "train": None}

    G.eval()
    with torch.no_grad():
        for b in gen_batches:
            z = torch.randn(b, nz, 1, 1)
            reps = 20 if b <= 4 else 8
            med, best, cpu = timed(lambda: G(z), reps, warmup=2)
            out["generatorMs"][str(b)] = {"median": med, "best": best, "cpu": cpu}

    G.train()
    D.train()
    optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), weight_decay=1e-4)
    optG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), weight_decay=1e-4)
    bce = nn.BCEWithLogitsLoss()
    real = torch.rand(train_batch, nc, size, size) * 2 - 1
    ones = torch.full((train_batch,), 0.9)
    zeros = torch.zeros(train_batch)

    def step():
        z = torch.randn(train_batch, nz, 1, 1)
        D.zero_grad()
        err_real = bce(D(real).view(-1), ones)
        err_real.backward()
        fake = G(z)
        err_fake = bce(D(fake.detach()).view(-1), zeros)
        err_fake.backward()
        optD.step()
        G.zero_grad()
        err_g = bce(D(fake).view(-1), ones)
        err_g.backward()
        optG.step()

    med, best, cpu = timed(step, train_steps, warmup=1)
    out["train"] = {"stepMs": med, "bestStepMs": best, "cpuMsPerStep": cpu, "imagesPerSecond": train_batch * 1000 / med}
    return out


def main():
    args = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    threads = int(args.get("threads", 1))
    torch.set_num_threads(threads)
    configs = args.get("configs") or [{"imageSize": 32, "channels": 1, "ngf": 32, "ndf": 32}]
    results = [bench(c, args.get("genBatches", [1, 4, 16]), args.get("trainBatch", 32), args.get("trainSteps", 5)) for c in configs]
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
