"""Test plumbing: a throwaway data directory, Django set-up, and a real demo server for browser tests.

pytest-django loads the settings named in pyproject.toml before any conftest runs, and
``omnia.settings`` creates its data directory (secret key, SQLite file) on import. So the settings
module is named here instead, after ``OMNIA_DATA_DIR`` points to a temporary directory.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

if "OMNIA_DATA_DIR" not in os.environ:
    # xdist workers inherit the controller's directory through the environment; the process
    # that made the directory removes it.
    _data_dir = tempfile.mkdtemp(prefix="omnia-test-")
    os.environ["OMNIA_DATA_DIR"] = _data_dir
    atexit.register(shutil.rmtree, _data_dir, ignore_errors=True)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnia.settings")

import django
from django.conf import settings

_database: dict[str, Any] = settings.DATABASES["default"]
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not Django's default in-memory database: WAL, IMMEDIATE transactions and
    # several connections (threads) behave as they do in `omnia serve`. xdist workers get a
    # suffix (test.sqlite3_gw0, …) from pytest-django.
    _database.setdefault("TEST", {})["NAME"] = str(Path(settings.DATA_DIR) / "test.sqlite3")
django.setup()

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEMO_START_TIMEOUT = 120.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if any(item.get_closest_marker("e2e") for item in items):
        # Playwright's sync API keeps an event loop running in the main thread; Django would
        # refuse database calls made from it (the ORM is still called synchronously here).
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


# --- browser tests --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium, with the flags that keep it off the (closed) network."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@dataclass(frozen=True)
class DemoServer:
    url: str  # base URL with a trailing slash: http://127.0.0.1:PORT/
    info: dict[str, Any]  # the parsed demo.json: users (role, email, password), api_token, …
    data_dir: Path
    log_path: Path

    def login(self, role: str) -> tuple[str, str]:
        """The demo user's (email, password) for a role: owner, manager, operator or clerk."""
        for user in self.info["users"]:
            if user["role"] == role:
                return user["email"], user["password"]
        raise KeyError(f"demo.json has no {role!r} user")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _omnia_command() -> list[str]:
    script = Path(sys.executable).parent / "omnia"
    return [str(script)] if script.exists() else [sys.executable, "-m", "omnia"]


def _log_tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """A real `omnia demo --size small --seed 1` process on a free port, with its own data dir."""
    data_dir = tmp_path_factory.mktemp("demo-server")
    log_path = data_dir / "server.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "OMNIA_DATA_DIR": str(data_dir), "OMNIA_DEBUG": "true", "PYTHONUNBUFFERED": "1"}
    # The server gets its own SQLite database, whatever the test run itself uses.
    for name in ("OMNIA_DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    command = [*_omnia_command(), "demo", "--size", "small", "--seed", "1", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + DEMO_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"`omnia demo` exited with {process.returncode}:\n{_log_tail(log_path)}", pytrace=False)
            try:
                with urllib.request.urlopen(f"{url}healthz", timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"`omnia demo` did not answer {url}healthz within {DEMO_START_TIMEOUT:.0f} s:\n"
                    f"{_log_tail(log_path)}",
                    pytrace=False,
                )
            time.sleep(0.25)
        info = json.loads((data_dir / "demo.json").read_text())
        yield DemoServer(url=url, info=info, data_dir=data_dir, log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any], demo_server: DemoServer) -> dict[str, Any]:
    """Pages opened by browser tests resolve relative URLs against the demo server."""
    return {**browser_context_args, "base_url": demo_server.url}
