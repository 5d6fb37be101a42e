"""A saved run applied to new rows: what `nntui predict RUN DATA` does.

The checkpoint brings back the trained network and, through the run's data, everything that turned the
training file into numbers: the feature columns by name, their standardisation (training statistics), the
class names, and for regression the targets' standardisation. New rows go through the same steps:

    read the columns by name  ->  standardise with the training statistics  ->  the network  ->
    class names and probabilities (classification), or values in the data's own units (regression)

When the new file also holds the label column, the predictions are scored: accuracy, or R^2 and the mean
absolute error in the data's units.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nntui.train.data import (  # noqa: F401  (r_squared: re-exported)
    DataError,
    Dataset,
    r_squared,
)
from nntui.train.datafiles import read_new_rows


@dataclass
class Predictions:
    """One prediction per input row, and how good they are when the rows had labels.

    predicted: class names (str, shape (n,)) or values in the data's units (float64, (n, n_targets)).
    probabilities: (n, n_classes) float64 rows summing to 1, classification only.
    """

    task: str
    output_names: list[str]
    predicted: np.ndarray
    probabilities: np.ndarray | None
    n_labelled: int
    accuracy: float | None = None
    r2: float | None = None
    mae: float | None = None

    @property
    def n_rows(self) -> int:
        return len(self.predicted)

    def header(self) -> list[str]:
        """The output CSV's columns: `prediction` (one per target for several), then `p_<class>` per class."""
        if self.task == "classification":
            return ["prediction"] + [f"p_{name}" for name in self.output_names]
        if len(self.output_names) == 1:
            return ["prediction"]
        return [f"prediction_{name}" for name in self.output_names]

    def write_csv(self, file, *, rows_at_a_time: int = 65536) -> None:
        """The predictions as CSV text, one row per input row, into a text file, a block of rows at a time."""
        file.write(",".join(_csv_cell(name) for name in self.header()) + "\n")
        if self.task == "classification":
            quoted = {name: _csv_cell(name) for name in self.output_names}
            line = "%s," + ",".join(["%.6g"] * len(self.output_names)) + "\n"
        else:
            line = ",".join(["%.8g"] * len(self.output_names)) + "\n"
        for start in range(0, self.n_rows, rows_at_a_time):
            part = slice(start, start + rows_at_a_time)
            if self.task == "classification":
                names = [quoted[name] for name in self.predicted[part].tolist()]
                rows = [(name, *p) for name, p in zip(names, self.probabilities[part].tolist())]
            else:
                rows = [tuple(values) for values in self.predicted[part].tolist()]
            file.write("".join([line % row for row in rows]))

    def write_file(self, path: str | Path) -> None:
        """The CSV text into `path`, atomically (a temporary file beside it, then renamed), streamed."""
        from nntui.train.files import write_atomically

        def write(binary) -> None:
            text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
            self.write_csv(text)
            text.flush()
            text.detach()  # the binary file stays open for write_atomically to sync and close

        write_atomically(path, write)

    def csv_text(self) -> str:
        buffer = io.StringIO()
        self.write_csv(buffer)
        return buffer.getvalue()

    def summary(self) -> dict:
        """The numbers for `--json`: counts and scores (None when the rows had no labels)."""
        return {"task": self.task, "rows": self.n_rows, "labelled": self.n_labelled,
                "accuracy": _number(self.accuracy), "r2": _number(self.r2), "mae": _number(self.mae)}

    def score_line(self) -> str | None:
        """One sentence for a person, or None when there were no labels to score against."""
        if not self.n_labelled:
            return None
        if self.task == "classification":
            return f"accuracy {self.accuracy:.1%} on {self.n_labelled} labelled rows"
        return f"R^2 {self.r2:.4f}, mean absolute error {self.mae:.6g} on {self.n_labelled} labelled rows"


class SavedRun:
    """A checkpoint's network with the numbers that prepare its input (`Dataset.summary`): what predicting
    needs, without the training file. `dataset` holds no rows, only names, classes and statistics."""

    def __init__(self, run_path: str | Path) -> None:
        from nntui import nn
        from nntui.train.checkpoint import CheckpointError, read_checkpoint
        from nntui.train.config import RunConfig
        from nntui.train.trainer import EVAL_CHUNK, build_model

        meta, arrays = read_checkpoint(run_path)
        try:
            config = RunConfig.loads(meta["config"], base=Path(run_path).parent)
            self.dataset = Dataset.from_summary(meta["data"])
            loss_name = config.resolved_loss()
            width = 1 if loss_name == "bce" else self.dataset.n_classes
            self.model = build_model(config, self.dataset.n_features, width,
                                     init_rng=np.random.default_rng(0), dropout_rng=np.random.default_rng(0))
            for name, param, _grad in self.model.parameters():
                saved = arrays[f"param/{name}"]
                if saved.shape != param.shape:
                    raise ValueError(f"parameter {name} is {list(saved.shape)} in the file, "
                                     f"{list(param.shape)} in the run's model")
                param[...] = saved
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"{str(run_path)!r} is damaged or incomplete: {error}") from None
        self.loss = nn.loss(loss_name)
        self._chunk = EVAL_CHUNK

    @staticmethod
    def keeps_its_data(run_path: str | Path) -> bool:
        """Whether the checkpoint holds the data summary (written since it was kept; older ones do not)."""
        from nntui.train.checkpoint import read_meta

        return "data" in read_meta(run_path)

    def predict_scores(self, x: np.ndarray) -> np.ndarray:
        """The network's raw outputs in evaluation mode, a chunk of rows at a time."""
        dtype = next(param.dtype for _name, param, _grad in self.model.parameters())
        x = np.asarray(x, dtype=dtype)
        parts = [self.model.forward(x[i:i + self._chunk], False) for i in range(0, len(x), self._chunk)]
        return np.concatenate(parts) if parts else np.zeros((0, self.dataset.n_classes), dtype)


def predict_file(run_path: str | Path, data_path: str | Path) -> Predictions:
    """Apply the run saved in `run_path` (a checkpoint) to the rows of `data_path` (.csv or .npz).

    A checkpoint keeps what prepares new rows (`Dataset.summary`), so the training file is not needed; one
    written before it kept that is restored whole, reading its training data again.
    """
    from nntui.train.checkpoint import load_checkpoint

    if SavedRun.keeps_its_data(run_path):
        return predict_rows(SavedRun(run_path), data_path)
    try:
        run = load_checkpoint(run_path)
    except DataError as error:  # the run's own data, read again for its statistics and class names
        raise DataError(f"{error} (this run was saved before checkpoints kept the data's standardisation and "
                        "class names, so its training data is read again for them)") from None
    return predict_rows(run, data_path)


def predict_rows(run, data_path: str | Path) -> Predictions:
    """Apply a loaded run (anything with `dataset`, `loss` and `predict_scores`) to a file's rows."""
    data = run.dataset
    rows = read_new_rows(data_path, feature_names=data.feature_names, target_name=data.target_name,
                         task=data.task)
    scores = np.asarray(run.predict_scores(data.standardize(rows.x)), dtype=np.float64)
    n_labelled = 0 if rows.y is None else len(rows.y)
    if data.task == "classification":
        probabilities = np.asarray(run.loss.probabilities(scores), dtype=np.float64)
        if probabilities.shape[1] == 1:  # one sigmoid output: p(second class)
            probabilities = np.column_stack([1.0 - probabilities[:, 0], probabilities[:, 0]])
        chosen = probabilities.argmax(axis=1)
        predicted = np.array(data.class_names)[chosen]
        result = Predictions(data.task, list(data.class_names), predicted, probabilities, n_labelled)
        if n_labelled:
            # The file's classes by name into the run's (a class the run never saw counts as a mistake).
            index = {name: i for i, name in enumerate(data.class_names)}
            truth = np.array([index.get(name, -1) for name in rows.label_names], dtype=np.int64)[rows.y]
            result.accuracy = float(np.mean(chosen == truth))
        return result
    values = data.targets_in_units(scores)
    result = Predictions(data.task, list(data.class_names), values, None, n_labelled)
    if n_labelled:
        scored = data.regression_scores(scores, data.standardize_targets(rows.y))  # (R^2 cannot overflow)
        result.r2, result.mae = scored["r2"], scored["mae"]
    return result


def _csv_cell(text: str) -> str:
    """A cell as the csv module writes it: quoted when it holds a comma, a quote or a line break."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([text])
    return buffer.getvalue()


def _number(value: float | None):
    return None if value is None or not math.isfinite(value) else value
