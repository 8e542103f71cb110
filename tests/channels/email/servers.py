"""Real mail servers for the e-mail tests: Debian's Dovecot (IMAP) and aiosmtpd (SMTP).

Dovecot follows shared/reference/test-servers.md: a throwaway directory, loopback only, a free
port, mail owned by the ordinary user `omniamail`, users in a passwd-file (Dovecot re-reads it
when it changes, so every test adds a mailbox of its own). It is stopped by its pid.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import imaplib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

DOVECOT = "/usr/sbin/dovecot"
MAIL_USER = "omniamail"
PASSWORD = "secret"
START_TIMEOUT = 20.0
MAILBOXES = 400  # per test session (per xdist worker); each test that needs a mailbox takes one
_seq = itertools.count(1)

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/run
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid={user} gid={user} home={d}/mail/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
}}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mailbox_address(number: int) -> str:
    return f"shop{number}@demo.test"


def _ensure_mail_user() -> None:
    """Dovecot refuses to keep mail as root: an ordinary user owns it (created once, under a lock
    because pytest-xdist workers start their servers at the same time)."""
    with open(os.path.join(tempfile.gettempdir(), "omnia-omniamail.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pwd.getpwnam(MAIL_USER)
        except KeyError:
            subprocess.run(
                ["/usr/sbin/useradd", "-M", "-s", "/usr/sbin/nologin", MAIL_USER], check=True, capture_output=True
            )


@dataclass
class Dovecot:
    directory: Path
    port: int
    host: str = "127.0.0.1"

    @property
    def log(self) -> str:
        try:
            return (self.directory / "dovecot.log").read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def new_mailbox(self) -> str:
        """A fresh mailbox (its own INBOX) for one test: its address, which is also the login.

        The users are all written before Dovecot starts: it re-reads a changed passwd-file only
        now and then, so users added while it runs may not be known yet."""
        number = next(_seq)
        if number > MAILBOXES:
            raise RuntimeError(f"the test Dovecot has {MAILBOXES} mailboxes: raise MAILBOXES in {__file__}")
        return mailbox_address(number)

    def connect(self, address: str, password: str = PASSWORD) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(address, password)
        return conn

    def append(self, address: str, raw: bytes, folder: str = "INBOX") -> None:
        """A message arrives in the mailbox (as the MTA would deliver it)."""
        conn = self.connect(address)
        try:
            status, data = conn.append(folder, None, None, raw)
            assert status == "OK", data
        finally:
            conn.logout()

    def create(self, address: str, folder: str) -> None:
        conn = self.connect(address)
        try:
            status, data = conn.create(folder)
            assert status == "OK", data
        finally:
            conn.logout()

    def recreate(self, address: str, folder: str) -> None:
        """Delete and create the folder again: the server gives it a new UIDVALIDITY."""
        conn = self.connect(address)
        try:
            assert conn.delete(folder)[0] == "OK"
            assert conn.create(folder)[0] == "OK"
        finally:
            conn.logout()

    def uidvalidity(self, address: str, folder: str = "INBOX") -> int:
        conn = self.connect(address)
        try:
            conn.select(folder, readonly=True)
            _name, values = conn.response("UIDVALIDITY")
            return int(values[0])
        finally:
            conn.logout()


def start_dovecot() -> tuple[Dovecot, int]:
    """Start Dovecot on a free loopback port; returns the server and its master pid."""
    if not os.path.exists(DOVECOT):
        raise RuntimeError(
            f"Dovecot is not installed ({DOVECOT} is missing): `make test` installs it "
            "(scripts/ensure-system-packages), or run: apt-get install dovecot-imapd"
        )
    if os.geteuid() != 0:
        raise RuntimeError("Dovecot for the e-mail tests must be started as root (as `make test` runs).")
    _ensure_mail_user()
    last_error = ""
    for _attempt in range(3):  # the free port may be taken between choosing it and binding it
        directory = Path(tempfile.mkdtemp(prefix="omnia-dovecot-"))
        directory.chmod(0o755)
        (directory / "mail").mkdir()
        (directory / "run").mkdir()
        shutil.chown(directory / "mail", user=MAIL_USER)
        (directory / "users").write_text(
            "".join(f"{mailbox_address(n)}:{{PLAIN}}{PASSWORD}\n" for n in range(1, MAILBOXES + 1))
        )
        port = free_port()
        (directory / "dovecot.conf").write_text(CONFIG.format(d=directory, user=MAIL_USER, port=port))
        # The master process stays in the background holding its stdout/stderr: not pipes, or run() never returns.
        with (directory / "start.log").open("wb") as log:
            started = subprocess.run(
                [DOVECOT, "-c", str(directory / "dovecot.conf")], stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        server = Dovecot(directory=directory, port=port)
        if started.returncode == 0:
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                pid_file = directory / "run" / "master.pid"
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK") and pid_file.exists():
                        pid = int(pid_file.read_text().split()[0])
                        # A safety net should the session end without its fixture teardown (an interrupted run).
                        atexit.register(stop_dovecot, server, pid)
                        return server, pid
                time.sleep(0.1)
        last_error = f"{(directory / 'start.log').read_text(errors='replace')}\n{server.log}"
        stop_dovecot(server, None)
    raise RuntimeError(f"Dovecot did not start:\n{last_error}")


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for a parent that does not reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def stop_dovecot(server: Dovecot, pid: int | None) -> None:
    """Stop the master by its pid (it stops its children) and remove the directory; safe to repeat."""
    pid_file = server.directory / "run" / "master.pid"
    if not server.directory.exists():
        return
    if pid is None and pid_file.exists():
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_file.read_text().split()[0])
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.05)
    shutil.rmtree(server.directory, ignore_errors=True)


# --- SMTP --------------------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str


@dataclass
class SmtpHandler:
    """Keeps what it receives; refuses some recipients the way real servers do."""

    messages: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # recipient → SMTP reply, e.g. "550 5.1.1 …"
    accounts: dict[str, str] = field(default_factory=dict)  # login → password AUTH accepts
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # aiosmtpd's hook name
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # aiosmtpd's hook name
        self, server: SMTPServer, session: Session, envelope: Envelope
    ) -> str:
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else ""
        with self.lock:
            self.messages.append(
                Received(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=list(envelope.rcpt_tos),
                    data=bytes(envelope.original_content or b""),
                    login=login,
                )
            )
        return "250 2.0.0 Ok: queued"


class SmtpController(Controller):
    """aiosmtpd on port 0: the port the system chose is read back before the readiness check."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def start_smtp(handler: SmtpHandler, *, port: int = 0) -> SmtpController:
    """A real SMTP server on loopback offering AUTH (PLAIN, LOGIN) for handler.accounts; Received.login
    says who logged in."""

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and handler.accounts.get(
            auth_data.login.decode()
        ) == auth_data.password.decode("utf-8", errors="replace")
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    controller = SmtpController(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    return controller
