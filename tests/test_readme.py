"""The README's Python examples run as written, so a newcomer's first try works."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)  # files the examples save land here
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
    assert (tmp_path / "cancer.safetensors").is_file()


def test_readme_messy_table_example_runs_as_written(tmp_path, monkeypatch):
    """The README's own CSV (written by its Python block) through its own commands."""
    import subprocess
    import sys

    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
    commands = re.search(r"<!-- messy-example[^>]*-->\n```bash\n(.*?)```", text, flags=re.S)
    assert commands, "the README lost its messy-table example"
    lines = commands.group(1).replace("\\\n", " ").splitlines()
    outputs = []
    for line in lines:
        args = line.split()
        assert args[0] == "dlprimer"
        result = subprocess.run([sys.executable, "-m", "dlprimer.cli", *args[1:]],
                                capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        outputs.append(result.stdout)
    fit, _, explained, summary = outputs
    assert "left out 4 row(s) whose target 'survived' is missing" in fit
    assert "identifier" in fit and "days since 1970-01-01" in fit and "indicator" in fit
    assert (tmp_path / "predictions.csv").read_text().startswith("sample_id,prediction,")
    assert "from the table" in explained
    assert "odds ratio" in summary and "mass_g" in summary and "converged" in summary
