"""The ``nntui`` command: the app by default, and subcommands for headless work.

    nntui [--config run.toml] [--dataset NAME]    the app
    nntui train [flags]                           headless training (see ``nntui train --help``)
    nntui datasets                                the built-in datasets
    nntui bench                                   engine throughput beside a plain NumPy loop

Bad input ends with exit code 2 and one line saying what is wrong; never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

from nntui import __version__

#: Flags of ``nntui train`` (and the app) that override one configuration field each.
FIELD_FLAGS = {
    "dataset": ("data.dataset", "built-in name ({datasets}) or a .csv/.npz file"),
    "target": ("data.target", "CSV column holding the label (default: the last column)"),
    "task": ("data.task", "classification or regression"),
    "samples": ("data.n_samples", "number of samples for a synthetic dataset"),
    "noise": ("data.noise", "noise of a synthetic dataset"),
    "classes": ("data.n_classes", "number of classes (spiral, blobs)"),
    "val_fraction": ("data.val_fraction", "share of the data held out for validation"),
    "hidden": ("model.hidden", "hidden layer widths, e.g. 64,32 (none for a linear model)"),
    "activation": ("model.activation", "activation of every hidden layer: {activations}"),
    "init": ("model.init", "{inits}"),
    "dropout": ("model.dropout", "dropout probability after each hidden layer"),
    "loss": ("model.loss", "{losses}"),
    "dtype": ("model.dtype", "float32 or float64"),
    "optimizer": ("optimizer.name", "{optimizers}"),
    "lr": ("optimizer.lr", "learning rate"),
    "momentum": ("optimizer.momentum", "momentum (sgd, rmsprop)"),
    "nesterov": ("optimizer.nesterov", "true or false (sgd with momentum)"),
    "weight_decay": ("optimizer.weight_decay", "L2 weight decay"),
    "batch_size": ("training.batch_size", "samples per step"),
    "epochs": ("training.epochs", "passes over the training data (the whole run's, when resuming)"),
    "seed": ("training.seed", "random seed: same seed, same run"),
}


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2 (``prog``: the command it is about)."""

    def __init__(self, message: str, prog: str | None = None) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{message} (see '{self.prog} --help')", prog=self.prog)


def _add_field_flags(parser: argparse.ArgumentParser, names=None) -> None:
    from nntui.train import config

    # The names in the help come from the registries, as the validation does (a registered activation shows).
    lists = {"datasets": config.BUILTIN_DATASETS, "activations": config.ACTIVATIONS, "inits": config.INITS,
             "losses": config.LOSSES, "optimizers": config.OPTIMIZERS}
    choices = {key: ", ".join(names) for key, names in lists.items()}
    for name, (dotted, help_text) in FIELD_FLAGS.items():
        if names is None or name in names:
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="VALUE",
                                help=help_text.format(**choices))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nntui", description="Build, train and understand small neural networks in NumPy.")
    parser.add_argument("--version", action="version", version=f"nntui {__version__}")
    parser.add_argument("--config", metavar="TOML", help="start from this run configuration")
    parser.add_argument("--load", metavar="CKPT",
                        help="open the run saved in this checkpoint (from ctrl+s in the app or nntui train --save)")
    parser.add_argument("--resume", action="store_true",
                        help="open the newest run kept for recovery (after a dropped link, a signal or q)")
    _add_field_flags(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    train = commands.add_parser("train", help="train without a screen", description="Train headlessly.")
    train.add_argument("--config", metavar="TOML", help="run configuration to start from (flags override it)")
    _add_field_flags(train)
    train.add_argument("--save", metavar="CKPT", help="write a checkpoint (.npz) when training ends")
    train.add_argument("--load", metavar="CKPT", help="resume the run saved in this checkpoint")
    train.add_argument("--rewind", metavar="EPOCH", type=int,
                       help="with --load: go back to this kept epoch of the saved run and train on from there "
                            "(the same run replayed; with --lr, a branch)")
    train.add_argument("--metrics", metavar="CSV", help="write per-epoch metrics to this CSV file")
    train.add_argument("--save-config", metavar="TOML", dest="save_config",
                       help="write the effective configuration to this TOML file")
    train.add_argument("--json", action="store_true", help="end with one line of JSON holding the results")
    train.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1: best for small nets)")

    check = commands.add_parser(
        "gradcheck", help="check the engine's gradients against finite differences",
        description="Compare the analytic gradients of the configured model (float64 copy, initial weights) with "
                    "central finite differences on a few training samples. Exit 0 when every parameter's worst "
                    "relative error is below 1e-6, 1 when one is not.")
    check.add_argument("--config", metavar="TOML", help="run configuration to start from (flags override it)")
    _add_field_flags(check)
    check.add_argument("--samples-checked", type=int, default=8, dest="n_check",
                       help="training samples in the check (default 8)")
    check.add_argument("--json", action="store_true", help="print one line of JSON: max_rel_error and params")

    finder = commands.add_parser(
        "lr-find", help="find a learning rate with the range test",
        description="The learning-rate range test (Smith; fastai's lr_find): on a copy of the configured model, "
                    "about 100 batches with the rate growing from 1e-7 to 10, stopping when the loss explodes; "
                    "suggests the rate where the smoothed loss falls fastest.")
    finder.add_argument("--config", metavar="TOML", help="run configuration to start from (flags override it)")
    _add_field_flags(finder)
    finder.add_argument("--json", action="store_true",
                        help='print one line of JSON: {"suggested_lr": ..., "lrs": [...], "losses": [...]}')

    commands.add_parser("datasets", help="list the built-in datasets", description="List the built-in datasets.")

    predict = commands.add_parser(
        "predict", help="apply a saved run to new rows of data",
        description="Apply the run saved in RUN (a checkpoint from nntui train --save or ctrl+s) to the rows of "
                    "DATA (.csv with the same feature columns by name, the label column optional; or .npz). "
                    "Writes one row per input row: prediction, and p_<class> per class for classification. "
                    "With labels present, prints the accuracy (or R^2) on stderr.")
    predict.add_argument("run", metavar="RUN", help="checkpoint (.npz) of a trained run")
    predict.add_argument("data", metavar="DATA", help="rows to predict (.csv or .npz)")
    predict.add_argument("--out", metavar="CSV", help="write the predictions here (default: standard output)")
    predict.add_argument("--json", action="store_true",
                         help="print one JSON line instead: counts, accuracy or r2 and mae, and (without --out) "
                              "the predictions")
    commands.add_parser("bench", help="engine throughput beside a plain NumPy loop", add_help=False)
    return parser


# -- configuration from flags ------------------------------------------------------------------------------------

def overrides_from_args(args: argparse.Namespace) -> dict[str, object]:
    """The configuration fields the user set on the command line, parsed and validated one by one."""
    from nntui.train.config import parse_field

    overrides = {}
    for name, (dotted, _help) in FIELD_FLAGS.items():
        text = getattr(args, name, None)
        if text is not None:
            overrides[dotted] = parse_field(dotted, text)
    return overrides


def config_from_args(args: argparse.Namespace):
    """The effective RunConfig: the file (or the dataset's defaults), then the flags on top."""
    from nntui.train.config import RunConfig, apply_overrides, default_config

    overrides = overrides_from_args(args)
    if args.config:
        config = RunConfig.from_toml(args.config)
    else:
        config = default_config(str(overrides.get("data.dataset", "spiral")))
    config = apply_overrides(config, overrides) if overrides else config
    _check_classes_flag(config, overrides.get("data.n_classes"))
    return config


def session_from_args(args: argparse.Namespace):
    """A new session from the flags, or with ``--load`` the saved run (flags may change its epochs and lr)."""
    from nntui.train.session import TrainingSession

    rewind = getattr(args, "rewind", None)
    if not args.load:
        if rewind is not None:
            raise UsageError("--rewind goes back in a saved run: give the checkpoint with --load CKPT")
        return TrainingSession(config_from_args(args))
    if args.config:
        raise UsageError("--load goes on with the configuration saved in the checkpoint; drop --config")
    overrides = overrides_from_args(args)
    session = TrainingSession.from_checkpoint(args.load, overrides=overrides)
    if rewind is not None:
        try:
            session.rewind(rewind, lr=overrides.get("optimizer.lr"))
        except KeyError as error:
            raise UsageError(f"cannot rewind {args.load}: {error.args[0]}") from None
    return session


def _check_classes_flag(config, n_classes) -> None:
    """``--classes`` would be ignored by a dataset whose classes are fixed: say so instead."""
    from nntui.train.data import BUILTIN_DATASETS
    from nntui.train.session import CLASS_COUNT_DATASETS

    dataset = config.data.dataset
    if n_classes is None or dataset in CLASS_COUNT_DATASETS:
        return
    choosable = " and ".join(sorted(CLASS_COUNT_DATASETS))
    if dataset in BUILTIN_DATASETS:
        fixed = BUILTIN_DATASETS[dataset].n_classes
        if n_classes != fixed:
            raise UsageError(f"--classes applies only to {choosable}; '{dataset}' always has {fixed} classes")
    else:
        raise UsageError(f"--classes applies only to {choosable}; a file's classes are its labels")


def _check_output(path: str | None, suffix: str, what: str) -> None:
    """Refuse an output path before a long run rather than after it."""
    if path is None:
        return
    target = Path(path)
    if target.suffix.lower() != suffix:
        raise UsageError(f"{what} file must end in {suffix}, got {path!r}")
    if not target.parent.is_dir():
        raise UsageError(f"cannot write {what} {path!r}: folder {str(target.parent)!r} does not exist")
    if target.is_dir():
        raise UsageError(f"cannot write {what} {path!r}: it is a folder")
    try:  # can we write there at all? (a read-only or special folder fails only at the end otherwise)
        handle, probe = tempfile.mkstemp(prefix=".nntui-probe-", dir=target.parent)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise UsageError(f"cannot write {what} {path!r}: {error.strerror or error}") from None


def metrics_csv(history) -> str:
    """One row per epoch, one column per EpochRecord field, in its order (so a field added later becomes a new
    last column): the losses as the network minimised them, then val_mse, val_mae and val_r2 in the data's
    units (regression). A number not measured (accuracy for regression, R^2 for classification) is nan, one
    beyond float64 inf: what Python's float() and pandas read back."""
    from dataclasses import fields

    from nntui.train.metrics import EpochRecord

    names = [field.name for field in fields(EpochRecord)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for record in history.epochs:
        writer.writerow([_csv_value(name, getattr(record, name)) for name in names])
    return buffer.getvalue()


def _csv_value(name: str, value) -> str:
    if name == "seconds":
        return f"{value:.6f}"
    return repr(float(value)) if isinstance(value, float) else str(value)  # (repr: every digit, "nan", "inf")


def _json_number(value: float):
    return None if value is None or not math.isfinite(value) else value


def _percent(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.1%}"


def _validation_words(record) -> str:
    """An epoch's validation numbers for a person: accuracy for classes; R^2 and errors in the data's units."""
    if math.isnan(record.val_r2) and math.isnan(record.val_mae):
        return f"val loss {record.val_loss:.4f}, val accuracy {_percent(record.val_accuracy)}"
    return f"val R^2 {record.val_r2:.4f}, MAE {record.val_mae:.6g}, MSE {record.val_mse:.6g}"


# -- subcommands -------------------------------------------------------------------------------------------------

def run_train(args: argparse.Namespace) -> int:
    from threadpoolctl import threadpool_limits

    from nntui.train.files import write_atomically
    from nntui.train.session import State

    for path, suffix, what in ((args.save, ".npz", "checkpoint"), (args.metrics, ".csv", "metrics"),
                               (args.save_config, ".toml", "config")):
        _check_output(path, suffix, what)
    if args.threads < 1:
        raise UsageError(f"--threads must be at least 1, got {args.threads}")
    with _LoadReporter():
        session = session_from_args(args)
    for line in session.dataset.warnings:
        print(f"nntui train: warning: {line}", file=sys.stderr)
    config = session.config
    total_epochs = config.training.epochs
    if total_epochs == 0:
        raise UsageError("--epochs 0 trains on until paused, which needs the app (nntui); give nntui train a "
                         "number of epochs", prog="nntui train")
    if args.load and session.epoch >= total_epochs:
        print(f"nntui train: nothing to train: the checkpoint has already trained {session.epoch} epochs and "
              f"the run asks for {total_epochs}; give --epochs above {session.epoch} to go on", file=sys.stderr)
    started = time.perf_counter()
    samples_before = session.samples_seen
    report = _EpochReporter(session, total_epochs)
    with _StopOnSignals(session) as stopped:
        try:
            with threadpool_limits(limits=args.threads, user_api="blas"), report:
                session.train(on_step=report.on_step)
        except OSError:
            if stopped.signal is None:
                raise  # (a hung-up terminal fails the progress output: the run is still saved below)
    seconds = time.perf_counter() - started
    samples = session.samples_seen - samples_before
    diverged = session.state is State.DIVERGED
    if diverged:
        print(f"nntui train: {session.message}", file=sys.stderr)
        print("nntui train: no files were written: a diverged run saves no checkpoint, metrics or config",
              file=sys.stderr)
    else:  # outputs are written only now, after a successful run, each atomically
        if args.save:
            session.save_checkpoint(args.save)
        if args.metrics:
            write_atomically(args.metrics, metrics_csv(session.history))
        if args.save_config:
            config.save(args.save_config)
    last = session.history.epochs[-1] if session.history.epochs else None
    summary = {
        "dataset": config.data.dataset,
        "train_loss": _json_number(last.train_loss if last else math.nan),
        "train_accuracy": _json_number(last.train_accuracy if last else math.nan),
        "val_loss": _json_number(last.val_loss if last else math.nan),
        "val_accuracy": _json_number(last.val_accuracy if last else math.nan),
        # Regression in the data's own units (the losses above are those of the standardised targets the
        # network learns); null for classification.
        "val_r2": _json_number(last.val_r2 if last else math.nan),
        "val_mae": _json_number(last.val_mae if last else math.nan),
        "val_mse": _json_number(last.val_mse if last else math.nan),
        "epochs": session.epoch,
        "steps": session.step_count,
        "seconds": round(seconds, 4),
        "samples_per_second": round(samples / seconds, 1) if seconds > 0 else None,
        "lr": session.lr,
        "state": session.state.value,
        "interventions": session.interventions,
    }
    if stopped.signal is not None:
        return _report_stop(stopped.signal, session, args, summary)
    if args.json:
        print(json.dumps(summary))  # a diverged run too: "state": "diverged"
    if diverged:
        return 1
    if not args.json and last:
        epochs, steps = session.epoch, session.step_count
        print(f"done: {epochs} epoch{'s' * (epochs != 1)}, {steps} step{'s' * (steps != 1)} in {seconds:.2f}s; "
              f"{_validation_words(last)}")
    return 0


class _StopOnSignals:
    """While ``nntui train`` trains: SIGHUP, SIGTERM and SIGINT stop the run after its current step (``signal``
    names the first), so that what was asked for (--save, --metrics) is still written before the process ends."""

    NAMES = ("SIGHUP", "SIGTERM", "SIGINT")

    def __init__(self, session) -> None:
        self.session, self.signal = session, None
        self._previous: dict = {}

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            for name in self.NAMES:
                if hasattr(signal, name):
                    self._previous[name] = signal.signal(getattr(signal, name), self._caught)
        return self

    def _caught(self, number, _frame) -> None:
        import signal

        if self.signal is None:
            self.signal = signal.Signals(number)
            self.session.stop()

    def __exit__(self, *exc) -> None:
        import signal

        for name, handler in self._previous.items():
            signal.signal(getattr(signal, name), handler)


def _report_stop(received, session, args, summary) -> int:
    """The run was stopped by a signal: say so (the terminal may be gone: then silently) and exit 128 + signal."""
    where = f"epoch {session.epoch}, step {session.step_count}"
    if args.save:
        done = f"saved to {args.save}; nntui train --load {shlex.quote(args.save)} goes on"
    else:
        done = "nothing saved (give --save CKPT to keep a run that may be stopped)"
    try:
        print(f"nntui train: {received.name}: stopped at {where}; {done}", file=sys.stderr, flush=True)
        if args.json:
            print(json.dumps(summary), flush=True)
    except OSError:
        pass
    return 128 + int(received)


class _LoadReporter:
    """While a data file loads: a progress bar on a terminal once the load has taken half a second."""

    def __init__(self) -> None:
        import threading

        self.progress = self.task = None
        self.started = time.perf_counter()
        self.lock = threading.Lock()

    def __enter__(self):
        from nntui.train.progress import loading_progress

        self.context = loading_progress(self.on_progress)
        self.context.__enter__()
        return self

    def on_progress(self, stage: str, fraction: float) -> None:  # (called from the thread that loads)
        if not sys.stderr.isatty() or time.perf_counter() - self.started < 0.5:
            return
        with self.lock:
            self._show(stage, fraction)

    def _show(self, stage: str, fraction: float) -> None:
        if self.progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                                     console=Console(stderr=True), transient=True)
            self.progress.start()
            self.task = self.progress.add_task(stage, total=1.0)
        self.progress.update(self.task, completed=fraction, description=stage)

    def __exit__(self, *exc) -> None:
        self.context.__exit__(*exc)
        with self.lock:
            if self.progress is not None:
                self.progress.stop()


class _EpochReporter:
    """A rich progress bar on a terminal; otherwise one plain line per epoch, on stderr."""

    def __init__(self, session, total_epochs: int) -> None:
        self.session, self.total = session, total_epochs
        self.progress = None
        self.reported = len(session.history.epochs)

    def __enter__(self):
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("epoch"), MofNCompleteColumn(), BarColumn(),
                                     TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
                                     console=Console(stderr=True), transient=False)
            self.progress.start()
            self.task = self.progress.add_task("train", total=self.total, completed=self.session.epoch, info="")
        return self

    def on_step(self, result) -> None:
        if not result.epoch_ended:
            return
        record = self.session.history.epochs[-1]
        if math.isnan(record.val_r2) and math.isnan(record.val_mae):
            info = (f"loss {record.train_loss:.4f} acc {_percent(record.train_accuracy)}  "
                    f"val loss {record.val_loss:.4f} acc {_percent(record.val_accuracy)}")
        else:  # regression: the training MSE (in the data's units for one target), the validation's R^2 and MAE
            units = self.session.loss_units
            in_units = f" ({units.units})" if units.units else ""
            info = (f"train {units.name} {units.shown(record.train_loss):.4g}{in_units}  "
                    f"val R^2 {record.val_r2:.4f} MAE {record.val_mae:.4g}")
        if self.progress is not None:
            self.progress.update(self.task, completed=record.epoch, info=info)
        else:
            print(f"epoch {record.epoch}/{self.total}  {info}", file=sys.stderr, flush=True)

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()


def run_gradcheck(args: argparse.Namespace) -> int:
    from nntui.train.checks import TOLERANCE, gradient_check
    from nntui.train.session import TrainingSession

    if args.n_check < 1:
        raise UsageError(f"--samples-checked must be at least 1, got {args.n_check}")
    session = TrainingSession(config_from_args(args))
    result = gradient_check(session, n_samples=args.n_check)
    if not result.meaningful:
        raise UsageError(f"no gradient check possible: {result.note}")
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        shapes = {name: param.shape for name, param, _g in session.model.parameters()}
        print(f"{'parameter':<10} {'shape':<12} {'max relative error':>18}")
        for name, error in result.errors.items():
            verdict = "ok" if error < TOLERANCE else "FAIL"
            print(f"{name:<10} {shapes[name]!s:<12} {error:>18.2e}  {verdict}")
        if result.input_error is not None:
            verdict = "ok" if result.input_error < TOLERANCE else "FAIL"
            x_shape = (result.n_samples, session.dataset.n_features)
            print(f"{'dL/dx':<10} {x_shape!s:<12} {result.input_error:>18.2e}  {verdict}")
        print(f"{'passed' if result.passed else 'FAILED'}: worst {result.max_rel_error:.2e} "
              f"(tolerance {TOLERANCE:g}; {result.n_samples} samples, float64, central differences)")
    return 0 if result.passed else 1


def run_predict(args: argparse.Namespace) -> int:
    from nntui.train.predict import predict_file

    _check_output(args.out, ".csv", "predictions")
    with _LoadReporter():  # the run's own data is read again (for its statistics), then the new rows
        predictions = predict_file(args.run, args.data)
    if args.out:
        predictions.write_file(args.out)
    if args.json:
        summary = predictions.summary()
        if not args.out:
            summary["predictions"] = predictions.predicted.tolist()
            if predictions.probabilities is not None:
                summary["probabilities"] = predictions.probabilities.tolist()
        print(json.dumps(summary))
    elif not args.out:
        predictions.write_csv(sys.stdout)
    score = predictions.score_line()
    if score and not args.json:
        print(f"nntui predict: {score}", file=sys.stderr)
    return 0


def run_lr_find(args: argparse.Namespace) -> int:
    from threadpoolctl import threadpool_limits

    from nntui.train.lrfind import lr_range_test
    from nntui.train.session import TrainingSession

    session = TrainingSession(config_from_args(args))
    with threadpool_limits(limits=1, user_api="blas"):
        result = lr_range_test(session.trainer, seed=session.config.training.seed)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(f"{'learning rate':>14} {'smoothed loss':>14}")
    for i in range(0, len(result.lrs), max(1, len(result.lrs) // 12)):
        print(f"{result.lrs[i]:>14.2e} {result.losses[i]:>14.4f}")
    ending = "the loss exploded there" if result.stopped_early else "the end of the range"
    print(f"{len(result.lrs)} steps from {result.lrs[0]:.0e} to {result.lrs[-1]:.1e} ({ending})" if result.lrs
          else "the loss was not finite at the first rate")
    if result.suggested_lr is None:
        print(f"no suggestion: {result.note}")
    else:
        print(f"suggested learning rate: {result.suggested_lr:.2g} (steepest descent of the smoothed loss; "
              f"try it with --lr {result.suggested_lr:.2g})")
    return 0


def run_datasets() -> int:
    from nntui.train.data import describe_builtin

    print(f"{'name':<8} {'samples':>7} {'features':>8} {'classes':>7}  description")
    for info in describe_builtin():
        print(f"{info['name']:<8} {info['n_samples']:>7} {info['n_features']:>8} {info['n_classes']:>7}  "
              f"{info['description']}")
    print("\nYour own data: --dataset path/to/file.csv (header row; label in the last column or --target NAME)"
          " or a .npz file with arrays x and y.")
    return 0


def run_app(args: argparse.Namespace) -> int:
    from threadpoolctl import threadpool_limits

    from nntui.train.recovery import Autosaver
    from nntui.tui.app import NNTuiApp

    _choose_recovery(args)
    session = session_from_args(args)
    app = NNTuiApp(session=session, recovery=Autosaver(session))
    with threadpool_limits(limits=1, user_api="blas"):
        app.run()
    if app.lifeline.exit_note:
        try:
            print(app.lifeline.exit_note, file=sys.stderr)
        except OSError:
            pass  # the terminal has gone (SIGHUP)
    return app.return_code or 0


def _choose_recovery(args: argparse.Namespace, ask=input) -> None:
    """``--resume``: open the newest recovery file. A plain ``nntui`` on a terminal offers an interrupted run."""
    from nntui.train import recovery

    if args.resume:
        if args.load or args.config:
            raise UsageError("--resume opens the newest recovery file; drop --load and --config")
        found = recovery.interrupted() or recovery.recoveries()
        if not found:
            raise UsageError(f"no run to resume: {recovery.recovery_dir()} holds no recovery file")
        args.load = str(found[0].path)
        return
    plain = not args.load and not args.config and not overrides_given(args)
    if not (plain and sys.stdin.isatty() and sys.stdout.isatty()):
        return
    offer = recovery.newest_to_offer()
    if offer is None:
        return
    recovery.mark_offered(offer)
    try:
        answer = ask(f"nntui: resume {offer.describe()}? [Y/n] ").strip().lower()
    except (EOFError, KeyboardInterrupt):
        answer = "n"
    if answer in ("", "y", "yes"):
        args.load = str(offer.path)


def overrides_given(args: argparse.Namespace) -> bool:
    return any(getattr(args, name, None) is not None for name in FIELD_FLAGS)


def main(argv: list[str] | None = None) -> int:
    from nntui.train.checkpoint import CheckpointError
    from nntui.train.config import ConfigError
    from nntui.train.data import DataError

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        if "--app" in argv:
            from nntui.tui.bench_app import main as bench_app_main

            return bench_app_main([a for a in argv[1:] if a != "--app"])
        if "--load" in argv:
            from nntui.train.loadbench import main as bench_load_main

            return bench_load_main([a for a in argv[1:] if a != "--load"])
        from nntui.bench import main as bench_main

        return bench_main(argv[1:])
    prog = "nntui"
    try:
        args = build_parser().parse_args(argv)
        prog = f"nntui {args.command}" if args.command else "nntui"
        if args.command == "train":
            return run_train(args)
        if args.command == "datasets":
            return run_datasets()
        if args.command == "gradcheck":
            return run_gradcheck(args)
        if args.command == "predict":
            return run_predict(args)
        if args.command == "lr-find":
            return run_lr_find(args)
        return run_app(args)
    except (UsageError, ConfigError, DataError, CheckpointError) as error:
        print(f"{getattr(error, 'prog', None) or prog}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"{prog}: error: {error.strerror or error}: {getattr(error, 'filename', '') or ''}".rstrip(": "),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
