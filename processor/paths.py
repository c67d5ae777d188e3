"""Where the project's data lives: rulebooks/, schemas/, templates/ and calendars/.

In a checkout (run from the source tree, or installed editable) they are the top-level folders next to
processor/, so `starbatch template --all` regenerates the committed files. Installed from a wheel they
are package data under processor/_data (pyproject.toml maps the top-level folders there).
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _is_checkout(root: Path) -> bool:
    return (root / "pyproject.toml").is_file() and (root / "rulebooks").is_dir()


IN_CHECKOUT = _is_checkout(_SOURCE_ROOT)
CHECKOUT = _SOURCE_ROOT if IN_CHECKOUT else None
# The data root: the checkout itself, or the installed package data.
ROOT = _SOURCE_ROOT if IN_CHECKOUT else Path(str(files("processor").joinpath("_data")))
SCHEMA_DIR = ROOT / "schemas"
RULEBOOK_DIR = ROOT / "rulebooks"
TEMPLATE_DIR = ROOT / "templates"
CALENDAR_DIR = ROOT / "calendars"
SAMPLES_DIR = _SOURCE_ROOT / "samples"  # only in a checkout: the samples are not installed
