"""``nntui bench``: training throughput of the engine beside the same training written as one plain NumPy loop.

Each workload trains an MLP (ReLU, softmax cross-entropy, plain SGD, float32) on random data. The engine runs
exactly the README's loop (``loss.forward(model.forward(x), y)``, ``model.backward(loss.backward())``,
``optimizer.step(model)``, defaults everywhere); the reference is the same arithmetic hand-inlined with no classes
at all. The two are timed in short alternating blocks (engine, plain, engine, plain ...) so that both see the same
machine, and the ratio is the median of the blocks' ratios: what the engine's abstractions cost (or save).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nntui.nn import SGD, SoftmaxCrossEntropy, mlp


@dataclass(frozen=True)
class Workload:
    sizes: tuple[int, ...]
    batch: int

    @property
    def label(self) -> str:
        return f"{'-'.join(map(str, self.sizes))} @ batch {self.batch}"


WORKLOADS = (
    Workload((2, 16, 16, 3), 32),
    Workload((64, 128, 64, 10), 32),
    Workload((64, 128, 64, 10), 256),
    Workload((784, 256, 128, 10), 128),
)
LR = 0.01


def make_data(workload: Workload, n_batches: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = workload.batch * n_batches
    x = rng.standard_normal((n, workload.sizes[0])).astype(np.float32)
    y = rng.integers(0, workload.sizes[-1], n)
    return [(x[i:i + workload.batch], y[i:i + workload.batch]) for i in range(0, n, workload.batch)]


def engine_trainer(workload: Workload, seed: int = 0) -> Callable[[np.ndarray, np.ndarray], None]:
    """One training step through the engine's public API."""
    model = mlp(workload.sizes, "relu", rng=np.random.default_rng(seed))
    loss, optimizer = SoftmaxCrossEntropy(), SGD(LR)

    def step(x, y):
        loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        optimizer.step(model)

    return step


def reference_trainer(workload: Workload, seed: int = 0) -> Callable[[np.ndarray, np.ndarray], None]:
    """The same step as one plain NumPy function: no layers, no loss object, no optimizer object."""
    model = mlp(workload.sizes, "relu", rng=np.random.default_rng(seed))  # same initial weights
    weights = [layer.params["W"].copy() for layer in model.layers[::2]]
    biases = [layer.params["b"].copy() for layer in model.layers[::2]]
    n_layers = len(weights)
    EXP_FLOOR = 0.25 * float(np.log(np.finfo(np.float32).tiny))

    def step(x, y):
        inputs, pre_activations = [], []
        h = x
        for i in range(n_layers):
            inputs.append(h)
            z = h @ weights[i]
            z += biases[i]
            if i < n_layers - 1:
                pre_activations.append(z)
                h = np.maximum(z, 0)
            else:
                h = z
        n = len(y)
        shifted = h - h.max(axis=1, keepdims=True)
        exp = np.maximum(shifted, EXP_FLOOR)  # the engine's guard against subnormal probabilities
        np.exp(exp, out=exp)
        sums = exp.sum(axis=1)
        exp /= sums[:, None]
        _loss = float((np.log(sums) - shifted[np.arange(n), y]).sum()) / n
        grad = exp
        grad[np.arange(n), y] -= 1
        grad *= 1.0 / n
        for i in range(n_layers - 1, -1, -1):
            grad_w = inputs[i].T @ grad
            grad_b = grad.sum(axis=0)
            if i > 0:
                grad = (grad @ weights[i].T) * (pre_activations[i - 1] > 0)
            weights[i] -= LR * grad_w
            biases[i] -= LR * grad_b

    return step


def run_block(step, batches, n_steps: int) -> float:
    """Seconds taken by ``n_steps`` steps over ``batches``."""
    start = time.perf_counter()
    for i in range(n_steps):
        x, y = batches[i % len(batches)]
        step(x, y)
    return time.perf_counter() - start


def measure(workload: Workload, seconds: float = 1.0, repeats: int = 3) -> dict:
    """Throughput of engine and reference over about ``seconds * repeats`` each, in alternating ~20 ms blocks.

    Returns the median samples/s of each side and the median of the per-pair ratios (engine / plain).
    """
    batches = make_data(workload)
    engine, reference = engine_trainer(workload), reference_trainer(workload)
    run_block(engine, batches, 8)  # warm-up
    # Steps per block: about 20 ms of the plain loop.
    n_steps = max(4, int(0.02 / max(run_block(reference, batches, 8) / 8, 1e-7)))
    engine_times, reference_times = [], []
    deadline = time.perf_counter() + 2 * seconds * repeats
    while time.perf_counter() < deadline or len(engine_times) < 3:
        engine_times.append(run_block(engine, batches, n_steps))
        reference_times.append(run_block(reference, batches, n_steps))
    samples = n_steps * workload.batch
    ratio = float(np.median(np.array(reference_times) / np.array(engine_times)))
    return {"workload": workload.label, "engine": samples / float(np.median(engine_times)),
            "reference": samples / float(np.median(reference_times)), "ratio": ratio,
            "blocks": len(engine_times)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nntui bench", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per side per repeat (default 1)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="how long to measure, in units of --seconds per side (default 3)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads (default 1: small nets gain nothing from more, see the README)")
    parser.add_argument("--json", action="store_true", help="print one JSON line per workload")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=args.threads, user_api="blas"):
        if not args.json:
            print(f"{'workload':<30} {'engine':>14} {'plain NumPy':>14} {'ratio':>7}")
        for workload in WORKLOADS:
            result = measure(workload, args.seconds, args.repeats)
            if args.json:
                print(json.dumps(result))
            else:
                print(f"{result['workload']:<30} {result['engine']:>10,.0f} s/s {result['reference']:>10,.0f} s/s "
                      f"{result['ratio']:>6.0%}", flush=True)
    if not args.json:
        print("s/s = training samples per second (float32, SGD, softmax cross-entropy), medians of alternating "
              "blocks; ratio = engine / plain, the median of the blocks' ratios.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
