#!/usr/bin/python3
"""PyTorch peer for the RnnCluster benchmark: times one Adam training step of a 1-layer RNN.

Run with /usr/bin/python3 (Debian's python3-torch; see bench/setup-peer.sh, which also points the
system BLAS at Intel MKL -- without that, torch uses the ~10x slower reference BLAS).

Model: torch.nn.RNN(tanh) / LSTM / GRU (batch_first=True, 1 layer) over x[B,T,D] with explicit
random initial states (h0, and c0 for LSTM), then nn.Linear(H, 1) on the last timestep output,
MSE loss against y[B,1], Adam. float32. x, y, h0 (c0) are drawn once and reused every step.
One timed step = zero_grad, forward, loss, backward, optimizer.step. Prints the median ms/step.

  /usr/bin/python3 bench/peers/pytorch_rnn.py --cell lstm --batch 64 --steps-time 100 \\
      --features 32 --hidden 128 --threads 1 --warmup 5 --iters 20 [--json]
  /usr/bin/python3 bench/peers/pytorch_rnn.py --check     # BLAS lines of torch.__config__.show()
"""
import argparse
import json
import os
import statistics
import sys
import time

# Debian's torch uses GNU OpenMP; MKL's runtime must use the same threading layer.
os.environ.setdefault("MKL_THREADING_LAYER", "GNU")


def tune_malloc():
    """Keep freed memory in the process instead of returning it to the kernel.

    torch's CPU allocator is plain glibc malloc: every training step allocates and frees
    multi-MB activation/gradient buffers, which glibc serves with mmap/munmap (or trims from the
    heap), so each step page-faults thousands of fresh pages back in. On this VM that made step
    times bimodal (e.g. 48 ms typical, 130-190 ms spikes). Disabling mmap-served blocks and heap
    trimming makes the heap reuse the same pages every step (the effect a caching allocator
    such as jemalloc/tcmalloc has). Must run before torch allocates anything.
    Returns True when glibc accepted the settings."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
        ok = libc.mallopt(M_MMAP_MAX, 0) == 1
        ok = libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1) == 1 and ok
        return ok
    except (OSError, AttributeError):
        return False


MALLOC_TUNED = "--no-malloc-tuning" not in sys.argv[1:] and tune_malloc()

import torch  # noqa: E402  (after the environment variable)


def blas_report():
    lines = [l for l in torch.__config__.show().splitlines() if "blas" in l.lower()]
    # Which BLAS library the process actually mapped (the libblas.so.3 alternative).
    mapped = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            name = os.path.basename(path).lower()
            if any(k in name for k in ("blas", "lapack", "mkl", "blis")):
                mapped.add(path)
    return lines, sorted(mapped)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cell", choices=("rnn", "lstm", "gru"), default="rnn")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps-time", type=int, default=100)
    p.add_argument("--features", type=int, default=32)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--json", action="store_true", help="print one JSON line instead of text")
    p.add_argument("--no-malloc-tuning", action="store_true",
                   help="leave glibc malloc at its defaults (mmap/trim large freed blocks; see tune_malloc)")
    p.add_argument("--check", action="store_true",
                   help="print the BLAS lines of torch.__config__.show() and the mapped BLAS library, then exit")
    a = p.parse_args(argv)

    if a.check:
        lines, mapped = blas_report()
        print(f"torch {torch.__version__} ({torch.__file__})")
        for l in lines:
            print(l.strip())
        print("mapped BLAS/LAPACK libraries: " + (", ".join(mapped) if mapped else "(none)"))
        print("MKL in use: " + ("yes" if any("mkl" in m.lower() for m in mapped) else "NO"))
        return 0

    for name in ("batch", "steps_time", "features", "hidden", "threads", "iters"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if a.warmup < 0:
        p.error("--warmup must be >= 0")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    B, T, D, H = a.batch, a.steps_time, a.features, a.hidden
    dtype = torch.float32

    if a.cell == "rnn":
        rnn = torch.nn.RNN(D, H, num_layers=1, nonlinearity="tanh", batch_first=True)
    elif a.cell == "lstm":
        rnn = torch.nn.LSTM(D, H, num_layers=1, batch_first=True)
    else:
        rnn = torch.nn.GRU(D, H, num_layers=1, batch_first=True)
    head = torch.nn.Linear(H, 1)
    rnn.to(dtype)
    head.to(dtype)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    loss_fn = torch.nn.MSELoss()

    x = torch.randn(B, T, D, dtype=dtype)
    y = torch.randn(B, 1, dtype=dtype)
    h0 = torch.randn(1, B, H, dtype=dtype)  # (num_layers, B, H), also with batch_first=True
    c0 = torch.randn(1, B, H, dtype=dtype)
    state = (h0, c0) if a.cell == "lstm" else h0

    def step():
        opt.zero_grad(set_to_none=True)
        out, _ = rnn(x, state)          # out: [B, T, H]
        pred = head(out[:, -1, :])      # last timestep -> [B, 1]
        loss = loss_fn(pred, y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    ms = statistics.median(times)

    if a.json:
        print(json.dumps({"cell": a.cell, "B": B, "T": T, "D": D, "H": H,
                          "threads": a.threads, "ms": round(ms, 3)}))
    else:
        print(f"pytorch {torch.__version__} {a.cell} B={B} T={T} D={D} H={H} threads={a.threads}: "
              f"median {ms:.2f} ms/step (min {min(times):.2f}, max {max(times):.2f}, n={a.iters}, "
              f"malloc {'tuned' if MALLOC_TUNED else 'default'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
