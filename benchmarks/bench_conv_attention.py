"""Speed of conv2d, self-attention, a Transformer encoder block, RNN and LSTM (forward +
backward) and a CNN training step against PyTorch on the CPU.

    .venv/bin/python benchmarks/bench_conv_attention.py [--threads 1 2] [--repeats 5]
        [--rounds 3] [--only TEXT ...]

Both libraries run the same float32 problems in the same process, interleaved (a block
of dlprimer calls, then a block of torch calls, repeated) after a warm-up, so machine
noise hits both alike. A block is 5 timed back-to-back calls, as in a training loop,
after 0.1 s of untimed ones (see ``block``); with more than one thread each block starts
after 0.2 s idle, so neither library's spinning worker threads slow the other down. Each
case is timed in ``--rounds`` separate rounds of ``--repeats`` pairs of blocks, the
thread counts taking turns; the median over all calls is printed for each thread count,
with the ratio dlprimer / torch (lower is better; 1.0 = parity). The rows "numpy floor"
time only the matrix products that any numpy implementation of the case above them must
make, against the same torch call: a floor ratio above a target means numpy and its BLAS
cannot reach that target. The thread count is set
for torch and, through threadpoolctl, for numpy's BLAS (numpy's element-wise work is
single-threaded). 1-thread figures are the steadier ones on a shared machine.

Backward starts from a fixed dense random gradient, as inside a network (a ``.sum()``
would hand both engines a broadcast gradient, which is not what they see in training).

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from this process's environment
before numpy loads OpenBLAS (so OpenBLAS picks its kernels for the CPU it detects);
the values found are printed. Nothing outside this process is changed.
"""

from __future__ import annotations

import os

# Before numpy is imported: OpenBLAS reads these once, when it is loaded.
_OPENBLAS_VARS = {name: os.environ.pop(name, None)
                  for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

import dlprimer as dp  # noqa: E402
from dlprimer import nn  # noqa: E402
from dlprimer.nn import functional as F  # noqa: E402


def conv_case(n, c_in, size, c_out, k, rng):
    x = rng.standard_normal((n, c_in, size, size)).astype(np.float32)
    W = (rng.standard_normal((c_out, c_in, k, k)) * 0.1).astype(np.float32)
    b = np.zeros(c_out, np.float32)
    g = rng.standard_normal((n, c_out, size - k + 1, size - k + 1)).astype(np.float32)
    g_t = torch.tensor(g)

    def ours():
        xs = [dp.Tensor(a, requires_grad=True) for a in (x, W, b)]
        F.conv2d(*xs).backward(g)

    def theirs():
        xs = [torch.tensor(a, requires_grad=True) for a in (x, W, b)]
        torch.nn.functional.conv2d(*xs).backward(g_t)

    return ours, theirs


def conv_gemm_floor_case(n, c_in, size, c_out, k, rng, chunk=4):
    """The floor of any im2col convolution in numpy: only its three matrix products
    (Z = W_col X_col, dL/dW = G X_colᵀ, dL/dX_col = W_colᵀ G) at the valid windows, on
    chunks of ``chunk`` samples kept hot in cache, with no im2col, col2im or bias work;
    against torch's whole conv2d forward + backward."""
    K, columns = c_in * k * k, chunk * (size - k + 1) ** 2
    X_col = rng.standard_normal((K, columns)).astype(np.float32)
    W_col = rng.standard_normal((c_out, K)).astype(np.float32)
    G = rng.standard_normal((c_out, columns)).astype(np.float32)

    def floor():
        for _ in range(n // chunk):
            W_col @ X_col, G @ X_col.T, W_col.T @ G  # noqa: B018

    return floor, conv_case(n, c_in, size, c_out, k, rng)[1]


def attention_case(n, T, d, rng):
    q, k, v, g = (rng.standard_normal((n, T, d)).astype(np.float32) for _ in range(4))
    g_t = torch.tensor(g)

    def ours():
        xs = [dp.Tensor(a, requires_grad=True) for a in (q, k, v)]
        out, _ = F.dot_product_attention(*xs)
        out.backward(g)

    def theirs():
        xs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        # the same math as ours, written out (weights materialized, softmax over keys)
        scores = xs[0] @ xs[1].transpose(-1, -2) / d**0.5  # (n, T, T)
        (scores.softmax(-1) @ xs[2]).backward(g_t)

    def theirs_fused():
        xs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        torch.nn.functional.scaled_dot_product_attention(*xs).backward(g_t)

    return ours, theirs, theirs_fused


def attention_matmul_floor_case(n, T, d, rng):
    """The floor of attention in numpy: only the six batched matrix products of its
    forward + backward (S = Q Kᵀ, α V, dV = αᵀ g, dα = g Vᵀ, dQ = dS K, dK = dSᵀ Q), with
    no softmax; against torch's SDPA forward + backward. numpy runs a batched product as
    one BLAS call per batch entry, which a second thread barely speeds up."""
    q, k, v, g = (rng.standard_normal((n, T, d)).astype(np.float32) for _ in range(4))
    S = np.empty((n, T, T), np.float32)
    outputs = [np.empty((n, T, d), np.float32) for _ in range(4)]

    def floor():
        np.matmul(q, k.transpose(0, 2, 1), out=S)
        np.matmul(S, v, out=outputs[0])
        np.matmul(S.transpose(0, 2, 1), g, out=outputs[1])
        np.matmul(g, v.transpose(0, 2, 1), out=S)
        np.matmul(S, k, out=outputs[2])
        np.matmul(S.transpose(0, 2, 1), q, out=outputs[3])

    return floor, attention_case(n, T, d, rng)[2]


def mha_case(n, T, d, heads, rng):
    X, g = (rng.standard_normal((n, T, d)).astype(np.float32) for _ in range(2))
    g_t = torch.tensor(g)
    layer = nn.MultiHeadAttention(d, heads, seed=0)
    theirs_layer = torch.nn.MultiheadAttention(d, heads, batch_first=True)
    with torch.no_grad():  # the same weights (see tests/test_nn_attention.py)
        theirs_layer.in_proj_weight.copy_(torch.tensor(
            np.concatenate([layer.W_q.data, layer.W_k.data, layer.W_v.data])))
        theirs_layer.in_proj_bias.zero_()
        theirs_layer.out_proj.weight.copy_(torch.tensor(layer.W_o.data))
        theirs_layer.out_proj.bias.zero_()

    def ours():
        layer.zero_grad()
        layer(dp.Tensor(X, requires_grad=True)).backward(g)

    def theirs():
        theirs_layer.zero_grad()
        x = torch.tensor(X, requires_grad=True)
        # need_weights=False lets torch use its fused kernel, its fastest path
        theirs_layer(x, x, x, need_weights=False)[0].backward(g_t)

    return ours, theirs


def cnn_step_case(n, rng):
    """One training step of a small CNN on 28x28 images: conv 1->32 3x3 ReLU, conv 32->64
    3x3 ReLU, 2x2 max pool, Dense 9216->10, cross-entropy, Adam; what a user's loop runs."""
    X = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=n)
    layers = [nn.Conv2d(1, 32, 3, activation="relu", seed=0),
              nn.Conv2d(32, 64, 3, activation="relu", seed=1), nn.MaxPool2d(2), nn.Flatten(),
              nn.Dense(64 * 12 * 12, 10, seed=2)]
    params = [p for layer in layers for p in layer.parameters()]
    opt = dp.optim.Adam(1e-3)
    opt.setup(params)
    theirs_net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 3),
        torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(64 * 12 * 12, 10))
    theirs_opt = torch.optim.Adam(theirs_net.parameters(), 1e-3)
    X_t, y_t = torch.tensor(X), torch.tensor(y)

    def ours():
        opt.zero_grad()
        h = dp.Tensor(X)
        for layer in layers:
            h = layer(h)
        dp.nn.functional.cross_entropy(h, y).backward()
        opt.step()

    def theirs():
        theirs_opt.zero_grad()
        torch.nn.functional.cross_entropy(theirs_net(X_t), y_t).backward()
        theirs_opt.step()

    return ours, theirs


def encoder_block_case(n, T, d, heads, d_ff, rng):
    """TransformerEncoderBlock against torch's TransformerEncoderLayer (post-norm, ReLU,
    dropout 0), forward + backward."""
    X, g = (rng.standard_normal((n, T, d)).astype(np.float32) for _ in range(2))
    ours_block = nn.TransformerEncoderBlock(d, heads, d_ff, seed=0)
    theirs_block = torch.nn.TransformerEncoderLayer(d, heads, dim_feedforward=d_ff,
                                                    dropout=0.0, batch_first=True)
    g_t = torch.tensor(g)

    def ours():
        ours_block.zero_grad()
        ours_block(dp.Tensor(X, requires_grad=True)).backward(g)

    def theirs():
        theirs_block.zero_grad()
        theirs_block(torch.tensor(X, requires_grad=True)).backward(g_t)

    return ours, theirs


def recurrent_case(kind, n, T, input_size, hidden, rng):
    """RNN or LSTM forward + backward over a whole sequence, from a dense gradient."""
    X = rng.standard_normal((n, T, input_size)).astype(np.float32)
    g = rng.standard_normal((n, T, hidden)).astype(np.float32)
    ours_layer = getattr(nn, kind)(input_size, hidden, seed=0)
    theirs_layer = getattr(torch.nn, kind)(input_size, hidden, batch_first=True)
    g_t = torch.tensor(g)

    def ours():
        ours_layer.zero_grad()
        ours_layer(dp.Tensor(X, requires_grad=True))[0].backward(g)

    def theirs():
        theirs_layer.zero_grad()
        theirs_layer(torch.tensor(X, requires_grad=True))[0].backward(g_t)

    return ours, theirs


CASES = [
    ("CNN training step, batch 64, 28x28", lambda rng: cnn_step_case(64, rng)),
    ("conv2d (64,1,28,28) -> 32 ch 3x3", lambda rng: conv_case(64, 1, 28, 32, 3, rng)),
    ("conv2d (64,32,26,26) -> 64 ch 3x3", lambda rng: conv_case(64, 32, 26, 64, 3, rng)),
    ("  numpy floor: its 3 GEMMs only, hot chunks",
     lambda rng: conv_gemm_floor_case(64, 32, 26, 64, 3, rng)),
    ("attention n=32 T=128 d=64 vs torch manual",
     lambda rng: attention_case(32, 128, 64, rng)[:2]),
    ("attention n=32 T=128 d=64 vs torch SDPA",
     lambda rng: attention_case(32, 128, 64, rng)[::2]),
    ("  numpy floor: its 6 batched products only",
     lambda rng: attention_matmul_floor_case(32, 128, 64, rng)),
    ("MultiHeadAttention n=32 T=128 d=64 h=4", lambda rng: mha_case(32, 128, 64, 4, rng)),
    ("encoder block n=32 T=128 d=64 h=4 ff=256",
     lambda rng: encoder_block_case(32, 128, 64, 4, 256, rng)),
    ("RNN n=32 T=50 I=16 H=64", lambda rng: recurrent_case("RNN", 32, 50, 16, 64, rng)),
    ("LSTM n=32 T=50 I=16 H=64", lambda rng: recurrent_case("LSTM", 32, 50, 16, 64, rng)),
]


def block(fn, calls: int, idle: float, warm: float = 0.1) -> list[float]:
    """Seconds of each of ``calls`` back-to-back calls, made after ``idle`` s of sleep and
    ``warm`` s of untimed calls."""
    # NOTE: idle first: after a parallel call, OpenBLAS's worker threads spin for about
    # 2^28 cycles (~0.1 s) and torch's OpenMP workers for a while too before they sleep;
    # with 2 threads on 2 cores they would steal the CPU from whichever library runs next.
    # Then back to back, as in a training loop. The untimed calls cover the warm-up of
    # this VM's idle vCPU: its cpuidle governor (haltpoll) wakes a vCPU slowly after a
    # pause and polls longer only as wake-ups keep coming, which takes a few tens of ms
    # of steady work (measured: attention on two threads, 7.5 ms a call at first, 4.2
    # after about 50 ms).
    time.sleep(idle)
    start = time.perf_counter()
    while True:
        fn()
        if time.perf_counter() - start >= warm:
            break
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def interleaved(ours, theirs, repeats, idle, calls=5) -> tuple[list[float], list[float]]:
    times = ([], [])
    for _ in range(repeats):
        times[0].extend(block(ours, calls, idle))
        times[1].extend(block(theirs, calls, idle))
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="thread counts for torch and numpy's BLAS (default: 1 2)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="pairs of blocks per round; a block is 5 timed back-to-back "
                             "calls after 0.1 s of untimed ones (default 5)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds per case, thread counts taking turns (default 3)")
    parser.add_argument("--only", nargs="+", default=None, metavar="TEXT",
                        help="run only the cases whose name contains one of these texts")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).parent))
    from _common import load_every_blas

    loops = load_every_blas()  # before threadpool_limits, which limits loaded BLAS only
    print(f"numpy {np.__version__}, torch {torch.__version__}, {os.cpu_count()} CPUs; "
          f"dlprimer: {loops}")
    for name, value in _OPENBLAS_VARS.items():
        seen = "unset" if value is None else f"was {value!r}, unset for this process"
        print(f"  {name}: {seen}")
    for pool in threadpool_info():
        print(f"  {pool['user_api']}: {pool['internal_api']} {pool.get('version')} "
              f"{pool.get('architecture', '')} {os.path.basename(pool['filepath'])}")
    print("forward + backward, float32; median ms over interleaved runs; ratio = "
          "dlprimer / torch")
    header = "".join(f" | {t} thread{'s' if t > 1 else ' '}: dlprimer    torch  ratio"
                     for t in args.threads)
    print(f"{'case':44s}{header}")
    for name, make in CASES:
        if args.only and not any(text in name for text in args.only):
            continue
        ours, theirs = make(np.random.default_rng(0))
        times = {t: ([], []) for t in args.threads}
        for _ in range(args.rounds):
            for t in args.threads:
                torch.set_num_threads(t)
                with threadpool_limits(limits=t, user_api="blas"):
                    a, b = interleaved(ours, theirs, args.repeats,
                                       idle=0.2 if t > 1 else 0.0)
                times[t][0].extend(a)
                times[t][1].extend(b)
        row = ""
        for t in args.threads:
            ms_ours, ms_theirs = (statistics.median(ts) * 1e3 for ts in times[t])
            row += f" | {' ' * 10}{ms_ours:8.2f} {ms_theirs:8.2f} {ms_ours / ms_theirs:6.2f}"
        print(f"{name:44s}{row}", flush=True)


if __name__ == "__main__":
    main()
