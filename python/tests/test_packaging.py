"""python/ is an ordinary pip-installable package with the `vibevoice-asr-web` console script."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[1]


def test_builds_a_wheel_with_every_module_and_the_console_script(tmp_path):
    source = tmp_path / "python"  # a copy: building writes build/ and *.egg-info beside the sources
    shutil.copytree(PYTHON_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheel = next(tmp_path.glob("vibevoice_asr_web-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    sources = {p.relative_to(PYTHON_DIR).as_posix() for p in (PYTHON_DIR / "vibevoice_asr_web").rglob("*.py")}
    assert sources <= set(names), sorted(sources - set(names))[:5]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "vibevoice-asr-web = vibevoice_asr_web.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
