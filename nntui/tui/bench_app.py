"""``nntui bench --app``: does the app train as fast as the headless trainer, and do keys stay responsive?

Trains the same configuration twice for the same wall time: once headless (``TrainingSession.train``), once
inside the real app (headless Textual, charts drawing, the learning rate changed every 200 ms). Prints both throughputs, their
ratio, and the event loop's lateness while training (a key is handled by that loop, so its lateness bounds how
long a key press waits).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from nntui.train.config import apply_overrides, default_config
from nntui.train.session import TrainingSession


def headless_throughput(config, seconds: float) -> float:
    session = TrainingSession(config)
    start, samples = time.perf_counter(), session.samples_seen
    session.train(max_seconds=seconds)
    return (session.samples_seen - samples) / (time.perf_counter() - start)


async def app_throughput(config, seconds: float, size: tuple[int, int]) -> tuple[float, list[float]]:
    from nntui.tui.app import NNTuiApp

    app = NNTuiApp(config, blink=False)
    lateness: list[float] = []
    async with app.run_test(size=size) as pilot:
        await pilot.press("space")
        start, samples = time.perf_counter(), app.session.samples_seen
        next_key = start + 0.2
        while (now := time.perf_counter()) - start < seconds:
            expected = now + 0.01
            await asyncio.sleep(0.01)
            lateness.append(time.perf_counter() - expected)
            if now >= next_key:  # a key now and then, as a person would press one
                await app.run_action("lr_up" if int(now * 5) % 2 else "lr_down")
                next_key = now + 0.2
        trained = app.session.samples_seen - samples
        elapsed = time.perf_counter() - start
        await pilot.press("q")
    return trained / elapsed, lateness


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nntui bench --app", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="spiral")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--size", default="120x40", help="terminal size for the app (default 120x40)")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    config = apply_overrides(default_config(args.dataset), {"training.epochs": 1_000_000})
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        headless = headless_throughput(config, args.seconds)
        in_app, lateness = asyncio.run(app_throughput(config, args.seconds, (width, height)))
    lateness_ms = sorted(v * 1000 for v in lateness)
    p50 = statistics.median(lateness_ms)
    p99 = lateness_ms[int(len(lateness_ms) * 0.99) - 1] if lateness_ms else float("nan")
    print(f"dataset {args.dataset}, model {config.model.hidden}, batch {config.training.batch_size}, "
          f"{args.seconds:g}s each, app at {width}x{height}")
    print(f"headless      {headless:>10,.0f} samples/s")
    print(f"in the app    {in_app:>10,.0f} samples/s   ({in_app / headless:.0%} of headless)")
    print(f"event-loop lateness while training: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {lateness_ms[-1]:.1f} ms")
    return 0
