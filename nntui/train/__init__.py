"""Training: datasets, run configurations, the training session, metrics and checkpoints (no UI code).

For notebooks, the datasets are here: ``load_dataset("moons", seed=0)`` gives a seeded, standardised split of a
built-in dataset or of a ``.csv``/``.npz`` file; the generators (``spiral``, ``moons`` ...) give raw points.
"""

from nntui.train.data import (
    BUILTIN_DATASETS,
    DataError,
    Dataset,
    blobs,
    circles,
    load_csv,
    load_dataset,
    load_digits,
    load_npz,
    moons,
    spiral,
    xor,
)

__all__ = [
    "BUILTIN_DATASETS",
    "DataError",
    "Dataset",
    "blobs",
    "circles",
    "load_csv",
    "load_dataset",
    "load_digits",
    "load_npz",
    "moons",
    "spiral",
    "xor",
]
