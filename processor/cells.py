"""A1 addresses: zero-based (row, column) <-> "C5"."""
from __future__ import annotations

import re

_A1 = re.compile(r"^([A-Z]{1,3})([0-9]{1,7})$")


def column_letters(col: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(row: int, col: int) -> str:
    """Zero-based row and column to an A1 address."""
    return f"{column_letters(col)}{row + 1}"


def split_a1(address: str) -> tuple[int, int]:
    """An A1 address to zero-based (row, column); (0, 0) for anything else."""
    match = _A1.match(address)
    if not match:
        return (0, 0)
    letters, digits = match.groups()
    col = 0
    for ch in letters:
        col = col * 26 + (ord(ch) - 64)
    return (int(digits) - 1, col - 1)
