"""`nntui bench --load`: how fast and how lean nntui loads your data, beside NumPy's own readers.

For each size it writes three files into a scratch folder: a CSV of features and an integer label, the same
features with word labels, and an NPZ file. Then it times, each in a fresh Python process (so one
measurement's memory cannot hide in another's), and prints side by side:

* nntui: `load_dataset(file)`, everything a run needs: read, checked, split, standardised, float32;
* NumPy: `np.loadtxt(file, delimiter=",", skiprows=1)` on the numeric CSV, and `np.load(file)` reading x and y
  from the NPZ file: reading only, nothing checked, split or standardised.

Time is wall-clock seconds; peak is the largest amount of memory the measured call had allocated at once
(`tracemalloc`, which sees NumPy's arrays; the interpreter itself is not counted; measured in a second
process, since tracing slows the call down); RSS is the process's peak resident size (`ru_maxrss`:
interpreter, libraries and a memory-mapped file's pages included). The CSV rows repeat a block of 10,000
random rows, which changes nothing for a reader and makes the files quick to write.

    nntui bench --load                      10k, 100k and 1M rows of 20 features
    nntui bench --load --rows 50000 --features 8 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

BLOCK = 10_000

#: What each measurement runs, in a fresh process: {path} is the file.
MEASURED = {
    "nntui": "from nntui.train.data import load_dataset\nresult = load_dataset({path!r}, seed=0)",
    "loadtxt": "import numpy as np\nresult = np.loadtxt({path!r}, delimiter=',', skiprows=1)",
    "np.load": ("import numpy as np\nwith np.load({path!r}) as archive:\n"
                "    result = (archive['x'], archive['y'])"),
}

# A warm-up call on a small file of the same kind first, so one-time imports inside NumPy and nntui
# (numpy.random is imported lazily, for one) are not counted; then the measured call. Time and memory are
# measured in two fresh processes: tracemalloc slows every allocation of a Python object (a reader that makes
# one per line pays for it many times over), so the timed call runs untraced.
_HARNESS = """
import json, resource, time, tracemalloc
{warm_up}
del result
traced = {traced}
if traced:
    tracemalloc.start()
started = time.perf_counter()
{code}
seconds = time.perf_counter() - started
peak = tracemalloc.get_traced_memory()[1] if traced else 0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": seconds, "peak": peak, "rss": rss}}))
"""


def write_files(folder: Path, n_rows: int, n_features: int, seed: int = 0) -> dict[str, Path]:
    """The three files for one size: numeric CSV, word-label CSV, NPZ (the same features in all three)."""
    rng = np.random.default_rng(seed)
    x_block = np.round(rng.normal(size=(BLOCK, n_features)), 6)
    y_block = rng.integers(0, 3, BLOCK)
    header = ",".join(f"f{i}" for i in range(n_features))
    numbers = "\n".join(",".join(map(repr, row)) for row in x_block.tolist())
    words = np.array(["cat", "dog", "bird"])[y_block]
    paths = {kind: folder / f"{kind}_{n_rows}.{ext}" for kind, ext in
             (("numeric", "csv"), ("words", "csv"), ("npz", "npz"))}
    for kind, labels in (("numeric", y_block.astype(str)), ("words", words)):
        rows = [f"{line},{label}" for line, label in zip(numbers.split("\n"), labels)]
        with open(paths[kind], "w") as file:
            file.write(header + ",label\n")
            for start in range(0, n_rows, BLOCK):
                count = min(BLOCK, n_rows - start)
                file.write("\n".join(rows[:count]) + "\n")
    repeats = -(-n_rows // BLOCK)
    x = np.tile(x_block, (repeats, 1))[:n_rows]
    y = np.tile(y_block, repeats)[:n_rows]
    np.savez(paths["npz"], x=x, y=y)
    return paths


def measure(what: str, path: Path, warm_up_path: Path) -> dict:
    """Seconds (untraced), peak bytes (tracemalloc) and peak resident size of one call, each in a fresh
    process."""
    result = {}
    for traced in (False, True):
        code = _HARNESS.format(warm_up=MEASURED[what].format(path=str(warm_up_path)),
                               code=MEASURED[what].format(path=str(path)), traced=traced)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{what} on {path.name} failed: {done.stderr.strip().splitlines()[-1:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        if traced:
            result.update(peak=figures["peak"], rss=max(result["rss"], figures["rss"]))
        else:
            result.update(seconds=figures["seconds"], rss=figures["rss"])
    return result


def run(sizes: list[int], n_features: int, repeat: int, folder: Path, out=None) -> list[dict]:
    """Measure every size; print a table as it goes (to `out`, default standard output); return its rows."""
    out = sys.stdout if out is None else out
    pairs = [("CSV, integer labels", "numeric", "nntui", "numeric", "loadtxt"),
             ("CSV, word labels", "words", "nntui", "numeric", "loadtxt"),
             ("NPZ", "npz", "nntui", "npz", "np.load")]
    print(f"{'rows':>9}  {'file':<20} {'nntui s':>8} {'peak MB':>8} {'RSS MB':>7}   {'numpy':<8} {'s':>6} "
          f"{'peak MB':>8} {'RSS MB':>7}   {'time x':>6} {'peak x':>6}", file=out)
    results = []
    warm_up = write_files(folder, 100, n_features, seed=1)
    for n_rows in sizes:
        paths = write_files(folder, n_rows, n_features)
        os.sync()  # the files on disk before timing: writing back their pages would slow both sides unevenly
        for label, ours_file, ours, theirs_file, theirs in pairs:
            mine, reference = [], []
            for _ in range(repeat):  # interleaved, so a busy moment hurts both sides alike
                mine.append(measure(ours, paths[ours_file], warm_up[ours_file]))
                reference.append(measure(theirs, paths[theirs_file], warm_up[theirs_file]))
            row = {
                "rows": n_rows, "file": label, "reference": theirs,
                "seconds": statistics.median(m["seconds"] for m in mine),
                "peak_mb": max(m["peak"] for m in mine) / 1e6,
                "rss_mb": max(m["rss"] for m in mine) / 1e6,
                "reference_rss_mb": max(m["rss"] for m in reference) / 1e6,
                "reference_seconds": statistics.median(m["seconds"] for m in reference),
                "reference_peak_mb": max(m["peak"] for m in reference) / 1e6,
            }
            results.append(row)
            print(f"{n_rows:>9,}  {label:<20} {row['seconds']:>8.3f} {row['peak_mb']:>8.1f} "
                  f"{row['rss_mb']:>7.0f}   {theirs:<8} {row['reference_seconds']:>6.3f} "
                  f"{row['reference_peak_mb']:>8.1f} {row['reference_rss_mb']:>7.0f}   "
                  f"{row['seconds'] / row['reference_seconds']:>6.2f} "
                  f"{row['peak_mb'] / max(row['reference_peak_mb'], 1e-9):>6.2f}", file=out, flush=True)
        for path in paths.values():
            path.unlink()
    for path in warm_up.values():
        path.unlink()
    return results


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and exit code 2, like every nntui command
        print(f"{self.prog}: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="nntui bench --load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="10000,100000,1000000", help="sizes, comma-separated")
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1, help="measurements per side (median time, max peak)")
    parser.add_argument("--folder", help="where to write the files (default: a temporary folder)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line holding every row")
    args = parser.parse_args(argv)
    try:
        sizes = [int(part) for part in args.rows.split(",")]
    except ValueError:
        parser.error(f"--rows takes whole numbers separated by commas, got {args.rows!r}")
    if any(size < 10 for size in sizes) or args.features < 1 or args.repeat < 1:
        parser.error("--rows needs sizes of at least 10, --features and --repeat at least 1")
    print(f"loading {args.features} features + a label; nntui = load_dataset (read, check, split, "
          f"standardise, float32), numpy = reading only; {args.repeat} run(s) each, each in a fresh process",
          flush=True)
    if args.folder:
        results = run(sizes, args.features, args.repeat, Path(args.folder))
    else:
        with tempfile.TemporaryDirectory(prefix="nntui-loadbench-") as folder:
            results = run(sizes, args.features, args.repeat, Path(folder))
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
