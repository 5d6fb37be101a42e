"""The README's promises: its Python example runs and learns, and CI runs the README's test command."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_the_engine_example_in_the_readme_runs_and_the_loss_falls(tmp_path):
    example = re.search(r"## Use the engine from Python\n.*?```python\n(.*?)```", README, re.DOTALL).group(1)
    script = tmp_path / "example.py"
    script.write_text(example)
    result = subprocess.run([sys.executable, str(script)], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    losses = [float(v) for v in re.findall(r"loss (\d+\.\d+)", result.stdout)]
    assert len(losses) >= 3 and losses[-1] < losses[0] / 10
    assert "predictions: [0 1 1 0]" in result.stdout


def engine_snippets() -> list[str]:
    section = re.search(r"## Use the engine from Python\n(.*?)\n## ", README, re.DOTALL).group(1)
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


def run_snippet(code: str, folder: Path) -> str:
    script = folder / "snippet.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], check=False, capture_output=True, text=True, timeout=120,
                            cwd=folder)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_python_snippet_of_the_engine_section_runs():
    assert len(engine_snippets()) == 3  # the XOR example, the notebook workflow, writing a layer


def test_the_notebook_workflow_learns_the_moons_and_saves_a_model_that_loads(tmp_path):
    out = run_snippet(engine_snippets()[1], tmp_path)
    accuracies = [float(v) for v in re.findall(r"val accuracy (\d+\.\d)%", out)]
    assert len(accuracies) == 4 and accuracies[-1] > 95
    probabilities = re.search(r"validation points: (\[.*\])", out).group(1)
    assert all(abs(sum(row) - 1) < 1e-3 for row in eval(probabilities))
    assert (tmp_path / "moons-model.npz").exists()


def test_the_custom_layer_snippet_passes_its_gradient_check(tmp_path):
    out = run_snippet(engine_snippets()[2], tmp_path)
    assert "gradient check passed: True" in out


def test_ci_runs_the_test_command_the_readme_gives():
    quick_start = re.search(r"## Quick start.*?```bash\n(.*?)```", README, re.DOTALL).group(1)
    test_line = next(line for line in quick_start.splitlines() if "pytest" in line)
    command = test_line.split("&&")[1].split("#")[0].strip()
    ci_commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci_commands


def numbers_and_words(line: str) -> tuple[list[str], list[float]]:
    """A line split into its words and its numbers; a duration ("0.11s") is left out, it differs each run."""
    line = re.sub(r"\d+(\.\d+)?s\b", "<seconds>", line)
    parts = re.split(r"(-?\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?)", line)
    return parts[0::2], [float(number.replace(",", "")) for number in parts[1::2]]


def test_the_own_data_regression_example_prints_what_the_readme_shows(tmp_path):
    """The house-price example: its Python makes the file, each `$` line runs in a shell (nntui from this
    environment), and prints what the README shows: the same words, the numbers within 2% (BLAS builds differ
    in the last digits; the durations not at all)."""
    section = re.search(r"## Your own data\n(.*?)\n## ", README, re.DOTALL).group(1)
    run_snippet(re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1), tmp_path)
    console = re.search(r"```console\n(.*?)```", section, re.DOTALL).group(1)
    commands = re.split(r"^\$ ", console, flags=re.MULTILINE)[1:]
    assert len(commands) == 4
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for block in commands:
        command, *shown = block.rstrip("\n").split("\n")
        result = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                                env=environment, check=False)
        assert result.returncode == 0, (command, result.stderr)
        printed = (result.stdout + result.stderr).rstrip("\n").split("\n") if shown else []
        assert len(printed) == len(shown), (command, printed)
        for mine, readme in zip(printed, shown):
            (my_words, my_numbers), (its_words, its_numbers) = numbers_and_words(mine), numbers_and_words(readme)
            assert my_words == its_words, (mine, readme)
            assert my_numbers == pytest.approx(its_numbers, rel=0.02), (mine, readme)
    assert (tmp_path / "predictions.csv").read_text().count("\n") == 2001  # a header and a row per house
