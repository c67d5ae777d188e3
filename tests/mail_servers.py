"""Real mail servers on loopback for the mail tests: Dovecot (IMAP, IMAPS, STARTTLS) and aiosmtpd (SMTP with
STARTTLS and AUTH, or plaintext).

A self-signed certificate for 127.0.0.1 (the `cryptography` package) under pytest's tmp folder; Dovecot's
throwaway dovecot.conf, passwd-file (one fresh user per test) and mail homes in a temp folder of their own,
removed afterwards (the mail user cannot enter pytest's 0700 folders). Random free ports; the fixtures stop
the servers. Without Dovecot (Debian `dovecot-imapd`; `.ci/run` installs it) or
aiosmtpd (the test extra) the mail tests are skipped with the reason.
"""
from __future__ import annotations

import datetime as dt
import email
import imaplib
import ipaddress
import itertools
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

HOST = "127.0.0.1"
USERS = 50  # mailboxes in the passwd-file, one per test


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next((p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")
                                            if os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for_port(port: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {HOST}:{port} after {seconds} s")


# --- certificate -------------------------------------------------------------------------------

@dataclass
class Cert:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


def make_cert(folder: Path) -> Cert:
    """A self-signed certificate for 127.0.0.1 and localhost (also its own CA: --mail-cafile takes it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "starbatch test mail")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    paths = Cert(folder / "cert.pem", folder / "key.pem")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    paths.key.chmod(0o600)
    return paths


# --- Dovecot -----------------------------------------------------------------------------------

DOVECOT_CONF = """\
# Throwaway Dovecot for the starbatch mail tests: loopback only, one passwd-file, maildirs under {root}.
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {host}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = {uid}
mail_location = maildir:~/Maildir
default_internal_user = {internal}
default_login_user = {login}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


@dataclass
class Dovecot:
    root: Path
    cert: Cert
    imap_port: int
    imaps_port: int
    process: subprocess.Popen
    users: list[tuple[str, str]]
    _users: itertools.count = field(default_factory=itertools.count)

    def new_user(self) -> tuple[str, str]:
        """A fresh mailbox owner (user, password): each test its own INBOX (from the pool in the passwd-file)."""
        n = next(self._users)
        return self.users[n]

    def client(self, user: str, password: str) -> imaplib.IMAP4:
        imap = imaplib.IMAP4(HOST, self.imap_port, timeout=20)
        imap.login(user, password)
        return imap

    def url(self, user: str, *, tls: str = "imaps", mailbox: str = "INBOX") -> str:
        port = self.imaps_port if tls == "imaps" else self.imap_port
        return f"{tls}://{user}@{HOST}:{port}/{mailbox}"

    def append(self, user: str, password: str, raw: bytes, mailbox: str = "INBOX", flags: str | None = None) -> None:
        imap = self.client(user, password)
        try:
            typ, data = imap.append(mailbox, flags, None, raw)
            assert typ == "OK", data
        finally:
            imap.logout()

    def messages(self, user: str, password: str, mailbox: str = "INBOX") -> list[tuple[bytes, set[str]]]:
        """(raw message, flags) of every message in the mailbox (read with PEEK: nothing changes)."""
        imap = self.client(user, password)
        try:
            from processor.mail import imap_utf7_encode

            typ, _ = imap.select('"' + imap_utf7_encode(mailbox) + '"', readonly=True)
            if typ != "OK":
                return []
            typ, data = imap.uid("SEARCH", "ALL")
            found = []
            for uid in b" ".join(d for d in data if d).split():
                typ, data = imap.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
                head, raw = next(d for d in data if isinstance(d, tuple))
                flags = set(imaplib.ParseFlags(head)) if b"FLAGS" in head else set()
                found.append((raw, {f.decode() for f in flags}))
            return found
        finally:
            imap.logout()

    def folders(self, user: str, password: str) -> list[str]:
        from processor.mail import imap_utf7_decode

        imap = self.client(user, password)
        try:
            typ, data = imap.list()
            return [imap_utf7_decode(d.decode().rsplit(" ", 1)[-1].strip('"')) for d in data if d]
        finally:
            imap.logout()


def start_dovecot(root: Path, cert: Cert) -> Dovecot:
    """Dovecot in ROOT (config, passwd-file, mail homes, sockets, log). As root, the mail processes run as the
    `mail` user and auth as `dovecot`: ROOT must be reachable by them, so it is not under pytest's 0700 tmp
    folder (which every pytest session resets) but a folder of its own in the system temp folder."""
    binary = dovecot_binary()
    (root / "home").mkdir(parents=True)
    # A pool of users written once: Dovecot may not notice a passwd-file changed within the same second.
    users = [(f"town{n}", f"pw-{n}-{os.urandom(4).hex()}") for n in range(1, USERS + 1)]
    (root / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in users), encoding="utf-8")
    (root / "passwd").chmod(0o644)
    if os.geteuid() == 0:  # Dovecot will not give mail to uid 0
        mail = pwd.getpwnam("mail")
        uid, gid = mail.pw_uid, mail.pw_gid
        internal = "dovecot" if _user_exists("dovecot") else "mail"
        login = "dovenull" if _user_exists("dovenull") else internal
        os.chown(root / "home", uid, gid)
        root.chmod(0o711)
    else:
        uid, gid = os.getuid(), os.getgid()
        internal = login = pwd.getpwuid(uid).pw_name
    imap_port, imaps_port = free_port(), free_port()
    conf = root / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(root=root, host=HOST, cert=cert.cert, key=cert.key, uid=uid, gid=gid,
                                        internal=internal, login=login, imap_port=imap_port, imaps_port=imaps_port),
                    encoding="utf-8")
    process = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(imap_port)
        wait_for_port(imaps_port)
    except TimeoutError:
        process.kill()
        out = process.communicate(timeout=10)[0].decode(errors="replace")
        log = (root / "dovecot.log").read_text(errors="replace") if (root / "dovecot.log").exists() else ""
        raise RuntimeError(f"Dovecot did not start:\n{out}\n{log}") from None
    return Dovecot(root, cert, imap_port, imaps_port, process, users)


def stop_dovecot(server: Dovecot) -> None:
    server.process.terminate()  # the master stops its children
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=5)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


# --- aiosmtpd ------------------------------------------------------------------------------------

class Collect:
    """aiosmtpd handler: keeps every message received (envelope and bytes)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"


class Refuse(Collect):
    """aiosmtpd handler that answers RCPT TO of some addresses with a fixed reply (e.g. 550 or 450), logs every
    RCPT and keeps the messages to the others."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: dict[str, str] = {}   # address → the server's reply to its RCPT TO
        self.rcpts: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.rcpts.append(address)
        if address in self.answers:
            return self.answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


@dataclass
class Smtp:
    port: int
    handler: Collect
    controller: object
    user: str = ""
    password: str = ""

    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            return [email.message_from_bytes(raw, policy=policy.default) for _, _, raw in self.handler.received]

    def url(self, *, tls: str = "smtp") -> str:
        user = f"{self.user}@" if self.user else ""
        return f"{tls}://{user}{HOST}:{self.port}"


def start_smtp(cert: Cert | None = None, user: str = "", password: str = "", handler: Collect | None = None) -> Smtp:
    """aiosmtpd on loopback: with cert, STARTTLS required; with user, AUTH required (after STARTTLS)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    handler = handler or Collect()
    kwargs: dict = {}
    if cert is not None:
        kwargs.update(tls_context=cert.server_context(), require_starttls=True)
    if user:
        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login.decode() == user and auth_data.password.decode() == password
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 235 or 535
        kwargs.update(authenticator=authenticate, auth_required=True, auth_require_tls=cert is not None)
    port = free_port()
    controller = Controller(handler, hostname=HOST, port=port, **kwargs)
    controller.start()
    return Smtp(port, handler, controller, user, password)


def stop_smtp(server: Smtp) -> None:
    server.controller.stop()


# --- fixtures --------------------------------------------------------------------------------------

def _require_servers() -> None:
    if dovecot_binary() is None:
        pytest.skip("Dovecot is not installed (Debian package dovecot-imapd; .ci/run installs it): "
                    "the real-mail tests need a real IMAP server")
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        pytest.skip("aiosmtpd is not installed (pip install -e '.[test]'): the real-mail tests need an SMTP server")


@pytest.fixture(scope="session")
def mail_cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    _require_servers()
    return make_cert(tmp_path_factory.mktemp("mailcert"))


@pytest.fixture(scope="session")
def dovecot(mail_cert: Cert):
    root = Path(tempfile.mkdtemp(prefix="starbatch-dovecot-"))
    try:
        server = start_dovecot(root, mail_cert)
        try:
            yield server
        finally:
            stop_dovecot(server)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot: Dovecot) -> tuple[str, str]:
    """A fresh IMAP user: (user, password)."""
    return dovecot.new_user()


@pytest.fixture
def smtp_tls(mail_cert: Cert):
    """aiosmtpd with STARTTLS and AUTH (user county / its password)."""
    server = start_smtp(mail_cert, user="county", password=f"smtp-{os.urandom(4).hex()}")
    try:
        yield server
    finally:
        stop_smtp(server)


@pytest.fixture
def smtp_plain(mail_cert: Cert):
    """aiosmtpd without TLS or AUTH (loopback, --mail-plaintext)."""
    server = start_smtp()
    try:
        yield server
    finally:
        stop_smtp(server)


@pytest.fixture
def smtp_refusing(mail_cert: Cert):
    """aiosmtpd without TLS or AUTH whose handler (a Refuse) answers the addresses in .handler.answers as told."""
    server = start_smtp(handler=Refuse())
    try:
        yield server
    finally:
        stop_smtp(server)
