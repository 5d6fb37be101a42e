"""Where the training session used to live; it is now two classes, and this module names them as before.

``TrainingSession`` is the run controller (``controller.py``: commands, pace, snapshots), driving a ``Trainer``
(``trainer.py``: the model, its data and everything that decides the numbers). ``from nntui.train.session
import TrainingSession, State, Snapshot`` keeps working for scripts and notebooks written against it.
"""

from nntui.train.controller import Snapshot, State, TrainingSession
from nntui.train.trainer import (
    CLASS_COUNT_DATASETS,
    EVAL_CHUNK,
    GRAD_NORM_DENSE,
    GRAD_NORM_EVERY,
    MAX_PARAMETERS,
    LayerStats,
    StepResult,
    Trainer,
    build_model,
    build_optimizer,
)

__all__ = [
    "CLASS_COUNT_DATASETS",
    "EVAL_CHUNK",
    "GRAD_NORM_DENSE",
    "GRAD_NORM_EVERY",
    "MAX_PARAMETERS",
    "LayerStats",
    "Snapshot",
    "State",
    "StepResult",
    "Trainer",
    "TrainingSession",
    "build_model",
    "build_optimizer",
]
