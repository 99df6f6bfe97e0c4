#!/usr/bin/python3
"""PyTorch DDP peer for bench/cluster-vs-local.sh: the cluster benchmark jobs under
torch.nn.parallel.DistributedDataParallel, gloo backend, CPU, N processes on 127.0.0.1 (default 2),
one thread each.

Reads the same job file as `rnncluster train` (bench/jobs/*.json): the stack of LSTM layers
(`model.layers`, kind lstm, then one dense of 1 unit), `batch_size`, `epochs`,
`optimizer.learning_rate`, and the built-in phase_level data's `rows` and `timesteps`. The data is
made the same way (x_t = sin(0.3 t + phi) + 0.05 noise, D = 1; y = level + sin(0.3 T + phi); the
level as the initial state, column 0 of h0 and c0 of every layer), from numpy's generator, so not
the same numbers; the work per step is the same. Model: nn.LSTM(1, H, num_layers=L,
batch_first=True) with explicit (h0, c0), nn.Linear(H, 1) on the last timestep, MSE, Adam. PyTorch's
LSTM has two bias vectors per layer (b_ih, b_hh), 4H more parameters per layer than Keras's.
Initialised as Keras does (glorot-uniform input kernels, orthogonal recurrent kernels, zero
biases with the forget gate's at 1, glorot-uniform Dense), so the loss falls as in our runs.

The global batch is split evenly over the processes (each takes batch_size / N consecutive rows
of the step's shuffled batch); DDP all-reduces the gradients (averaged), every process steps its
own Adam. Each epoch rank 0 prints a line in the format of `rnncluster train`:

  epoch 2/3  loss 0.123456  531 samples/s  7.7 s

and at the end `samples/s after the first epoch: N` (rows of epochs 2..E over their time).

  /usr/bin/python3 bench/peers/pytorch_ddp.py bench/jobs/lstm256x2.json [--procs 2] [--epochs E] [--port P]
"""
import argparse
import json
import os
import re
import socket
import sys
import time

os.environ.setdefault("MKL_THREADING_LAYER", "GNU")  # Debian's torch uses GNU OpenMP
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_rnn import tune_malloc  # noqa: E402  (also imports torch, after the variable above)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402


def read_job(path):
    """The job file's JSON (whole-line // comments and trailing commas allowed, as rnncluster does)."""
    text = open(path).read()
    text = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("//"))
    text = re.sub(r",(\s*[}\]])", r"\1", text)
    job = json.loads(text)
    layers = job["model"]["layers"]
    lstm = layers[:-1]
    if not lstm or any(l["kind"] != "lstm" for l in lstm) or layers[-1]["kind"] != "dense" or layers[-1]["units"] != 1:
        raise SystemExit(f"pytorch_ddp: {path}: expected LSTM layers then one dense of 1 unit")
    units = {l["units"] for l in lstm}
    if len(units) != 1:
        raise SystemExit(f"pytorch_ddp: {path}: the LSTM layers must have the same units (nn.LSTM num_layers)")
    data = job["data"]
    if data.get("source") != "builtin" or data.get("builtin", "phase_level") != "phase_level":
        raise SystemExit(f"pytorch_ddp: {path}: expected builtin phase_level data")
    if job.get("loss", "mse") != "mse" or job.get("optimizer", {}).get("kind", "adam") != "adam":
        raise SystemExit(f"pytorch_ddp: {path}: expected loss mse and optimizer adam")
    return {
        "name": job.get("name", os.path.basename(path)),
        "layers": len(lstm), "hidden": units.pop(),
        "batch": job["batch_size"], "epochs": job.get("epochs", 1),
        "lr": job.get("optimizer", {}).get("learning_rate", 0.001),
        "rows": data.get("rows", 2048), "timesteps": data.get("timesteps", 20),
        "seed": job.get("seed", 0),
    }


def phase_level(rows, timesteps, seed):
    rng = np.random.default_rng(seed)
    level = rng.uniform(-1, 1, rows).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, rows)
    t = np.arange(timesteps)
    x = np.sin(0.3 * t[None, :] + phase[:, None]) + 0.05 * rng.standard_normal((rows, timesteps))
    y = level + np.sin(0.3 * timesteps + phase)
    return x.astype(np.float32)[:, :, None], y.astype(np.float32)[:, None], level


def worker(rank, world, port, cfg, epochs):
    tune_malloc()
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(cfg["seed"])  # same initial weights everywhere (DDP also broadcasts rank 0's)

    H, L, B = cfg["hidden"], cfg["layers"], cfg["batch"]
    x, y, level = phase_level(cfg["rows"], cfg["timesteps"], cfg["seed"])
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    state0 = torch.zeros(L, cfg["rows"], H)
    state0[:, :, 0] = torch.from_numpy(level)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(1, H, num_layers=L, batch_first=True)
            self.head = torch.nn.Linear(H, 1)

            for name, w in self.lstm.named_parameters():
                if name.startswith("weight_ih"):
                    torch.nn.init.xavier_uniform_(w)
                elif name.startswith("weight_hh"):
                    torch.nn.init.orthogonal_(w)
                else:
                    torch.nn.init.zeros_(w)
                    if name.startswith("bias_ih"):
                        w.data[H:2 * H] = 1.0  # gates i, f, g, o: Keras's unit_forget_bias
            torch.nn.init.xavier_uniform_(self.head.weight)
            torch.nn.init.zeros_(self.head.bias)

        def forward(self, xb, h0, c0):
            out, _ = self.lstm(xb, (h0, c0))
            return self.head(out[:, -1, :])

    model = torch.nn.parallel.DistributedDataParallel(Net())
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    loss_fn = torch.nn.MSELoss()
    steps = cfg["rows"] // B
    per = B // world
    gen = torch.Generator().manual_seed(cfg["seed"])
    if rank == 0:
        params = sum(p.numel() for p in model.parameters())
        print(f"pytorch_ddp {cfg['name']}: torch {torch.__version__}, gloo, {world} processes x 1 thread, "
              f"{L} x LSTM({H}) + Dense(1) = {params} parameters, batch {B} ({per} per process), T {cfg['timesteps']}, "
              f"{cfg['rows']} rows = {steps} steps per epoch", flush=True)
    later_rows, later_seconds = 0, 0.0
    for epoch in range(epochs):
        order = torch.randperm(cfg["rows"], generator=gen)  # same on every rank
        dist.barrier()
        t0 = time.perf_counter()
        total = torch.zeros(1)
        for s in range(steps):
            idx = order[s * B + rank * per: s * B + (rank + 1) * per]
            h0 = state0[:, idx, :]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx], h0, h0.clone()), y[idx])
            loss.backward()  # DDP all-reduces the gradients here
            opt.step()
            total += loss.detach()
        dist.all_reduce(total)
        seconds = time.perf_counter() - t0
        rows = steps * B
        if epoch > 0:
            later_rows += rows
            later_seconds += seconds
        if rank == 0:
            print(f"epoch {epoch + 1}/{epochs}  loss {total.item() / steps / world:.6f}  {rows / seconds:.0f} samples/s  {seconds:.1f} s", flush=True)
    if rank == 0 and later_seconds > 0:
        print(f"samples/s after the first epoch: {later_rows / later_seconds:.0f}", flush=True)
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("job")
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--epochs", type=int, help="overrides the job's epochs")
    p.add_argument("--port", type=int, help="rendezvous port on 127.0.0.1 (default: a free one)")
    a = p.parse_args(argv)
    cfg = read_job(a.job)
    epochs = a.epochs or cfg["epochs"]
    if a.procs < 1 or cfg["batch"] % a.procs:
        p.error(f"--procs must divide the batch size {cfg['batch']}")
    mp.spawn(worker, args=(a.procs, a.port or free_port(), cfg, epochs), nprocs=a.procs, join=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
