"""Quick runs the training tests share: 200 moons samples (160 for training), small layers, batches of 16, so
one epoch is STEPS_PER_EPOCH steps and a test trains in milliseconds."""

from __future__ import annotations

from nntui.train.config import RunConfig, apply_overrides, default_config

#: 160 training samples in batches of 16.
STEPS_PER_EPOCH = 10

QUICK = {"data.n_samples": 200, "model.hidden": [16, 16], "training.batch_size": 16}


def quick_config(*settings: dict, dataset: str = "moons") -> RunConfig:
    """The quick run, with each dict of dotted settings applied over it in turn (a test file's own, then a test's)."""
    merged = dict(QUICK)
    for more in settings:
        merged.update(more)
    return apply_overrides(default_config(dataset), merged)


def steps(run, n: int):
    """Train `run` (a Trainer or a TrainingSession) n steps; returns it."""
    for _ in range(n):
        run.step()
    return run
