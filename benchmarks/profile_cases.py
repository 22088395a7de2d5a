"""Where dlprimer's time goes in the speed issue's cases: a pyinstrument profile of each.

    .venv/bin/python benchmarks/profile_cases.py [--seconds 3] [--threads 1] [--only LSTM]

Runs dlprimer's side of the cases of bench_conv_attention.py (the CNN training step, the
TransformerEncoderBlock, the LSTM) and an MLP 784-256-128-10 SGD step (batch 128, as in
bench_mlp_epoch.py) back to back for ``--seconds`` each under pyinstrument (1 ms sampling
interval), after a warm-up, and prints each call tree cut at 2% of the time. Times are
seconds over all calls; the number of calls is printed beside each, so a line's time per
call is its time divided by that count. Compiled kernels (numba) release the GIL, and
pyinstrument shows them as roots of their own beside the Python call tree; for the LSTM,
where nearly all the time is in them, it attributes badly, so the LSTM is also timed in
sections (the kernel's pieces called alone, best of 7 runs of 200 calls).

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from this process's environment before
numpy loads OpenBLAS, and the values found are printed; nothing outside this process
changes.
"""

from __future__ import annotations

import os

# Before numpy is imported: OpenBLAS reads these once, when it is loaded.
_OPENBLAS_VARS = {name: os.environ.pop(name, None)
                  for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from pyinstrument import Profiler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import bench_conv_attention as cases  # noqa: E402
from _common import load_every_blas, report_environment  # noqa: E402

import dlprimer as dp  # noqa: E402


def mlp_step_case(rng):
    """One SGD (momentum 0.9) step of the 784-256-128-10 ReLU MLP on a batch of 128."""
    X = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=128)
    model = dp.FeedForward([784, 256, 128, 10], activation="relu", seed=0)
    opt = dp.optim.SGD(0.01, momentum=0.9)
    opt.setup(model.parameters())

    def ours():
        opt.zero_grad()
        dp.nn.functional.cross_entropy(model(dp.Tensor(X)), y).backward()
        opt.step()

    return ours


def lstm_sections() -> None:
    """The LSTM case's time in pieces: the kernel's loops and products called alone."""
    import timeit

    from dlprimer.nn.functional import accelerator, lstm_kernel

    n, T, I, H = 32, 50, 16, 64
    rng = np.random.default_rng(0)
    layer = dp.nn.LSTM(I, H, seed=0)
    X = rng.standard_normal((n, T, I)).astype(np.float32)
    weights = [p.data for p in (layer.W_ih, layer.b_ih, layer.b_hh, layer.W_hh)]
    zeros = np.zeros((n, H), np.float32)
    gY = rng.standard_normal((n, T + 1, H)).astype(np.float32)
    fast = accelerator.compiled("lstm_compiled")

    def forward():
        return lstm_kernel.lstm_forward(X, *weights, zeros, zeros, np.float32, True)

    def step():
        layer.zero_grad()
        out, _ = layer(dp.Tensor(X, requires_grad=True))
        out.backward(gY[:, :T])

    Y, backward = forward()
    backward(gY)
    ws = lstm_kernel._take((n, T, I, H, np.dtype(np.float32)))  # a workspace of our own
    W_T = np.ascontiguousarray(ws.W[:, :H + I].T)
    pieces = {"the layer's forward + backward (graph included)": step,
              "lstm_forward (kernel, set-up and batch-first output)": forward,
              "lstm_forward + its backward": lambda: forward()[1](gY),
              "weight gradients, dX, copies (_gradients)":
                  lambda: lstm_kernel._gradients(ws, weights[0], True, steps_dX=ws.dXs)}
    if fast is not None:
        pieces["  forward step loop (50 products + fused passes)"] = (
            lambda: fast.forward_loop(ws.W, ws.hx, ws.S, ws.tanh_c, ws.z))
        pieces["  backward step loop (50 products + fused passes)"] = (
            lambda: fast.backward_loop(W_T, ws.S, ws.tanh_c, ws.G, ws.Dk, ws.z, ws.dhx,
                                       ws.dc, ws.dXs))
    print("\n=== LSTM (32, 50, 16 -> 64) in sections, µs a call ===")
    for name, fn in pieces.items():
        fn()
        seconds = min(timeit.repeat(fn, number=200, repeat=7)) / 200
        print(f"  {name:58s} {seconds * 1e6:8.0f}")


CASES = {
    "CNN training step (batch 64, 28x28)": lambda rng: cases.cnn_step_case(64, rng)[0],
    "TransformerEncoderBlock (32, 128, d 64, 4 heads, d_ff 256)":
        lambda rng: cases.encoder_block_case(32, 128, 64, 4, 256, rng)[0],
    "LSTM (32, 50, 16 -> 64) forward + backward":
        lambda rng: cases.recurrent_case("LSTM", 32, 50, 16, 64, rng)[0],
    "MLP 784-256-128-10 SGD step (batch 128)": mlp_step_case,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", nargs="+", default=None, metavar="TEXT")
    args = parser.parse_args()
    loops = load_every_blas()
    threadpool_limits(args.threads, user_api="blas")
    for name, value in _OPENBLAS_VARS.items():
        print(f"{name}: {'unset' if value is None else f'was {value!r}, unset here'}")
    report_environment(args.threads)
    print(f"dlprimer: {loops}")
    for name, make in CASES.items():
        if args.only and not any(text in name for text in args.only):
            continue
        step = make(np.random.default_rng(0))
        for _ in range(5):
            step()
        profiler = Profiler(interval=0.001)
        calls, start = 0, time.perf_counter()
        profiler.start()
        while time.perf_counter() - start < args.seconds:
            step()
            calls += 1
        profiler.stop()
        elapsed = time.perf_counter() - start
        print(f"\n=== {name}: {calls} calls, {elapsed / calls * 1e3:.2f} ms a call ===")
        print(profiler.output_text(unicode=True, color=False, show_all=False,
                                   short_mode=False, time="seconds",
                                   processor_options={"filter_threshold": 0.02}))
        if name.startswith("LSTM"):
            lstm_sections()


if __name__ == "__main__":
    main()
