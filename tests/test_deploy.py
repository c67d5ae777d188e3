"""deploy/: the systemd units for the nightly run are valid, missed nights catch up, failures are reported and
the passwords arrive as credentials through starbatch's own password-file variables."""
from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from processor.mail.config import IMAP_PASSWORD_ENV, SMTP_PASSWORD_ENV, read_password
from processor.paths import ROOT

DEPLOY = ROOT / "deploy"
UNITS = ("starbatch.service", "starbatch.timer", "starbatch-failure@.service")
INSTALLED_AT = "/opt/starbatch/bin/starbatch"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read(DEPLOY / name, encoding="utf-8")
    return parser


def _lines(name: str, key: str) -> list[str]:
    """Every value of a key that systemd allows to repeat (configparser keeps only the last)."""
    text = (DEPLOY / name).read_text(encoding="utf-8")
    return [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{key}=")]


def test_systemd_analyze_verify__units_are_valid(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed (Debian package `systemd`)")
    starbatch = shutil.which("starbatch") or str(Path(sys.executable).parent / "starbatch")
    for name in UNITS:  # the test machine has starbatch elsewhere; verify checks that ExecStart exists
        text = (DEPLOY / name).read_text(encoding="utf-8").replace(INSTALLED_AT, starbatch)
        (tmp_path / name).write_text(text, encoding="utf-8")
    shutil.copy(tmp_path / "starbatch-failure@.service", tmp_path / "starbatch-failure@starbatch.service.service")
    done = subprocess.run([analyze, "verify", *(str(tmp_path / n) for n in (*UNITS[:2], "starbatch-failure@starbatch.service.service"))],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    ours = [line for line in done.stderr.splitlines() if "starbatch" in line]  # unknown keys are only warned about
    assert not ours, ours


def test_timer__nightly_and_a_missed_night_runs_at_boot():
    timer = _unit("starbatch.timer")["Timer"]
    assert timer["Persistent"] == "true" and timer["OnCalendar"].startswith("*-*-* 02:30")
    assert timer["Unit"] == "starbatch.service"


def test_service__failure_unit_and_exit_1_is_a_normal_night():
    service = _unit("starbatch.service")
    assert service["Unit"]["OnFailure"] == "starbatch-failure@%n.service"
    assert (DEPLOY / "starbatch-failure@.service").is_file()
    assert service["Service"]["SuccessExitStatus"] == "1"
    assert INSTALLED_AT + " run --config " in service["Service"]["ExecStart"]


def test_service__passwords_as_credentials__read_by_starbatch_from_the_credentials_directory(tmp_path, monkeypatch):
    credentials = dict(c.split(":", 1) for c in _lines("starbatch.service", "LoadCredential"))
    assert set(credentials) == {"imap", "smtp"}
    environment = dict(e.split("=", 1) for e in _lines("starbatch.service", "Environment"))
    assert environment[f"{IMAP_PASSWORD_ENV}_FILE"] == "%d/imap" and environment[f"{SMTP_PASSWORD_ENV}_FILE"] == "%d/smtp"
    for name, password in (("imap", "imap-secret"), ("smtp", "smtp-secret")):  # as systemd lays them out: mode 0400
        (tmp_path / name).write_text(password + "\n", encoding="utf-8")
        (tmp_path / name).chmod(0o400)
    for key, value in environment.items():
        monkeypatch.setenv(key, value.replace("%d", str(tmp_path)))  # %d is $CREDENTIALS_DIRECTORY
    assert read_password(IMAP_PASSWORD_ENV, None, "IMAP") == "imap-secret"
    assert read_password(SMTP_PASSWORD_ENV, None, "SMTP") == "smtp-secret"


def test_example_config__keys_the_run_accepts():
    import tomllib

    from processor.runconfig import KEYS

    config = tomllib.loads((DEPLOY / "starbatch.toml").read_text(encoding="utf-8"))
    assert set(config) <= KEYS and not any("password" in key and "file" not in key for key in config)
