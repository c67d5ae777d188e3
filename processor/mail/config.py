"""Mail settings: server URLs, passwords, TLS, and the command-line / config-file options that set them.

Passwords come from an environment variable or an owner-only file, never from the command line and never
into a message or a log. TLS is the default; plaintext only to a loopback address with --mail-plaintext.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ..errors import ConfigError, RunError

if TYPE_CHECKING:  # smtplib and ssl are loaded when a server is talked to, not by every command's options
    import ssl

DONE_FOLDER = "已处理"
IMAP_PASSWORD_ENV = "STARBATCH_IMAP_PASSWORD"
SMTP_PASSWORD_ENV = "STARBATCH_SMTP_PASSWORD"
TIMEOUT = 60  # seconds per network operation
DEFAULT_PORTS = {"imaps": 993, "imap": 143, "smtps": 465, "smtp": 587}
SMTP_KEYS = {"mail_plaintext", "mail_cafile", "smtp", "smtp_password_env", "smtp_password_file", "reply_from"}
MAIL_KEYS = SMTP_KEYS | {"imap", "imap_password_env", "imap_password_file", "imap_done_folder", "reply",
                         "township_addresses"}  # township_addresses: `starbatch remind`, same file as `run`

Pick = Callable[..., Any]               # pick(key, default=None): command line over config file
PickPath = Callable[[str], Path | None]


@dataclass(frozen=True)
class Server:
    """imaps://user@host[:port]/MAILBOX, imap://…, smtps://user@host:port, smtp://[user@]host:port."""
    scheme: str
    host: str
    port: int
    user: str = ""
    mailbox: str = ""

    @property
    def tls_on_connect(self) -> bool:
        return self.scheme in ("imaps", "smtps")

    @property
    def where(self) -> str:
        kind = "IMAP" if self.scheme.startswith("imap") else "SMTP"
        return f"{kind} server {self.host}:{self.port}"

    @property
    def shown(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        return f"{self.scheme}://{user}{host}:{self.port}" + (f"/{self.mailbox}" if self.mailbox else "")


@dataclass
class MailConfig:
    imap: Server | None = None
    imap_password_env: str = IMAP_PASSWORD_ENV
    imap_password_file: Path | None = None
    done_folder: str = DONE_FOLDER
    plaintext: bool = False
    cafile: Path | None = None
    reply: bool = False
    smtp: Server | None = None
    smtp_password_env: str = SMTP_PASSWORD_ENV
    smtp_password_file: Path | None = None
    reply_from: str = ""


def parse_server(url: str, kinds: tuple[str, str]) -> Server:
    """A server URL; ValueError with the reason (a password in it is refused, never echoed)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in kinds:
        raise ValueError(f"'{parts.scheme}://' is not one of {', '.join(k + '://' for k in kinds)}")
    userinfo, _, hostport = parts.netloc.rpartition("@")
    if ":" in userinfo:
        raise ValueError("a password in the URL is not accepted: give it in an environment variable or a file")
    probe = urlsplit(f"//{hostport}")
    try:
        port = probe.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError(f"bad port in '{hostport}'") from None
    if not probe.hostname:
        raise ValueError("no host")
    is_imap = parts.scheme.startswith("imap")
    mailbox = (unquote(parts.path.lstrip("/")) or "INBOX") if is_imap else ""
    return Server(parts.scheme, probe.hostname, port, unquote(userinfo), mailbox)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- options -------------------------------------------------------------------------------------

def add_options(p: argparse.ArgumentParser) -> None:
    """The `run` command's mail options (also keys of the config file, with _ for -)."""
    g = p.add_argument_group("邮箱收件与回执（IMAP 收取，SMTP 回复）")
    g.add_argument("--imap", metavar="URL", help="从邮箱收取未读邮件：imaps://用户名@服务器[:端口]/INBOX"
                   "（imap://… 使用 STARTTLS）；给出后 INBOX 文件夹可省略")
    g.add_argument("--imap-password-env", metavar="NAME",
                   help=f"存放 IMAP 密码的环境变量（默认 {IMAP_PASSWORD_ENV}；{IMAP_PASSWORD_ENV}_FILE 可指向密码文件）")
    g.add_argument("--imap-password-file", metavar="FILE", help="IMAP 密码文件，只能由本人读取（chmod 600）")
    g.add_argument("--imap-done-folder", metavar="NAME", help=f"处理完的邮件移入此文件夹（默认 {DONE_FOLDER}）")
    g.add_argument("--reply", action="store_true", help="给每封邮件回复一次回执")
    add_smtp_options(g, "发送回执", "不给时回执写入 DIR/outbox")


def add_smtp_options(g: argparse._ActionsContainer, what: str, otherwise: str) -> None:
    """--smtp and its companions: shared by `run --reply` and `remind`."""
    g.add_argument("--smtp", metavar="URL", help=f"{what}：smtps://用户名@服务器:465 或 smtp://[用户名@]服务器:587"
                   f"（STARTTLS）；{otherwise}")
    g.add_argument("--smtp-password-env", metavar="NAME", help=f"存放 SMTP 密码的环境变量（默认 {SMTP_PASSWORD_ENV}）")
    g.add_argument("--smtp-password-file", metavar="FILE", help="SMTP 密码文件，只能由本人读取（chmod 600）")
    g.add_argument("--reply-from", metavar="ADDRESS", help="发件人地址（默认：乡镇来信的收件地址，否则 SMTP 用户名）")
    g.add_argument("--mail-plaintext", action="store_true", help="允许不加密的 imap:// 和 smtp://，仅限本机回环地址")
    g.add_argument("--mail-cafile", metavar="FILE", help="邮件服务器的 CA 证书（PEM），用于单位自建 CA")


def mail_config(pick: Pick, pick_path: PickPath) -> MailConfig | None:
    """The `run` mail settings from the command line / config file (runconfig's pick functions); None when unused."""
    imap_url, reply = pick("imap"), bool(pick("reply", False))
    if not imap_url and not reply:
        return None
    mc = smtp_config(pick, pick_path)
    mc.reply = reply
    mc.done_folder = str(pick("imap_done_folder", DONE_FOLDER)) or DONE_FOLDER
    mc.imap_password_env = str(pick("imap_password_env", IMAP_PASSWORD_ENV))
    mc.imap_password_file = pick_path("imap_password_file")
    if imap_url:
        mc.imap = _server(mc, "imap", str(imap_url), ("imaps", "imap"))
        if not mc.imap.user:
            raise ConfigError(f"--imap {mc.imap.shown}: give the user name (imaps://user@host/INBOX)")
    return mc


def smtp_config(pick: Pick, pick_path: PickPath) -> MailConfig:
    """The sending half of the settings (--smtp may be absent: then messages go to DIR/outbox)."""
    mc = MailConfig(plaintext=bool(pick("mail_plaintext", False)), cafile=pick_path("mail_cafile"),
                    smtp_password_env=str(pick("smtp_password_env", SMTP_PASSWORD_ENV)),
                    smtp_password_file=pick_path("smtp_password_file"), reply_from=str(pick("reply_from", "") or ""))
    if pick("smtp"):
        mc.smtp = _server(mc, "smtp", str(pick("smtp")), ("smtps", "smtp"))
    if mc.cafile is not None and not mc.cafile.is_file():
        raise ConfigError(f"--mail-cafile {mc.cafile}: no such file")
    if mc.reply_from and "@" not in parseaddr(mc.reply_from)[1]:
        raise ConfigError(f"--reply-from '{mc.reply_from}' is not a mail address")
    return mc


def _server(mc: MailConfig, key: str, url: str, kinds: tuple[str, str]) -> Server:
    try:
        server = parse_server(url, kinds)
    except ValueError as exc:
        raise ConfigError(f"--{key} {_shown_url(url)}: {exc}") from None
    if not server.tls_on_connect and mc.plaintext and not is_loopback(server.host):
        raise ConfigError(f"--mail-plaintext: plaintext is allowed only to a loopback address, not {server.host}; "
                          f"use {kinds[0]}:// or {kinds[1]}:// with STARTTLS")
    return server


def _shown_url(url: str) -> str:
    """A URL fit for a message: any password in it replaced."""
    return re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", url)


# --- passwords and TLS ----------------------------------------------------------------------------

def read_password(env_name: str, file: Path | None, what: str) -> str:
    """The password: --…-password-file, else the file named by $NAME_FILE, else $NAME."""
    path = file or (Path(os.environ[f"{env_name}_FILE"]) if os.environ.get(f"{env_name}_FILE") else None)
    if path is not None:
        return _password_file(path, what)
    password = os.environ.get(env_name, "")
    if not password:
        raise RunError(f"no {what} password: set the environment variable {env_name}, or {env_name}_FILE "
                       f"(or --{what.lower()}-password-file) to a file only you can read")
    return password


def _password_file(path: Path, what: str) -> str:
    try:
        info = path.stat()
    except OSError as exc:
        raise RunError(f"{what} password file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise RunError(f"{what} password file {path} is not a regular file")
    if info.st_mode & 0o077:
        raise RunError(f"{what} password file {path} can be read or changed by group or others "
                       f"(mode {stat.S_IMODE(info.st_mode):04o}); make it readable only by its owner: chmod 600 {path}")
    password = path.read_text(encoding="utf-8").rstrip("\r\n")
    if not password:
        raise RunError(f"{what} password file {path} is empty")
    return password


def imap_password(mc: MailConfig) -> str:
    return read_password(mc.imap_password_env, mc.imap_password_file, "IMAP")


def smtp_password(mc: MailConfig) -> str:
    """Empty when the SMTP URL names no user (no AUTH)."""
    if mc.smtp is None or not mc.smtp.user:
        return ""
    return read_password(mc.smtp_password_env, mc.smtp_password_file, "SMTP")


def tls_context(mc: MailConfig) -> ssl.SSLContext:
    import ssl

    return ssl.create_default_context(cafile=str(mc.cafile) if mc.cafile else None)


def plaintext(mc: MailConfig, server: Server) -> bool:
    """No TLS at all: only for imap:// or smtp:// to loopback with --mail-plaintext (checked in mail_config)."""
    return not server.tls_on_connect and mc.plaintext and is_loopback(server.host)


def error_text(value: object, secret: str = "") -> str:
    """What went wrong, for a message: server text decoded, the password (if it appears) replaced."""
    def decoded(x: object) -> str:
        return x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)

    import smtplib

    if isinstance(value, smtplib.SMTPResponseException):
        text = f"{value.smtp_code} {decoded(value.smtp_error)}"
    elif isinstance(value, BaseException) and value.args and isinstance(value.args[0], bytes):
        text = decoded(value.args[0])
    else:
        text = decoded(value)
    if secret:
        text = text.replace(secret, "***")
    return " ".join(text.split())[:300] or type(value).__name__
