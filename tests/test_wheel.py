"""`pip install .` (a wheel, not editable) gives a working tool: rulebooks, schemas and templates ship inside it.

The wheel is built from a copy of the source tree (so the repository gets no build/ or egg-info), installed
into a fresh venv that sees the already-installed dependencies (--system-site-packages: nothing to download),
and run from a folder that has nothing to do with the checkout.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import yaml

from processor.paths import ROOT, SAMPLES_DIR

SOURCE = ("pyproject.toml", "README.md", "processor", "rulebooks", "schemas", "templates", "calendars")


def _copy_source(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so"))
        else:
            shutil.copy2(ROOT / name, target / name)
    return target


def _env() -> dict[str, str]:
    """No PYTHONPATH: the installed copy, not the checkout, must answer."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _run(argv: list[str], cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=_env(), capture_output=True, text=True, encoding="utf-8", timeout=timeout,
                          check=False)


def _venv(folder: Path) -> Path:
    """A venv without pip of its own: the system pip (visible through system site-packages) installs into it."""
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(folder)], check=True)
    return folder / "bin"


def _pip_install(bin_dir: Path, *args: str) -> None:
    done = _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", *args], cwd=bin_dir, timeout=300)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a venv with starbatch installed from its wheel."""
    base = tmp_path_factory.mktemp("wheel")
    source, dist = _copy_source(base / "source"), base / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(dist)], cwd=base, timeout=300)
    assert built.returncode == 0, built.stderr
    [wheel] = dist.glob("starbatch-*.whl")
    bin_dir = _venv(base / "venv")
    _pip_install(bin_dir, "--force-reinstall", str(wheel))
    return bin_dir


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def test_wheel__the_installed_package_is_used__with_its_data_inside(installed, elsewhere):
    shown = _run([str(installed / "python"), "-c", "import processor.paths as p; print(p.__file__); print(p.ROOT)"],
                 cwd=elsewhere)
    module, data_root = shown.stdout.split()
    venv = installed.parent
    assert Path(module).is_relative_to(venv) and Path(data_root) == Path(module).parent / "_data"
    assert {p.name for p in (Path(data_root) / "rulebooks").glob("*.yaml")} == {p.name for p in (ROOT / "rulebooks").glob("*.yaml")}
    assert len(list((Path(data_root) / "schemas" / "generated").glob("*/*.json"))) == len(list((ROOT / "schemas" / "generated").glob("*/*.json")))


def test_wheel__template__written_from_an_unrelated_folder(installed, elsewhere):
    done = _run([str(installed / "starbatch"), "template", "--rulebook", "R1"], cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    written = elsewhere / Path(done.stdout.strip()).name
    assert written.read_bytes() == next((ROOT / "templates").glob("R1-*.xlsx")).read_bytes()


def test_wheel__validate__sample_file_clean(installed, elsewhere):
    shutil.copy2(SAMPLES_DIR / "inbox" / "01-城关镇.xlsx", elsewhere / "城关镇.xlsx")
    done = _run([str(installed / "starbatch"), "validate", "城关镇.xlsx"], cwd=elsewhere)
    assert done.returncode == 0, done.stdout + done.stderr


def test_wheel__run__sample_inbox_all_ten_accepted(installed, elsewhere):
    shutil.copytree(SAMPLES_DIR / "inbox", elsewhere / "inbox")
    done = _run([str(installed / "starbatch"), "run", "inbox", "--out", "out", "--period", "2026"], cwd=elsewhere)
    assert done.returncode in (0, 1), done.stderr
    results = json.loads((elsewhere / "out" / "results.json").read_text(encoding="utf-8"))
    assert [i["state"] for i in results["inputs"]].count("accepted") == 10


def test_wheel__template_all__writes_into_out_not_into_the_installed_package(installed, elsewhere):
    done = _run([str(installed / "starbatch"), "template", "--all", "--out", "made"], cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert len(list((elsewhere / "made" / "templates").glob("*.xlsx"))) == len(list((ROOT / "templates").glob("*.xlsx")))


def test_editable_install__template_all__writes_into_the_checkout_folders(tmp_path, elsewhere):
    source = _copy_source(tmp_path / "checkout")
    for old in (source / "templates").glob("*.xlsx"):
        old.unlink()
    bin_dir = _venv(tmp_path / "venv")
    _pip_install(bin_dir, "-e", str(source))
    done = _run([str(bin_dir / "starbatch"), "template", "--all"], cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (source / "templates").glob("*.xlsx")) == sorted(p.name for p in (ROOT / "templates").glob("*.xlsx"))
    assert not list(elsewhere.iterdir())


def test_county_rulebook_dir__found_by_its_key_before_the_shipped_ones(tmp_path, elsewhere):
    data = yaml.safe_load((ROOT / "rulebooks" / "r1-huojia-five-star.yaml").read_text(encoding="utf-8"))
    data.update(id="C1", key="mingchuan-five-star")
    county = tmp_path / "county-rulebooks"
    county.mkdir()
    (county / "mingchuan.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    done = _run([sys.executable, "-m", "processor.cli", "template", "--rulebook", "mingchuan-five-star",
                 "--rulebook-dir", str(county), "--out", str(elsewhere)], cwd=ROOT)
    assert done.returncode == 0, done.stderr
    cover = openpyxl.load_workbook(elsewhere / "C1-mingchuan-five-star-2026.1.xlsx").worksheets[0]
    assert "C1-mingchuan-five-star" in [c.value for row in cover.iter_rows() for c in row]


def test_unknown_rulebook__lists_ids_and_keys_in_chinese(elsewhere):
    done = _run([sys.executable, "-m", "processor.cli", "template", "--rulebook", "R9"], cwd=ROOT)
    assert done.returncode == 2
    assert "未知的评定办法“R9”" in done.stderr and "R1（huojia-five-star）" in done.stderr
    assert ".yaml，" not in done.stderr and "r1-huojia-five-star" not in done.stderr
