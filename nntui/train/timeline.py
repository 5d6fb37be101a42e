"""The timeline of a run: its epoch-end states within a memory budget, and a log of every intervention.

At each epoch end the trainer hands the timeline its whole state (``Trainer.state_dict()``: weights, optimizer
buffers, data order, random generators, history). The timeline keeps them all while they fit in
``budget_bytes``; past the budget it thins the older ones, always keeping the start (epoch 0) and the newest, and
dropping each time the kept epoch whose neighbours are closest together, so what remains stays evenly spread.

Going back to a kept epoch (``Trainer.rewind``) and continuing with the same settings replays the run bit for bit;
continuing with other settings is a branch. Either way the future that was left is kept here as an
``AbandonedRun`` (its curves), to compare with.

The log records each intervention with the step and epoch it happened at: a learning-rate change (``lr``),
``pause`` and ``resume``, an ``edit`` of the model or data, a ``reset``, a ``rewind`` and a ``branch``.
"""

from __future__ import annotations

import copy
import heapq
from dataclasses import dataclass
from typing import Any

import numpy as np

from nntui.train.metrics import History, SharedPoints

#: Memory the kept epoch states may take together (bytes); checkpoints carry them too. Measured: a state of the
#: digits net (64-128-64-10, Adam) takes ~0.25 MiB, so ~250 epochs are all kept; one of a 784-256-128-10 net
#: takes ~2.8 MiB, so ~22 are kept, thinned evenly, once a run is past that many epochs.
DEFAULT_BUDGET = 64 * 2**20
#: Abandoned futures kept to compare with (the oldest goes first).
MAX_ABANDONED = 8
#: Interventions kept in the log (the oldest go first; ``dropped`` counts them).
MAX_LOG = 10_000
KINDS = ("lr", "pause", "resume", "edit", "reset", "rewind", "branch")


@dataclass(frozen=True)
class Intervention:
    """Something a person did to the run: what (``kind``), when (``step``, ``epoch``) and a short ``detail``."""

    step: int
    epoch: int
    kind: str
    detail: str = ""


@dataclass
class AbandonedRun:
    """A future that was left by going back: its curves up to ``left_at_step``."""

    left_at_step: int
    history: History


class Timeline:
    """Kept epoch-end states (``epochs``), the intervention ``log`` and the ``abandoned`` futures."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET) -> None:
        self.budget_bytes = int(budget_bytes)
        self._states: dict[int, dict[str, Any]] = {}  # epoch -> a compact trainer state, in epoch order
        self._sizes: dict[int, int] = {}
        self.log: list[Intervention] = []
        self.dropped = 0  # interventions no longer in the log (it keeps the newest MAX_LOG)
        self.abandoned: list[AbandonedRun] = []

    # -- epoch states ------------------------------------------------------------------------------------------

    def start(self, state: dict[str, Any]) -> None:
        """A new run begins (built or reset): its epoch-0 state replaces every kept state (copied, as ``keep``)."""
        self._states.clear()
        self._sizes.clear()
        self.keep(0, state)

    def keep(self, epoch: int, state: dict[str, Any]) -> None:
        """Keep the state of epoch ``epoch``'s end (a ``Trainer.state_dict()``; its arrays are copied, packed)."""
        self.forget_after(epoch - 1)  # a replay after a rewind writes them anew
        compact = _compact(state)
        self._states[epoch] = compact
        self._sizes[epoch] = _size(compact)
        self._thin()

    def forget_after(self, epoch: int) -> None:
        """Drop the kept states after ``epoch`` (a rewind to it leaves them in the abandoned future)."""
        if self._states and next(reversed(self._states)) > epoch:  # (most epoch ends have nothing to drop)
            for later in [e for e in self._states if e > epoch]:
                del self._states[later], self._sizes[later]

    def state_at(self, epoch: int, history: History) -> dict[str, Any]:
        """A copy of the kept state of epoch ``epoch`` (a ``Trainer.state_dict()``; ``history``: the run's now).

        KeyError with a message naming the kept epochs when ``epoch`` is not one of them.
        """
        if epoch not in self._states:
            raise KeyError(f"epoch {epoch} is not kept; kept epochs: {describe_epochs(self.epochs)}")
        return _expanded(self._states[epoch], history)

    @property
    def epochs(self) -> list[int]:
        """The epochs whose end states are kept, in order (0 is the start)."""
        return list(self._states)

    @property
    def memory_bytes(self) -> int:
        """What the kept states take (arrays and history points; the small bookkeeping around them aside)."""
        return sum(self._sizes.values())

    def _thin(self) -> None:
        """Past the budget, thin to 7/8 of it: the search then runs once every many epochs, not at each one."""
        if self.memory_bytes <= self.budget_bytes:
            return
        for epoch in set(self._states) - set(_thinned(self._sizes, self.budget_bytes * 7 // 8)):
            del self._states[epoch], self._sizes[epoch]

    # -- the log -----------------------------------------------------------------------------------------------

    def note(self, step: int, epoch: int, kind: str, detail: str = "") -> None:
        """Record an intervention (``kind`` is one of KINDS)."""
        if kind not in KINDS:
            raise ValueError(f"unknown intervention {kind!r}; kinds are {', '.join(KINDS)}")
        self.log.append(Intervention(int(step), int(epoch), kind, detail))
        if len(self.log) > MAX_LOG:
            self.dropped += len(self.log) - MAX_LOG
            del self.log[:len(self.log) - MAX_LOG]

    @property
    def interventions(self) -> int:
        """How many interventions the run has had (including any the log no longer holds)."""
        return self.dropped + len(self.log)

    def abandon(self, history: History, left_at_step: int) -> None:
        """Keep the curves of a future that is being left (by a rewind, a branch or a reset)."""
        self.abandoned.append(AbandonedRun(int(left_at_step), history))
        del self.abandoned[:-MAX_ABANDONED]

    # -- to and from a checkpoint ------------------------------------------------------------------------------

    def state(self, budget_bytes: int | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able part, arrays) for a checkpoint: the kept states, the log and the abandoned curves.

        ``budget_bytes``: keep in the checkpoint only as many states as fit, thinned the same way (a recovery
        file, written every few seconds, carries fewer than the run holds).
        """
        meta: dict[str, Any] = {
            "budget_bytes": self.budget_bytes, "dropped": self.dropped,
            "log": [dict(vars(entry)) for entry in self.log],
            "abandoned": [{"left_at_step": run.left_at_step, "history": run.history.state()}
                          for run in self.abandoned],
            "epochs": {},
        }
        arrays: dict[str, np.ndarray] = {}
        chosen = _thinned(self._sizes, self.budget_bytes if budget_bytes is None else budget_bytes)
        for epoch in chosen:  # one array per kept state: its packed bytes (shared series packed in now)
            compact = _packed(self._states[epoch])
            arrays[str(epoch)] = compact["blob"]
            meta["epochs"][str(epoch)] = {"layout": compact["layout"], "meta": compact["meta"]}
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Timeline:
        timeline = cls(int(meta.get("budget_bytes", DEFAULT_BUDGET)))
        timeline.dropped = int(meta.get("dropped", 0))
        timeline.log = [Intervention(int(e["step"]), int(e["epoch"]), str(e["kind"]), str(e.get("detail", "")))
                        for e in meta.get("log", [])]
        timeline.abandoned = [AbandonedRun(int(run["left_at_step"]), History.from_state(run["history"]))
                              for run in meta.get("abandoned", [])]
        for epoch_text in sorted(meta.get("epochs", {}), key=int):
            saved = meta["epochs"][epoch_text]
            blob = arrays[epoch_text]
            if blob.dtype != np.uint8 or blob.ndim != 1:
                raise ValueError(f"kept epoch {epoch_text} is damaged")
            compact = {"blob": blob, "layout": saved["layout"], "meta": saved["meta"]}
            timeline._states[int(epoch_text)] = compact
            timeline._sizes[int(epoch_text)] = _size(compact)
        return timeline


def _thinned(sizes: dict[int, int], budget: int) -> list[int]:
    """The epochs (keys of ``sizes``, in order) that fit in ``budget``: the first and the last always; past the
    budget, the inner epoch whose neighbours are closest together goes first (the older one on a tie).

    A heap of (gap between neighbours, position) finds each one in log time; an entry made stale by an earlier
    removal (its gap has grown since) is skipped when it comes up, and the neighbours get fresh entries.
    """
    epochs, total = list(sizes), sum(sizes.values())
    if total <= budget or len(epochs) <= 2:
        return epochs
    before, after = list(range(-1, len(epochs) - 1)), list(range(1, len(epochs) + 1))
    alive = [True] * len(epochs)
    heap = [(epochs[i + 1] - epochs[i - 1], i) for i in range(1, len(epochs) - 1)]
    heapq.heapify(heap)
    count, last = len(epochs), len(epochs) - 1
    while total > budget and count > 2:
        gap, i = heapq.heappop(heap)
        if not alive[i] or epochs[after[i]] - epochs[before[i]] != gap:
            continue  # removed already, or its gap changed: a fresh entry is in the heap
        alive[i], count = False, count - 1
        total -= sizes[epochs[i]]
        left, right = before[i], after[i]
        after[left], before[right] = right, left
        for j in (left, right):
            if 0 < j < last:
                heapq.heappush(heap, (epochs[after[j]] - epochs[before[j]], j))
    return [epoch for epoch, kept in zip(epochs, alive) if kept]


def describe_epochs(epochs: list[int]) -> str:
    """``0-12, 14, 20`` for a person: runs of consecutive epochs written as ranges."""
    parts, start = [], None
    for i, epoch in enumerate(epochs):
        if start is None:
            start = epoch
        if i + 1 == len(epochs) or epochs[i + 1] != epoch + 1:
            parts.append(str(start) if start == epoch else f"{start}-{epoch}")
            start = None
    return ", ".join(parts) or "none"


# A kept state is packed into one byte buffer: its arrays and its history's point series (float64, a quarter of
# the memory lists of Python floats take; the values come back exactly), so a checkpoint writes one array per kept
# state. Of its epoch records and learning-rate changes it keeps only how many there were: they are the first ones of the run's history now, which descends from every kept state (states
# after a point the run went back to are forgotten), so they are taken from there when the state is used.

def _compact(state: dict[str, Any]) -> dict[str, Any]:
    """A trainer state packed for keeping: every array in one byte buffer, plus small meta.

    The history's point series are packed too, except those handed over as ``SharedPoints`` (the trainer's own
    epoch-end states): those stay shared with the run's live series (``shared``), and are packed only when the
    timeline is saved (``_packed``).
    """
    arrays = dict(state["arrays"])
    shared: dict[str, SharedPoints] = {}
    meta = copy.copy(state["meta"])
    history = {k: v for k, v in meta["history"].items() if k not in ("epochs", "lr_changes")}
    if "epochs" in meta["history"]:  # a full history state: keep only how many records it had
        history["n_epochs"] = len(meta["history"]["epochs"])
        history["n_lr_changes"] = len(meta["history"]["lr_changes"])

    def to_array(values) -> str:
        key = f"series/{len(arrays) + len(shared)}"
        if isinstance(values, SharedPoints):
            shared[key] = values
        else:
            arrays[key] = np.asarray(values, dtype=np.float64)
        return key

    meta["history"] = _map_series(history, to_array)
    compact = _blob(arrays, meta)
    if shared:
        compact["shared"] = shared
    return compact


def _blob(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> dict[str, Any]:
    """Arrays packed into one byte buffer, with where each one lies."""
    layout, offset = [], 0
    for key, value in arrays.items():
        # (tuples of plain values: thousands of kept states then give the garbage collector nothing to visit,
        # where lists made its full passes pause training for tens of milliseconds)
        layout.append((key, value.dtype.str, tuple(value.shape), offset, value.nbytes))
        offset += -(-value.nbytes // 16) * 16  # each array starts 16-byte aligned
    blob = np.empty(offset, dtype=np.uint8)
    for (key, _dtype, _shape, start, nbytes), value in zip(layout, arrays.values()):
        blob[start:start + nbytes] = np.ascontiguousarray(value).reshape(-1).view(np.uint8)
    return {"blob": blob, "layout": layout, "meta": meta}


def _packed(compact: dict[str, Any]) -> dict[str, Any]:
    """A kept state with its shared series copied into its buffer too, as a checkpoint stores it."""
    if "shared" not in compact:
        return compact
    blob = compact["blob"]
    arrays = {key: blob[start:start + nbytes].view(np.dtype(dtype)).reshape(shape)
              for key, dtype, shape, start, nbytes in compact["layout"]}
    arrays.update({key: points.numpy() for key, points in compact["shared"].items()})
    return _blob(arrays, compact["meta"])


def _expanded(compact: dict[str, Any], history: History) -> dict[str, Any]:
    blob = compact["blob"]
    arrays = {key: blob[start:start + nbytes].view(np.dtype(dtype)).reshape(shape).copy()
              for key, dtype, shape, start, nbytes in compact["layout"]}
    meta = copy.deepcopy({k: v for k, v in compact["meta"].items() if k != "history"})
    shared = compact.get("shared", {})
    kept = _map_series(compact["meta"]["history"],
                       lambda key: shared[key].tolist() if key in shared else arrays.pop(key).tolist())
    n_epochs, n_lr_changes = kept.pop("n_epochs"), kept.pop("n_lr_changes")
    if len(history.epochs) < n_epochs or len(history.lr_changes) < n_lr_changes:
        raise ValueError("the run's history does not reach back to this kept state")
    kept["epochs"] = [dict(vars(record)) for record in history.epochs[:n_epochs]]
    kept["lr_changes"] = [list(change) for change in history.lr_changes[:n_lr_changes]]
    meta["history"] = kept
    return {"arrays": arrays, "meta": meta}


def _map_series(history: dict[str, Any], convert) -> dict[str, Any]:
    """``history`` (a ``History.state()``) with every point series' xs and ys passed through ``convert``."""
    def series(state: dict[str, Any]) -> dict[str, Any]:
        return {**state, "xs": convert(state["xs"]), "ys": convert(state["ys"])}

    return {**history, "step_loss": series(history["step_loss"]), "step_accuracy": series(history["step_accuracy"]),
            "grad_norms": {name: series(s) for name, s in history["grad_norms"].items()}}


def _size(compact: dict[str, Any]) -> int:
    """The bytes a kept state stands for (shared series counted in full, as a checkpoint stores them)."""
    return compact["blob"].nbytes + sum(points.nbytes for points in compact.get("shared", {}).values())
