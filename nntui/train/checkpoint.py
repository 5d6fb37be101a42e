"""Checkpoints: a trainer's state, with its timeline, in one versioned ``.npz`` file, written atomically.

A checkpoint is ``Trainer.state_dict()`` in a file: the weights, the optimizer's state, the position in the data
(the epoch's shuffled order, empty until the epoch's first step draws it, and the next batch), the random
generators' states and the history, plus the run configuration (as TOML) and the timeline (the kept epoch-end
states, the intervention log and the abandoned futures' curves). Loading one and training on gives the same numbers, bit for bit, as never having stopped.

Layout (version 2): the trainer's arrays under their own names (``param/0.W``, ``optimizer/0.W/m``, ``order``),
each kept epoch's under ``timeline/<epoch>/``, and everything else in ``meta``, one JSON text. Version 1 files
(before the timeline) hold the same trainer arrays and its numbers at the top of ``meta``; they still load.

The file is written through ``nntui.train.files.write_atomically``, so a crash, a full disk or a signal never
leaves a half-written checkpoint where a good one was.
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nntui.train.config import ConfigError, RunConfig, apply_overrides
from nntui.train.data import DataError
from nntui.train.files import write_atomically
from nntui.train.timeline import Timeline
from nntui.train.trainer import StateMismatch, Trainer

FORMAT = "nntui-checkpoint"
VERSION = 2
READABLE_VERSIONS = (1, 2)
#: What a run may change when it is resumed: anything else would no longer fit the saved weights or data.
CHANGEABLE_ON_LOADING = ("training.epochs", "optimizer.lr")


class CheckpointError(ValueError):
    """A checkpoint that cannot be written or read, with a message saying why."""


def save_checkpoint(trainer: Trainer, path: str | os.PathLike, *, replace: bool = True,
                    note: Mapping[str, Any] | None = None) -> Path:
    """Write ``trainer`` (and its timeline) to ``path`` (``.npz``) atomically; returns the path written.

    ``replace=False``: raise FileExistsError, changing nothing, if ``path`` exists when the file is put in place.
    ``note``: a few plain values stored beside the run (a recovery file says why and when it was written).
    """
    return write_contents(checkpoint_contents(trainer, path, note=note), path, replace=replace)


def checkpoint_contents(trainer: Trainer, path: str | os.PathLike, note: Mapping[str, Any] | None = None,
                        timeline_budget: int | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """What ``save_checkpoint`` writes, taken now: (the arrays, the metadata).

    ``timeline_budget``: carry only as many kept epoch states as fit in these bytes (evenly thinned; default:
    all the run keeps).

    Nothing in it is shared with the live trainer (kept timeline states never change), so another thread may
    write it (``write_contents``, which also turns the metadata into JSON) while training goes on.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise CheckpointError(f"checkpoint files end in .npz, got {str(path)!r}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CheckpointError(f"cannot save checkpoint: folder {str(folder)!r} does not exist")
    state = trainer.state_dict()
    timeline_meta, timeline_arrays = trainer.timeline.state(timeline_budget)
    arrays = dict(state["arrays"])
    arrays.update({f"timeline/{key}": value for key, value in timeline_arrays.items()})
    meta = {
        "format": FORMAT,
        "version": VERSION,
        # The learning rate in use (changed with + / - perhaps), and a data file's path relative to this folder.
        "config": apply_overrides(trainer.config, {"optimizer.lr": trainer.lr}).dumps(relative_to=folder),
        "data_sha256": data_fingerprint(trainer.dataset),
        # What turns new rows into the run's numbers (names, classes, training statistics): `nntui predict`
        # reads it instead of the training file (checkpoints written before it read that file again).
        "data": trainer.dataset.summary(),
        "trainer": state["meta"],
        "timeline": timeline_meta,
        "note": dict(note or {}),
    }
    return arrays, meta


def write_contents(contents: tuple[dict[str, np.ndarray], dict[str, Any]], path: str | os.PathLike, *,
                   replace: bool = True) -> Path:
    """Write what ``checkpoint_contents`` took to ``path``, atomically (see ``nntui.train.files``)."""
    arrays, meta = contents
    arrays = {**arrays, "meta": np.array(json.dumps(meta))}
    return write_atomically(path, lambda file: np.savez(file, **arrays), replace=replace)


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
    if meta.get("version") not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{str(path)!r} is a version {meta.get('version')} checkpoint; this nntui reads versions "
            f"{' and '.join(map(str, READABLE_VERSIONS))}")
    return meta, arrays


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """Only the checkpoint's metadata (quick: the arrays are not read); CheckpointError if it is not one."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].item()) if "meta" in data.files else None
    except (zipfile.BadZipFile, ValueError, OSError, KeyError, EOFError) as error:
        raise CheckpointError(f"{str(path)!r} is not a readable nntui checkpoint ({type(error).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not an nntui checkpoint")
    return meta


def load_checkpoint(path: str | os.PathLike, *, overrides: Mapping[str, Any] | None = None,
                    history_capacity: int = 2048) -> Trainer:
    """A trainer restored from ``path``, ready to continue where the saved run stopped.

    ``overrides`` may change how long to train (``training.epochs``) and the learning rate; anything that
    would change the model or the data is refused, since the saved weights would no longer fit.
    """
    meta, arrays = read_checkpoint(path)
    try:
        config = _config(meta, Path(path).parent, overrides)
        trainer = Trainer(config, history_capacity=history_capacity)
        _check_data(trainer, meta)
        trainer_meta, timeline = _trainer_meta(meta), _timeline(meta, arrays)
        trainer_arrays = {k: v for k, v in arrays.items() if not k.startswith("timeline/")}
        trainer.load_state_dict({"arrays": trainer_arrays, "meta": trainer_meta}, lr=config.optimizer.lr,
                                source="the checkpoint")
        if timeline is not None:
            trainer.timeline = timeline
    except (CheckpointError, ConfigError, DataError, StateMismatch) as error:
        kind = CheckpointError if isinstance(error, StateMismatch) else type(error)
        raise kind(f"{path}: {error}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{str(path)!r} is damaged or incomplete: {error!r}") from None
    return trainer


def _config(meta: dict, folder: Path, overrides: Mapping[str, Any] | None) -> RunConfig:
    config = RunConfig.loads(meta["config"], base=folder)
    if not overrides:
        return config
    fixed = {k: v for k, v in overrides.items() if k not in CHANGEABLE_ON_LOADING}
    if "data.dataset" in fixed and _same_file(fixed["data.dataset"], config.data.dataset):
        fixed["data.dataset"] = config.data.dataset  # the same file, written another way
    changed = {k for k, v in fixed.items() if apply_overrides(config, {k: v}) != config}
    if changed:
        raise CheckpointError(
            f"cannot change {', '.join(sorted(changed))} when resuming a checkpoint; only "
            f"{' and '.join(CHANGEABLE_ON_LOADING)} may differ from the saved run")
    return apply_overrides(config, overrides)


def _trainer_meta(meta: dict) -> dict:
    """The trainer's numbers: their own section since version 2, the top of ``meta`` in version 1."""
    if meta["version"] >= 2:
        return meta["trainer"]
    keys = ("step", "samples_seen", "epoch", "batch_index", "epoch_accumulators", "last_step", "optimizer", "rng",
            "history")
    return {key: meta[key] for key in keys if key in meta}


def _timeline(meta: dict, arrays: dict[str, np.ndarray]) -> Timeline | None:
    """The saved timeline (version 2), or None for a version 1 file, which kept none."""
    if meta["version"] < 2:
        return None
    return Timeline.from_state(meta["timeline"], {k.removeprefix("timeline/"): v for k, v in arrays.items()
                                                  if k.startswith("timeline/")})


def _same_file(a, b) -> bool:
    """Whether two data paths name the same file (``./points.csv`` and ``points.csv``, say)."""
    return os.path.abspath(os.path.expanduser(str(a))) == os.path.abspath(os.path.expanduser(str(b)))


_fingerprints: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # dataset -> its hash (autosaves repeat)


def data_fingerprint(dataset) -> str:
    """A hash of the data a run trains and validates on: a run can only go on exactly on the same data.

    Features are hashed as float32 (what the engine trains on by default) whatever type the data layer holds
    them in, so that a change of that type alone does not make every saved run unusable. Worked out once per
    dataset object (a dataset's arrays do not change).
    """
    try:
        return _fingerprints[dataset]
    except (KeyError, TypeError):
        pass
    digest = hashlib.sha256()
    for array in (dataset.x_train, dataset.y_train, dataset.x_val, dataset.y_val):
        if np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float32)
        digest.update(np.ascontiguousarray(array).tobytes())
    fingerprint = digest.hexdigest()
    try:
        _fingerprints[dataset] = fingerprint
    except TypeError:
        pass  # not weakly referable: worked out each time
    return fingerprint


def _version_1_fingerprint(dataset) -> str:
    """The hash version 1 kept: the arrays' bytes as the data layer held them."""
    digest = hashlib.sha256()
    for array in (dataset.x_train, dataset.y_train, dataset.x_val, dataset.y_val):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _check_data(trainer: Trainer, meta: dict) -> None:
    saved = meta.get("data_sha256")  # absent from checkpoints written before it was kept
    if saved is None:
        return
    if meta["version"] >= 2:
        same = saved == data_fingerprint(trainer.dataset)
    else:
        # Version 1 hashed the features as float64, as the data layer then held them. Data held in another
        # type now cannot be compared with that hash; the shapes are still checked on loading.
        same = saved == _version_1_fingerprint(trainer.dataset) or trainer.dataset.x_train.dtype != np.float64
    if not same:
        raise CheckpointError(
            f"the data of {trainer.config.data.dataset!r} changed since the checkpoint was saved, so the run "
            "cannot go on where it stopped; restore the data, or train afresh")
