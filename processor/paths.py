"""Where the project's data lives: next to the package in the source tree (installed editable)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "schemas"
RULEBOOK_DIR = ROOT / "rulebooks"
TEMPLATE_DIR = ROOT / "templates"
SAMPLES_DIR = ROOT / "samples"
