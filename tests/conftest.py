"""Fixtures: a minimal valid one-township R1 workbook (two branches) that a test can change row by row."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from processor.rulebook import Rulebook
from support import SOFFICE, r1, valid_r1_rows, write_r1


@pytest.fixture(scope="session")
def rulebook() -> Rulebook:
    return r1()


@pytest.fixture
def rows() -> dict[str, list[dict[str, Any]]]:
    """Fresh rows of the valid township; change them, then pass them to `r1_workbook`."""
    return valid_r1_rows()


@pytest.fixture
def r1_workbook(tmp_path: Path) -> Callable[..., Path]:
    """Write a filled R1 workbook: `r1_workbook()` is valid; `r1_workbook(rows, name=..., meta=...)` overrides."""
    def make(rows: dict[str, list[dict[str, Any]]] | None = None, *, name: str = "城关镇.xlsx",
             meta: dict[str, Any] | None = None) -> Path:
        return write_r1(tmp_path / name, rows, meta)
    return make


@pytest.fixture(scope="session")
def valid_r1_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One valid workbook shared read-only by tests that only need a good neighbour in a batch."""
    return write_r1(tmp_path_factory.mktemp("valid") / "城关镇.xlsx")


@pytest.fixture
def soffice() -> str:
    if not SOFFICE:
        pytest.skip("LibreOffice (soffice) is not installed: the round trip through a real office cannot run")
    return SOFFICE
