"""The errors that stop a command, and the exit codes every command shares.

Bad *input* is never an exception (it is a Problem, see problems.py). These are the few situations
where starbatch itself cannot go on: a rulebook or a setting that cannot be used, a run that cannot
start or finish. Each message is one line that names the file or key and says what to do.
"""
from __future__ import annotations

EXIT_OK = 0        # done; every input accepted (warnings allowed)
EXIT_PROBLEMS = 1  # done; some input was rejected or is missing (see the receipts)
EXIT_FAILED = 2    # could not run: the operator's mistake or the machine's; nothing was changed


class StarbatchError(Exception):
    """Stops the command with exit 2 and this one-line message."""


class RulebookError(StarbatchError):
    """The rulebook cannot be used; the message lists every reason with its path."""


class ConfigError(StarbatchError):
    """The settings cannot be used; the message says which key and what is allowed."""


class RunError(StarbatchError):
    """The run could not start or finish; the message says whether DIR was changed."""
