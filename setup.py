"""The package's build: everything is in pyproject.toml but the modules compiled with mypyc.

The modules that read, check, score and pay every branch are compiled to C extensions by mypyc (mypy's
compiler) when the machine can build them, with one small module written in C (processor/_plainscan.c): a run
takes 7–9 % less processor time (README, Benchmark). Compiled or not, they are the same source and give the same
outputs byte for byte; without a C compiler, or with STARBATCH_PURE_PYTHON=1, the package installs as plain Python.
"""
from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

from setuptools import Extension, setup

COMPILED = [
    "processor/cells.py",
    "processor/conditions.py",
    "processor/county.py",
    "processor/crosscheck.py",
    "processor/fastcheck.py",
    "processor/figures.py",
    "processor/finance.py",
    "processor/normalise.py",
    "processor/pay.py",
    "processor/records.py",
    "processor/rowcells.py",
    "processor/score.py",
    "processor/sharing.py",
    "processor/validate.py",
    "processor/xlsxscan.py",
]


def _can_compile() -> bool:
    compiler = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return shutil.which(compiler) is not None and headers.is_file()


# Plain C where mypyc's code is not enough: the guard's byte-by-byte scan of every worksheet (its reference is
# xlsxscan.plain_and_near, which mypyc compiles too; guard.py takes this one when it is built).
C_EXTENSIONS = [Extension("processor._plainscan", ["processor/_plainscan.c"], extra_compile_args=["-O2"])]


def _extensions() -> list:
    if os.environ.get("STARBATCH_PURE_PYTHON") == "1" or not _can_compile():
        return []
    from mypyc.build import mypycify

    return mypycify(COMPILED, opt_level="3", group_name="starbatch") + C_EXTENSIONS


setup(ext_modules=_extensions())
