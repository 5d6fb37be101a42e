"""Checkpoints: a whole training run in one ``.npz`` file, written atomically.

A checkpoint holds the weights, the optimizer's state, the run configuration (as TOML), the position in the
data (the epoch's shuffled order and the next batch), the random generators' states and the history. Loading
one and training on gives the same numbers, bit for bit, as never having stopped.

The file is written to a temporary name in the same folder and renamed over the target only once complete, so
a crash or a full disk never leaves a half-written checkpoint where a good one was.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nntui.train.config import ConfigError, RunConfig, apply_overrides
from nntui.train.data import DataError
from nntui.train.files import write_atomically
from nntui.train.metrics import History

if TYPE_CHECKING:
    from nntui.train.session import TrainingSession

FORMAT = "nntui-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be written or read, with a message saying why."""


def save_checkpoint(session: TrainingSession, path: str | os.PathLike, *, replace: bool = True) -> Path:
    """Write ``session`` to ``path`` (``.npz``) atomically; returns the path written.

    ``replace=False``: raise FileExistsError, changing nothing, if ``path`` exists when the file is put in place.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise CheckpointError(f"checkpoint files end in .npz, got {str(path)!r}")
    arrays: dict[str, np.ndarray] = {}
    for name, param, _grad in session.model.parameters():
        arrays[f"param/{name}"] = param
    optimizer_state = session.optimizer.state_dict()
    for name, slots in optimizer_state["state"].items():
        for key, value in slots.items():
            arrays[f"optimizer/{name}/{key}"] = value
    arrays["order"] = session.order
    meta = {
        "format": FORMAT,
        "version": VERSION,
        # The learning rate in use (changed with + / - perhaps), and a data file's path relative to this folder.
        "config": apply_overrides(session.config, {"optimizer.lr": session.optimizer.lr}).dumps(
            relative_to=path.parent),
        "step": session.step_count,
        "samples_seen": session.samples_seen,
        "last_step": [session.last_loss, session.last_accuracy],  # what the status line shows on reopening
        "data_sha256": data_fingerprint(session),
        "epoch": session.epoch,
        "batch_index": session.batch_index,
        "epoch_accumulators": [session._epoch_loss_sum, session._epoch_correct, session._epoch_seen,
                               session._epoch_seconds],
        "state": session.state.value,
        "optimizer": {"type": optimizer_state["type"], "t": optimizer_state["t"],
                      "hyperparameters": optimizer_state["hyperparameters"]},
        "rng": {"shuffle": session.shuffle_rng.bit_generator.state,
                "dropout": session.dropout_rng.bit_generator.state},
        "history": session.history.state(),
    }
    arrays["meta"] = np.array(json.dumps(meta))
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CheckpointError(f"cannot save checkpoint: folder {str(folder)!r} does not exist")
    write_atomically(path, lambda file: np.savez(file, **arrays), replace=replace)
    return path


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The checkpoint's metadata and arrays, or a CheckpointError that says what is wrong with the file."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{str(path)!r} is a folder, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {str(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        if "meta" not in arrays:
            raise CheckpointError(f"{str(path)!r} is an .npz file but not an nntui checkpoint")
        meta = json.loads(arrays.pop("meta").item())
    except (zipfile.BadZipFile, ValueError, OSError, KeyError, EOFError) as error:
        raise CheckpointError(
            f"{str(path)!r} is not a readable nntui checkpoint (damaged, truncated or another kind of file; "
            f"{type(error).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is an .npz file but not an nntui checkpoint")
    if meta.get("version") != VERSION:
        raise CheckpointError(
            f"{str(path)!r} is a version {meta.get('version')} checkpoint; this nntui reads version {VERSION}")
    return meta, arrays


def load_checkpoint(path: str | os.PathLike, *, overrides: Mapping[str, Any] | None = None,
                    **session_options) -> TrainingSession:
    """A session restored from ``path``, ready to continue where the saved run stopped.

    ``overrides`` may change how long to train (``training.epochs``) and the learning rate; anything that
    would change the model or the data is refused, since the saved weights would no longer fit.
    """
    from nntui.train.session import State, TrainingSession

    meta, arrays = read_checkpoint(path)
    try:
        config = RunConfig.loads(meta["config"], base=Path(path).parent)
        if overrides:
            fixed = {k: v for k, v in overrides.items() if k not in ("training.epochs", "optimizer.lr")}
            if "data.dataset" in fixed and _same_file(fixed["data.dataset"], config.data.dataset):
                fixed["data.dataset"] = config.data.dataset  # the same file, written another way
            changed = {k for k, v in fixed.items() if apply_overrides(config, {k: v}) != config}
            if changed:
                raise CheckpointError(
                    f"cannot change {', '.join(sorted(changed))} when resuming a checkpoint; only "
                    "training.epochs and optimizer.lr may differ from the saved run")
            config = apply_overrides(config, overrides)
        session = TrainingSession(config, **session_options)
        _restore(session, meta, arrays)
    except (CheckpointError, ConfigError, DataError) as error:
        raise type(error)(f"{path}: {error}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{str(path)!r} is damaged or incomplete: {error!r}") from None
    if session.epoch >= session.config.training.epochs:
        session.state, session.message = State.FINISHED, f"finished {session.epoch} epochs"
    elif session.step_count > 0:
        session.state, session.message = State.PAUSED, f"resumed from {Path(path).name} at step {session.step_count}"
    return session


def _same_file(a, b) -> bool:
    """Whether two data paths name the same file (``./points.csv`` and ``points.csv``, say)."""
    return os.path.abspath(os.path.expanduser(str(a))) == os.path.abspath(os.path.expanduser(str(b)))


def data_fingerprint(session: TrainingSession) -> str:
    """A hash of the data a session trains and validates on: a run can only go on exactly on the same data."""
    digest = hashlib.sha256()
    for array in (session.dataset.x_train, session.dataset.y_train, session.dataset.x_val, session.dataset.y_val):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _restore(session: TrainingSession, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    saved = meta.get("data_sha256")  # absent from checkpoints written before it was kept
    if saved is not None and saved != data_fingerprint(session):
        raise CheckpointError(
            f"the data of {session.config.data.dataset!r} changed since the checkpoint was saved, so the run "
            "cannot go on where it stopped; restore the data, or train afresh")
    names = [name for name, _p, _g in session.model.parameters()]
    saved = sorted(k.removeprefix("param/") for k in arrays if k.startswith("param/"))
    if sorted(names) != saved:
        raise CheckpointError(f"the checkpoint's parameters {saved} do not match the model's {names}")
    for name, param, _grad in session.model.parameters():
        value = arrays[f"param/{name}"]
        if value.shape != param.shape or value.dtype != param.dtype:
            raise CheckpointError(
                f"parameter {name} is {value.dtype}{list(value.shape)} in the checkpoint but "
                f"{param.dtype}{list(param.shape)} in the model")
        param[...] = value
    state: dict[str, dict[str, np.ndarray]] = {}
    for key, value in arrays.items():
        if key.startswith("optimizer/"):
            name, slot = key.removeprefix("optimizer/").rsplit("/", 1)
            state.setdefault(name, {})[slot] = value
    hyper = dict(meta["optimizer"]["hyperparameters"])
    hyper["lr"] = session.config.optimizer.lr  # the (possibly overridden) configured rate
    session.optimizer.load_state_dict({"type": meta["optimizer"]["type"], "t": meta["optimizer"]["t"],
                                       "hyperparameters": hyper, "state": state})
    order = arrays["order"]
    if order.shape != (len(session.x_train),):
        raise CheckpointError("the checkpoint's data order does not match the dataset's size")
    session.order = order.astype(np.int64)
    session.step_count, session.epoch = int(meta["step"]), int(meta["epoch"])
    session.samples_seen = int(meta.get("samples_seen", 0))
    session.last_loss, session.last_accuracy = (float(v) for v in meta.get("last_step", (math.nan, math.nan)))
    session.batch_index = int(meta["batch_index"])
    loss_sum, correct, seen, seconds = meta["epoch_accumulators"]
    session._epoch_loss_sum, session._epoch_correct = float(loss_sum), float(correct)
    session._epoch_seen, session._epoch_seconds = int(seen), float(seconds)
    session.shuffle_rng.bit_generator.state = meta["rng"]["shuffle"]
    session.dropout_rng.bit_generator.state = meta["rng"]["dropout"]
    session.history = History.from_state(meta["history"])
    if session.history.lr_changes and session.history.lr_changes[-1][1] != session.optimizer.lr:
        session.history.lr_changes.append((session.step_count, session.optimizer.lr))
    session._good_weights = session._copy_weights()
    session._good_optimizer = session.optimizer.state_dict()
    session._good_step = session.step_count
