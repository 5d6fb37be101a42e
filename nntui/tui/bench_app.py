"""``nntui bench --app``: does the app train as fast as the headless trainer, and do keys stay responsive?

Trains the same configuration twice for the same wall time: once headless (``TrainingSession.train``), once
inside the real app (headless Textual, charts and numbers drawing, a key every 200 ms). Prints both throughputs,
their ratio, and how long key presses waited for their action while training.
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


async def app_throughput(config, seconds: float, size: tuple[int, int], tab: str = "train",
                         keys: bool = True) -> tuple[float, list[float]]:
    """Samples/s trained inside the app, and how long each key press waited until its action ran.

    A key arrives every 200 ms, as real key events through the app's bindings: mostly escape (leave a field:
    nothing to redraw), and every tenth a learning-rate change (+ or -), which redraws what it changes.
    """
    from textual import events

    from nntui.tui.app import NNTuiApp

    app = NNTuiApp(config, blink=False)
    sent: list[float] = []
    handled: list[float] = []
    for name in ("action_leave_field", "action_lr_up", "action_lr_down"):
        action = getattr(app, name)

        def probe(*args, _action=action):
            handled.append(time.perf_counter())
            return _action(*args)

        setattr(app, name, probe)
    async with app.run_test(size=size) as pilot:
        app.action_show_tab(tab)
        await pilot.pause(0.2)
        await pilot.press("space", "F")  # built-in data starts at a watching pace: full speed is one key away
        start, samples = time.perf_counter(), app.session.samples_seen
        presses = 0
        while time.perf_counter() - start < seconds:
            await asyncio.sleep(0.2)
            presses += 1
            if not keys:
                continue
            key = ("plus" if presses % 20 == 10 else "minus") if presses % 10 == 0 else "escape"
            character = {"plus": "+", "minus": "-"}.get(key, key)
            sent.append(time.perf_counter())
            app.post_message(events.Key(key, character))
        trained = app.session.samples_seen - samples
        elapsed = time.perf_counter() - start
        await pilot.pause(0.1)
        await pilot.press("q")
    latencies = [done - pressed for pressed, done in zip(sent, handled)]
    return trained / elapsed, latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nntui bench --app", description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="spiral")
    parser.add_argument("--seconds", type=float, default=4.0, help="time per measurement (default 4)")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per side, interleaved (default 3)")
    parser.add_argument("--size", default="120x40", help="terminal size for the app (default 120x40)")
    parser.add_argument("--tab", default="train",
                        help="tab shown while training: train, gradients, health, weights, boundary, digits, math")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    config = apply_overrides(default_config(args.dataset), {"training.epochs": 1_000_000})
    from threadpoolctl import threadpool_limits

    headless, in_app, latencies = [], [], []
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(args.repeats):  # interleaved, so both sides see the same machine
            headless.append(headless_throughput(config, args.seconds))
            rate, keys = asyncio.run(app_throughput(config, args.seconds, (width, height), args.tab))
            in_app.append(rate)
            latencies += keys
    latency_ms = sorted(v * 1000 for v in latencies)
    p50 = statistics.median(latency_ms) if latency_ms else float("nan")
    p95 = latency_ms[max(0, int(len(latency_ms) * 0.95) - 1)] if latency_ms else float("nan")
    headless_rate, app_rate = statistics.median(headless), statistics.median(in_app)
    print(f"dataset {args.dataset}, model {config.model.hidden}, batch {config.training.batch_size}, "
          f"{args.repeats} x {args.seconds:g}s each side, app at {width}x{height} on the {args.tab} tab; medians:")
    print(f"headless      {headless_rate:>10,.0f} samples/s")
    print(f"in the app    {app_rate:>10,.0f} samples/s   ({app_rate / headless_rate:.0%} of headless)")
    print(f"key press to action while training ({len(latency_ms)} keys): p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
          f"max {latency_ms[-1]:.1f} ms")
    return 0
