"""Limits that keep one hostile or broken submission from costing the rest of the batch.

Each is a setting with a default; the README lists them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 20 * 1024 * 1024        # a township workbook is ~60 KB
    max_unpacked_bytes: int = 200 * 1024 * 1024    # sum of declared sizes inside the zip
    max_zip_ratio: int = 200                       # inflated / packed, checked before inflating
    max_zip_members: int = 2000
    max_rows: int = 20_000                         # rows read per sheet
    max_columns: int = 1_000                       # columns of data per sheet
    max_sheets: int = 50
    max_cell_chars: int = 32_767                   # Excel's cell limit; a cell that reaches it is refused
    max_problems_per_code: int = 100               # listed at their cells per problem code and file; then one line
    max_problems_per_file: int = 1_000             # "另有 M 处同类问题" says how many more
    max_inputs_per_message: int = 50               # workbooks read from one message
    max_inputs_per_archive: int = 200              # workbooks read from one .zip
    # A reading child may map this much beyond its size at the fork (RLIMIT_AS). Measured VmPeak
    # growth: a sample township 0-4 MB; 20,000 x 100 numbers 301 MB; a sheet at both limits 718 MB.
    isolate_memory_bytes: int = 1 << 30
    isolate_seconds: float = 60.0                  # wall time per file in its child


LIMITS = Limits()
