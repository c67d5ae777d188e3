"""Every command explains itself to the operator in Chinese: what it does, its exit codes and an example."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from processor.cli import _parser
from processor.paths import ROOT


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    [action] = [a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "processor.cli", *argv], cwd=ROOT, capture_output=True, text=True,
                          encoding="utf-8", timeout=60, check=False)


def test_parser__has_the_documented_commands():
    assert {"template", "validate", "score", "pay", "run"} <= set(_subcommands())


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_every_command__help_in_chinese_with_exit_codes_and_an_example(name):
    text = _subcommands()[name].format_help()
    assert "退出码" in text and "示例" in text
    assert all(f"  {code}  " in text for code in "012"), text
    assert f"starbatch {name}" in text.split("示例")[1]


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_every_option__has_help(name):
    missing = [a.dest for a in _subcommands()[name]._actions if not a.help]
    assert not missing


def test_starbatch_help__exits_0_and_lists_every_command():
    done = _cli("--help")
    assert done.returncode == 0
    assert "党支部" in done.stdout and all(name in done.stdout for name in _subcommands())


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_command_help__exits_0(name):
    done = _cli(name, "--help")
    assert done.returncode == 0 and "退出码" in done.stdout
