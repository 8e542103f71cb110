"""Webhook ingest on PostgreSQL: throughput, latency at a fixed rate, and inbound → operator's WebSocket.

    python bench/bench_ingest.py [--workers 2] [--seconds 15] [--rate 300] [--ws-rate 100] [--no-fsync]

Starts everything it needs in a temporary directory and stops it afterwards, also on Ctrl-C or
failure: a PostgreSQL 15 cluster and a Redis on free loopback ports, then the real server
(`omnia serve --workers N`, the channel layer in Redis so WebSocket updates cross processes). It
migrates, connects a Telegram bot channel with a known secret token and creates an operator, then
POSTs realistic Telegram updates to /hooks/telegram/<key> (~80% from known senders, ~20% from new
ones, ~5% re-deliveries of an update sent before):

1. throughput: --connections clients in a closed loop for --seconds: deliveries answered 200 per second
   (`omnia serve` answers once an update is stored and applies it right after: the run also waits
   for that backlog and prints how many messages per second were applied, first answer to last applied);
2. latency: an open loop at --rate deliveries/s for --latency-seconds (measured from each request's
   scheduled time, so a server that falls behind is not flattered): p50/p95/p99 of the answer;
3. an operator logs in through the console form and holds /ws/console/ subscribed to "inbox" while
   --ws-rate messages/s arrive: p50/p95/p99 from the scheduled send to the socket's message.received;
4. pgbench (select-only and TPC-B-like, scale 10) against the same PostgreSQL, to judge the machine.

Then every update ever sent is checked in the database: stored exactly once as an InboundEvent, with
exactly one Message. Deliveries that failed are first re-sent, as Telegram would. A lost or
duplicated message fails the run (exit 1); missed speed targets only print "missed" (figures vary
by machine). Issue "Unified inbox" targets: ≥ 1,000 messages/s; p99 < 50 ms at 300 messages/s;
webhook → operator's WebSocket p99 < 500 ms at 100 messages/s.

PostgreSQL runs with its durable defaults (fsync, synchronous_commit): the 200 means committed.
--no-fsync runs it like scripts/with-postgres does for tests; --pool sets OMNIA_DATABASE_POOL for the
server. Besides wall-clock figures the run prints the CPU time one delivery costs the server, PostgreSQL
and the load generator: on a machine shared with other work that figure moves much less. The load
generator is a small keep-alive HTTP/1.1 client on uvloop (~0.2 ms CPU per request): it shares the
two cores with the server and the database, so it has to be cheap.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))
SECRET = "bench-Secret_token-0123456789"  # noqa: S105 - the throwaway bot's webhook secret
CHANNEL_KEY = "bench-bot"
HOOK = f"/hooks/telegram/{CHANNEL_KEY}"
OPERATOR = ("operator@bench.test", "Bench-operator-password-1")
TARGET_THROUGHPUT = 1000.0  # deliveries answered 200 per second
TARGET_P99_MS = 50.0  # at 300 deliveries/s
TARGET_WS_P99_MS = 500.0  # at 100 messages/s

FIRST_NAMES = ["Айгерим", "Нурлан", "Дана", "Ерлан", "Асель", "Тимур", "Мария", "Алексей", "Жанна", "Бауыржан"]
LAST_NAMES = ["Сапарова", "Ахметов", "Иванова", "Касымов", "Смагулова", "Ким", "Петров", "Омарова", "", ""]
TEXTS = [
    "Здравствуйте! Есть ли в наличии гирлянда на 10 метров?",
    "Сәлеметсіз бе, тапсырысым қашан келеді?",
    "Когда привезут заказ 4961490? /status",
    "Можно оплатить через Kaspi Red?",
    "Спасибо, получила 🙏",
    "Размер M ещё есть? Если да, отложите, пожалуйста, до вечера",
    "Рахмет!",
    "Доставка в Караганду сколько стоит?",
    "Хочу вернуть товар, он не подошёл по размеру. Что нужно сделать?",
    "Добрый вечер, магазин на Абая работает завтра?",
]


# --- the services this run starts -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if process is not None and process.poll() is not None:
                raise SystemExit(f"{what} exited while starting") from None
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start in {timeout:.0f} s") from None
            time.sleep(0.1)


def start_postgres(stack: contextlib.ExitStack, root: Path, *, fsync: bool) -> str:
    """A throwaway cluster (trust auth) as scripts/with-postgres makes it; returns its URL."""
    if not (PGBIN / "postgres").exists():
        raise SystemExit(f"{PGBIN}/postgres not found (scripts/ensure-system-packages installs it)")
    data = root / "pg"
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_postgres = ["runuser", "-u", "postgres", "--"]
        root.chmod(0o755)
        subprocess.run(["install", "-d", "-o", "postgres", "-g", "postgres", "-m", "700", str(data)], check=True)  # noqa: S603, S607
    else:
        data.mkdir(mode=0o700)
    subprocess.run(  # noqa: S603
        [
            *as_postgres,
            str(PGBIN / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c max_connections=200"
    if not fsync:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"

    def stop() -> None:
        pid_file = data / "postmaster.pid"
        if pid_file.exists():
            stopped = subprocess.run(  # noqa: S603
                [*as_postgres, str(PGBIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "-t", "30", "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            if stopped.returncode != 0 and pid_file.exists():
                with contextlib.suppress(ValueError, OSError):
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)

    stack.callback(stop)
    subprocess.run(  # noqa: S603
        [
            *as_postgres,
            str(PGBIN / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(data / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
            "-o",
            options,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    psql = [str(PGBIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-q"]
    subprocess.run([*psql, "-c", "CREATE DATABASE omnia", "-c", "CREATE DATABASE pgbench"], check=True)  # noqa: S603
    return f"postgresql://postgres@127.0.0.1:{port}/omnia"


def start_redis(stack: contextlib.ExitStack, root: Path) -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found (scripts/ensure-system-packages installs it)")
    port = free_port()
    (root / "redis").mkdir()
    process = subprocess.Popen(  # noqa: S603
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(root / "redis"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    stack.callback(stop_process, process)
    wait_for_port(port, process, "redis-server")
    return f"redis://127.0.0.1:{port}/0"


def stop_process(process: subprocess.Popen[bytes], *, group: bool = False) -> None:
    """SIGTERM (to its whole process group if it leads one), then SIGKILL after 20 s."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM) if group else process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL) if group else process.kill()
        process.wait(timeout=10)


def start_server(stack: contextlib.ExitStack, env: dict[str, str], workers: int, log: Path) -> tuple[int, int]:
    """`omnia serve` on a free port, in a process group of its own; returns (port, group id)."""
    port = free_port()
    omnia = Path(sys.executable).parent / "omnia"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own command
            [str(omnia), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the supervisor and its workers stop together
        )
    stack.callback(stop_process, process, group=True)
    deadline = time.monotonic() + 120
    healthy = 0
    while healthy < 3 * workers:  # several answers in a row: every worker process is up
        if process.poll() is not None:
            raise SystemExit(f"omnia serve exited early:\n{log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise SystemExit(f"omnia serve did not start in 120 s:\n{log.read_text()[-2000:]}")
        try:
            with httpx.Client(timeout=2) as client:  # a new connection each time: any worker may take it
                healthy = healthy + 1 if client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200 else 0
        except httpx.TransportError:
            healthy = 0
            time.sleep(0.3)
    return port, process.pid


# --- Telegram traffic -----------------------------------------------------------------------------


@dataclass
class Sender:
    user_id: int
    first_name: str
    last_name: str
    username: str
    next_message_id: int = 1


@dataclass
class Delivery:
    update_id: int
    body: bytes
    provider_message_id: str
    redelivery: bool = False


@dataclass
class Traffic:
    """Telegram updates for one bot: known senders, new senders and re-deliveries, as configured."""

    rng: random.Random
    new_share: float = 0.2
    redelivery_share: float = 0.05
    known: list[Sender] = field(default_factory=list)
    sent: dict[int, Delivery] = field(default_factory=dict)  # every update ever sent, by update_id
    recent: deque[Delivery] = field(default_factory=lambda: deque(maxlen=2000))
    next_update_id: int = 700_000_000
    next_user_id: int = 400_000_000

    def new_sender(self) -> Sender:
        self.next_user_id += self.rng.randint(1, 5000)
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        username = f"user{self.next_user_id}" if self.rng.random() < 0.6 else ""
        return Sender(self.next_user_id, first, last, username)

    def message_from(self, sender: Sender) -> Delivery:
        self.next_update_id += 1
        message_id = sender.next_message_id
        sender.next_message_id += 1
        user: dict[str, Any] = {"id": sender.user_id, "is_bot": False, "first_name": sender.first_name}
        if sender.last_name:
            user["last_name"] = sender.last_name
        if sender.username:
            user["username"] = sender.username
        user["language_code"] = "ru"
        chat = {k: v for k, v in user.items() if k in ("id", "first_name", "last_name", "username")}
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": user,
            "chat": {**chat, "type": "private"},
            "date": int(time.time()),
        }
        text = self.rng.choice(TEXTS)
        roll = self.rng.random()
        if roll < 0.1:  # a photo with a caption
            file_id = f"AgACAgIAAxkBAAI{self.next_update_id:x}"
            message["photo"] = [
                {"file_id": f"{file_id}s", "file_unique_id": "AQADs", "width": 90, "height": 67, "file_size": 1201},
                {"file_id": f"{file_id}m", "file_unique_id": "AQADm", "width": 1280, "height": 960, "file_size": 98231},
            ]
            message["caption"] = text
        else:
            message["text"] = text
            if text.endswith("/status"):
                message["entities"] = [{"type": "bot_command", "offset": len(text) - 7, "length": 7}]
            if roll < 0.2 and message_id > 1:  # a reply to our earlier message
                message["reply_to_message"] = {
                    "message_id": message_id - 1,
                    "from": {"id": 7012345678, "is_bot": True, "first_name": "ShopBot", "username": "bench_bot"},
                    "chat": {"id": sender.user_id, "type": "private", "first_name": sender.first_name},
                    "date": int(time.time()) - 60,
                    "text": "Ваш заказ передан курьеру.",
                }
        body = json.dumps({"update_id": self.next_update_id, "message": message}, ensure_ascii=False).encode()
        delivery = Delivery(self.next_update_id, body, f"{sender.user_id}:{message_id}")
        self.sent[delivery.update_id] = delivery
        self.recent.append(delivery)
        return delivery

    def next(self) -> Delivery:
        roll = self.rng.random()
        if roll < self.redelivery_share and self.recent:
            original = self.rng.choice(self.recent)
            return Delivery(original.update_id, original.body, original.provider_message_id, redelivery=True)
        if roll < self.redelivery_share + self.new_share or not self.known:
            sender = self.new_sender()
            self.known.append(sender)  # from now on a known sender
            return self.message_from(sender)
        return self.message_from(self.rng.choice(self.known))


# --- a cheap HTTP/1.1 keep-alive client -------------------------------------------------------------


KEEP_ALIVE_REUSE = 3.0  # seconds: an idle connection older than this is replaced, not reused


class HttpConnection:
    """One keep-alive HTTP/1.1 connection; responses must carry Content-Length (ours do)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_used = 0.0

    async def post(self, path: str, body: bytes, headers: bytes) -> tuple[int, bytes]:
        if self.writer is not None and time.monotonic() - self.last_used > KEEP_ALIVE_REUSE:
            self.close()  # the server may be closing it right now (uvicorn keeps idle ones for 5 s)
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(
            b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
            % (path.encode(), len(body), headers, body)
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        match = re.search(rb"\r\ncontent-length: *(\d+)", lower)
        if match is None:
            self.close()
            raise ConnectionError("a response without Content-Length")
        content = await self.reader.readexactly(int(match.group(1)))
        if b"\r\nconnection: close" in lower:
            self.close()
        self.last_used = time.monotonic()
        return status, content

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Pool:
    """At most `size` connections at once, like Telegram's max_connections (default 40)."""

    def __init__(self, port: int, size: int) -> None:
        self.idle = [HttpConnection(port) for _ in range(size)]
        self.free = asyncio.Semaphore(size)

    async def post(self, path: str, body: bytes, headers: bytes, timeout: float = 30) -> tuple[int, bytes]:
        async with self.free:
            connection = self.idle.pop()
            try:
                async with asyncio.timeout(timeout):
                    return await connection.post(path, body, headers)
            except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                connection.close()
                return 0, b""
            finally:
                self.idle.append(connection)

    def close(self) -> None:
        for connection in self.idle:
            connection.close()


SECRET_HEADER = b"X-Telegram-Bot-Api-Secret-Token: %s\r\n" % SECRET.encode()


@dataclass
class Outcome:
    delivery: Delivery
    status: int
    stored: int
    duplicates: int
    started: float  # perf_counter: when it was scheduled (open loop) or sent (closed loop)
    latency: float  # seconds from `started` to the answer


@dataclass
class Ledger:
    """Everything sent and how the server answered."""

    outcomes: list[Outcome] = field(default_factory=list)

    def record(self, delivery: Delivery, status: int, content: bytes, started: float) -> Outcome:
        latency = time.perf_counter() - started
        stored = duplicates = 0
        if status == 200:
            answer = json.loads(content)
            stored, duplicates = answer["stored"], answer["duplicates"]
        outcome = Outcome(delivery, status, stored, duplicates, started, latency)
        self.outcomes.append(outcome)
        return outcome


async def deliver(pool: Pool, ledger: Ledger, delivery: Delivery, scheduled: float | None = None) -> Outcome:
    started = time.perf_counter() if scheduled is None else scheduled
    status, content = await pool.post(HOOK, delivery.body, SECRET_HEADER)
    return ledger.record(delivery, status, content, started)


async def closed_loop(
    port: int, traffic: Traffic, ledger: Ledger, *, connections: int, seconds: float | None, count: int | None = None
) -> tuple[list[Outcome], float]:
    """`connections` clients, each sending its next delivery as soon as the last one is answered."""
    pool = Pool(port, connections)
    outcomes: list[Outcome] = []
    started = time.perf_counter()
    end = started + seconds if seconds else float("inf")
    remaining = [count if count is not None else -1]

    async def client() -> None:
        while time.perf_counter() < end and remaining[0] != 0:
            remaining[0] -= 1
            outcomes.append(await deliver(pool, ledger, traffic.next()))

    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    pool.close()
    return outcomes, elapsed


async def open_loop(
    port: int, traffic: Traffic, ledger: Ledger, *, rate: float, seconds: float, connections: int
) -> list[Outcome]:
    """Deliveries at fixed times (i / rate), whether or not earlier ones were answered."""
    pool = Pool(port, connections)
    tasks = []
    started = time.perf_counter() + 0.05
    for i in range(int(rate * seconds)):
        scheduled = started + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(deliver(pool, ledger, traffic.next(), scheduled)))
    outcomes = list(await asyncio.gather(*tasks))
    pool.close()
    return outcomes


# --- the operator's socket ----------------------------------------------------------------------------


def login(port: int) -> str:
    """Log in through the console form as a browser does; returns the Cookie header for the socket.

    The server runs as in production (cookies Secure-only), so the client says it came through a TLS
    proxy (X-Forwarded-Proto: https, trusted from 127.0.0.1), with the Referer Django then checks."""
    base = f"http://127.0.0.1:{port}"
    https = {"X-Forwarded-Proto": "https", "Referer": f"https://127.0.0.1:{port}/login/"}
    with httpx.Client(base_url=base, timeout=30, headers=https) as client:
        page = client.get("/login/")
        page.raise_for_status()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        csrf = page.cookies.get("csrftoken")
        if token is None or csrf is None:
            raise SystemExit("the login page has no CSRF token")
        answer = client.post(
            "/login/",
            data={"csrfmiddlewaretoken": token.group(1), "username": OPERATOR[0], "password": OPERATOR[1]},
            headers={"Cookie": f"csrftoken={csrf}"},
        )
        session = answer.cookies.get("sessionid")
        if answer.status_code != 302 or session is None:
            raise SystemExit(f"logging in failed: {answer.status_code}")
        return f"sessionid={session}; csrftoken={csrf}"


async def websocket_phase(
    port: int, cookie: str, traffic: Traffic, ledger: Ledger, *, rate: float, seconds: float, connections: int
) -> tuple[list[Outcome], dict[int, float]]:
    """Deliveries at `rate` while the operator's socket notes when each message.received arrives."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    arrivals: dict[int, float] = {}  # message id → perf_counter at arrival
    headers = {"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"}
    # No client keepalive pings: a server busy for seconds must not lose the socket over them.
    async with connect(f"ws://127.0.0.1:{port}/ws/console/", additional_headers=headers, ping_interval=None) as ws:
        hello = json.loads(await ws.recv())
        if hello.get("type") != "hello":
            raise SystemExit(f"the console socket said {hello!r}")
        await ws.send(json.dumps({"type": "subscribe", "topics": ["inbox"]}))
        if json.loads(await ws.recv()) != {"type": "subscribed", "topics": ["inbox"]}:
            raise SystemExit("the console socket refused the inbox topic")

        async def listen() -> None:
            try:
                async for raw in ws:
                    event = json.loads(raw)
                    if event.get("type") == "event" and event.get("kind") == "message.received":
                        arrivals.setdefault(event["data"]["message_id"], time.perf_counter())
            except ConnectionClosed as exc:
                print(f"!!! the operator's socket was closed: {exc}", file=sys.stderr, flush=True)

        listener = asyncio.create_task(listen())
        outcomes = await open_loop(port, traffic, ledger, rate=rate, seconds=seconds, connections=connections)
        expected = sum(o.stored for o in outcomes)
        deadline = time.perf_counter() + 10
        while len(arrivals) < expected and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
    return outcomes, arrivals


# --- figures --------------------------------------------------------------------------------------


def percentiles_ms(samples: list[float]) -> tuple[float, float, float, float]:
    if len(samples) < 2:
        return (float("nan"),) * 4  # type: ignore[return-value]
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000, max(samples) * 1000


def describe(outcomes: list[Outcome]) -> str:
    statuses = Counter(o.status for o in outcomes)
    errors = sum(n for s, n in statuses.items() if s != 200)
    text = f"{len(outcomes)} deliveries, {statuses[200]} answered 200"
    if errors:
        detail = ", ".join(f"{n} × {s or 'no answer'}" for s, n in sorted(statuses.items()) if s != 200)
        text += f", ERRORS {errors} ({detail})"
    return text


def run_pgbench(url_port: int, seconds: int, clients: int) -> dict[str, float]:
    common = ["-h", "127.0.0.1", "-p", str(url_port), "-U", "postgres"]
    subprocess.run(  # noqa: S603
        [str(PGBIN / "pgbench"), *common, "-i", "-q", "-s", "10", "pgbench"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results = {}
    for label, extra in (("select-only", ["-S"]), ("TPC-B", [])):
        run = subprocess.run(  # noqa: S603
            [str(PGBIN / "pgbench"), *common, *extra, "-c", str(clients), "-j", "2", "-T", str(seconds), "pgbench"],
            check=True,
            capture_output=True,
            text=True,
        )
        match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout)
        results[label] = float(match.group(1)) if match else float("nan")
    return results


def figures(p: tuple[float, float, float, float]) -> str:
    return f"p50 {p[0]:,.1f}  p95 {p[1]:,.1f}  p99 {p[2]:,.1f} ms"


def mark(met: bool) -> str:
    return "met" if met else "MISSED"


# --- where the CPU went ---------------------------------------------------------------------------


def _proc_stat(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: state, ppid, pgrp, … (field 11 is utime)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return []


@dataclass
class CpuMeter:
    """CPU seconds used by the server's processes, by PostgreSQL and by this load generator.

    On a shared machine wall-clock figures swing with the neighbours' load; CPU per delivery
    does much less, and tells what one message costs each side."""

    server_group: int
    postmaster_pid_file: Path
    tick: float = field(default_factory=lambda: 1 / os.sysconf("SC_CLK_TCK"))

    def sample(self) -> dict[str, float]:
        postmaster = int(self.postmaster_pid_file.read_text().split()[0])
        server = postgres = 0.0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            stat = _proc_stat(int(entry.name))
            if len(stat) < 15:
                continue
            used = (int(stat[11]) + int(stat[12])) * self.tick
            if int(stat[2]) == self.server_group:
                server += used
            elif int(stat[1]) == postmaster:
                postgres += used  # a backend, or a background process
            elif int(entry.name) == postmaster:  # with its children that have exited (closed connections)
                postgres += used + (int(stat[13]) + int(stat[14])) * self.tick
        load = os.times()
        return {"server": server, "postgres": postgres, "load": load.user + load.system}

    @staticmethod
    def per_delivery(before: dict[str, float], after: dict[str, float], deliveries: int) -> str:
        ms = {k: (after[k] - before[k]) * 1000 / max(deliveries, 1) for k in before}
        return (
            f"CPU per delivery: server {ms['server']:.1f} ms, PostgreSQL {ms['postgres']:.1f} ms, "
            f"load generator {ms['load']:.1f} ms"
        )


# --- the run ----------------------------------------------------------------------------------------


def setup_django(data_dir: str, database_url: str, redis_url: str) -> None:
    for name in [n for n in os.environ if n.startswith(("OMNIA_", "DJANGO_"))]:
        del os.environ[name]
    os.environ.update(
        OMNIA_DATA_DIR=data_dir,
        OMNIA_DATABASE_URL=database_url,
        OMNIA_REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="omnia.settings",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from omnia.accounts import actions as accounts_actions
    from omnia.channels.models import Channel
    from omnia.core import clock

    call_command("migrate", verbosity=0)
    channel = Channel(provider="telegram", name="Bench bot", key=CHANNEL_KEY, created_at=clock.now())
    channel.credentials = {"bot_token": "7012345678:AAE-bench-token", "secret_token": SECRET}
    channel.save()
    accounts_actions.check_create_user(actor=None, email=OPERATOR[0], password=OPERATOR[1], role="operator")


def verify(traffic: Traffic, ledger: Ledger) -> tuple[list[str], str]:
    """Problems (empty when every update sent is stored exactly once with one message) and a summary."""
    from django.db.models import Count

    from omnia.channels.models import Channel, InboundEvent
    from omnia.conversations.models import Message

    channel = Channel.objects.get(key=CHANNEL_KEY)
    problems = []
    events = Counter(InboundEvent.objects.filter(channel=channel).values_list("event_id", flat=True))
    sent = {str(update_id) for update_id in traffic.sent}
    missing = sent - set(events)
    extra = set(events) - sent
    twice = [e for e, n in events.items() if n > 1]
    if missing:
        problems.append(f"{len(missing)} updates LOST (no InboundEvent), e.g. {sorted(missing)[:5]}")
    if extra:
        problems.append(f"{len(extra)} InboundEvents for updates never sent")
    if twice:
        problems.append(f"{len(twice)} updates stored MORE THAN ONCE")
    statuses = Counter(InboundEvent.objects.filter(channel=channel).values_list("status", flat=True))
    if set(statuses) != {InboundEvent.Status.PROCESSED}:
        problems.append(f"InboundEvent statuses {dict(statuses)} (all should be processed)")
    messages = Counter(
        Message.objects.filter(channel=channel, direction=Message.Direction.IN).values_list(
            "provider_message_id", flat=True
        )
    )
    wanted = {d.provider_message_id for d in traffic.sent.values()}
    if set(messages) != wanted:
        lost = wanted - set(messages)
        problems.append(f"{len(lost)} messages LOST, {len(set(messages) - wanted)} unexpected")
    if any(n > 1 for n in messages.values()):
        problems.append(f"{sum(1 for n in messages.values() if n > 1)} messages stored MORE THAN ONCE")
    per_update: Counter[int] = Counter()
    for outcome in ledger.outcomes:
        per_update[outcome.delivery.update_id] += outcome.stored
    if any(n > 1 for n in per_update.values()):
        problems.append("the server answered stored=1 more than once for one update")
    conversations = (
        Message.objects.filter(channel=channel).values("conversation__customer").annotate(n=Count("id")).count()
    )
    summary = (
        f"{len(sent):,} distinct updates sent: {len(events):,} InboundEvents, {sum(messages.values()):,} messages "
        f"({conversations:,} customers); lost {len(missing)}, stored twice {len(twice)}"
    )
    return problems, summary


async def redeliver_failed(port: int, traffic: Traffic, ledger: Ledger) -> int:
    """Re-send (as Telegram does) every update that never got a 200; returns how many were re-sent."""
    answered = {o.delivery.update_id for o in ledger.outcomes if o.status == 200}
    failed = [d for update_id, d in traffic.sent.items() if update_id not in answered]
    pool = Pool(port, 8)
    for _ in range(5):
        if not failed:
            break
        outcomes = await asyncio.gather(*(deliver(pool, ledger, d) for d in failed))
        failed = [o.delivery for o in outcomes if o.status != 200]
        await asyncio.sleep(1)
    pool.close()
    return len({d.update_id for d in traffic.sent.values()} - answered)


def drain_backlog(timeout: float = 900) -> float:
    """Wait until the server has applied every webhook it answered (deferred ingest); the seconds waited."""
    from django.db import connections

    from omnia.channels.models import InboundEvent

    started = time.monotonic()
    while InboundEvent.objects.filter(status=InboundEvent.Status.RECEIVED).exists():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"the server left webhooks unapplied for {timeout:.0f} s")
        time.sleep(0.1)
    connections.close_all()
    return time.monotonic() - started


def run(args: argparse.Namespace, root: Path, stack: contextlib.ExitStack) -> int:
    database_url = start_postgres(stack, root, fsync=not args.no_fsync)
    redis_url = start_redis(stack, root)
    data_dir = root / "data"
    data_dir.mkdir()
    setup_django(str(data_dir), database_url, redis_url)
    from django.db import connection, connections

    pg_version = connection.cursor().connection.info.server_version
    connections.close_all()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMNIA_", "DJANGO_"))}
    env.update(OMNIA_DATA_DIR=str(data_dir), OMNIA_DATABASE_URL=database_url, OMNIA_REDIS_URL=redis_url)
    if args.pool is not None:
        env["OMNIA_DATABASE_POOL"] = str(args.pool)
    port, server_group = start_server(stack, env, args.workers, root / "server.log")
    cpu = CpuMeter(server_group=server_group, postmaster_pid_file=root / "pg" / "postmaster.pid")
    loop_runner = asyncio.Runner(loop_factory=_loop_factory())
    stack.enter_context(loop_runner)
    traffic, ledger = Traffic(random.Random(args.seed)), Ledger()

    print(
        f"PostgreSQL {pg_version // 10000}.{pg_version % 10000} ({'fsync off' if args.no_fsync else 'durable'}), "
        f"Redis, omnia serve --workers {args.workers}, {os.cpu_count()} CPUs, "
        f"OMNIA_DATABASE_POOL={'default' if args.pool is None else args.pool}; load from this process "
        f"({args.connections} connections)",
        flush=True,
    )
    # Warm-up: the known senders write once each (their cards, identities and conversations exist after).
    traffic.new_share, traffic.redelivery_share = 1.0, 0.0
    warm, elapsed = loop_runner.run(
        closed_loop(port, traffic, ledger, connections=args.connections, seconds=None, count=args.senders)
    )
    drain_backlog()
    print(f"warm-up: {args.senders} senders write once: {describe(warm)} in {elapsed:.1f} s", flush=True)
    traffic.new_share, traffic.redelivery_share = 0.2, 0.05

    cpu_before = cpu.sample()
    outcomes, elapsed = loop_runner.run(
        closed_loop(port, traffic, ledger, connections=args.connections, seconds=args.seconds)
    )
    drained = drain_backlog()
    cpu_per_delivery = CpuMeter.per_delivery(cpu_before, cpu.sample(), len(outcomes))
    accepted = sum(1 for o in outcomes if o.status == 200)
    throughput = accepted / elapsed
    stored_rate = sum(o.stored for o in outcomes) / elapsed
    applied_rate = sum(o.stored for o in outcomes) / (elapsed + drained)
    p_closed = percentiles_ms([o.latency for o in outcomes if o.status == 200])
    errors_1 = len(outcomes) - accepted
    print(
        f"1 throughput: {describe(outcomes)} in {elapsed:.1f} s: {throughput:,.0f} deliveries/s answered 200 "
        f"({stored_rate:,.0f} new messages stored/s); latency p50 {p_closed[0]:.1f} p99 {p_closed[2]:.1f} ms; "
        f"backlog applied {drained:.1f} s after the last answer ({applied_rate:,.0f} messages applied/s "
        f"overall); {cpu_per_delivery}",
        flush=True,
    )

    time.sleep(2)  # let the server's queues drain before a latency measurement
    drain_backlog()
    outcomes = loop_runner.run(
        open_loop(port, traffic, ledger, rate=args.rate, seconds=args.latency_seconds, connections=args.connections)
    )
    p_rate = percentiles_ms([o.latency for o in outcomes if o.status == 200])
    errors_2 = sum(1 for o in outcomes if o.status != 200)
    print(
        f"2 latency at {args.rate:.0f}/s for {args.latency_seconds:.0f} s: {describe(outcomes)}; "
        f"p50 {p_rate[0]:.1f} p95 {p_rate[1]:.1f} p99 {p_rate[2]:.1f} max {p_rate[3]:.1f} ms",
        flush=True,
    )

    drain_backlog()
    time.sleep(2)
    cookie = login(port)
    outcomes, arrivals = loop_runner.run(
        websocket_phase(
            port,
            cookie,
            traffic,
            ledger,
            rate=args.ws_rate,
            seconds=args.ws_seconds,
            connections=args.connections,
        )
    )
    from omnia.conversations.models import Message

    # The socket names the message by its id; the sender knows it by Telegram's chat:message id.
    ids = dict(Message.objects.filter(pk__in=list(arrivals)).values_list("provider_message_id", "pk"))
    ws_latencies, unseen = [], 0
    for outcome in outcomes:
        if outcome.stored != 1:
            continue  # a re-delivery: no new message, no update
        message_id = ids.get(outcome.delivery.provider_message_id)
        if message_id is None:
            unseen += 1
        else:
            ws_latencies.append(arrivals[message_id] - outcome.started)
    p_ws = percentiles_ms(ws_latencies)
    errors_3 = sum(1 for o in outcomes if o.status != 200)
    print(
        f"3 websocket at {args.ws_rate:.0f}/s for {args.ws_seconds:.0f} s: {describe(outcomes)}; "
        f"{len(ws_latencies)} message.received on the operator's socket, {unseen} never arrived; "
        f"p50 {p_ws[0]:.1f} p95 {p_ws[1]:.1f} p99 {p_ws[2]:.1f} max {p_ws[3]:.1f} ms",
        flush=True,
    )

    retried = loop_runner.run(redeliver_failed(port, traffic, ledger))
    drain_backlog()
    problems, stored_summary = verify(traffic, ledger)
    connections.close_all()
    pg_port = int(database_url.rsplit(":", 1)[1].split("/")[0])
    tps = run_pgbench(pg_port, args.pgbench_seconds, clients=8)

    errors = errors_1 + errors_2 + errors_3
    lines = [
        f"== ingest summary: PostgreSQL {'fsync off' if args.no_fsync else 'durable'}, "
        f"{args.workers} server processes, {os.cpu_count()} CPUs ==",
        f"throughput        {throughput:,.0f} deliveries/s answered 200 ({stored_rate:,.0f} new messages/s)"
        f"   target ≥ {TARGET_THROUGHPUT:,.0f}/s   {mark(throughput >= TARGET_THROUGHPUT)}",
        f"applied           {applied_rate:,.0f} messages/s from the first answer to the last applied "
        f"(backlog gone {drained:.1f} s after the last answer)",
        f"latency @ {args.rate:.0f}/s    {figures(p_rate)}   target p99 < {TARGET_P99_MS:.0f} ms"
        f"    {mark(p_rate[2] < TARGET_P99_MS and not errors_2)}",
        f"websocket @ {args.ws_rate:.0f}/s  {figures(p_ws)}   target p99 < {TARGET_WS_P99_MS:.0f} ms"
        f"   {mark(p_ws[2] < TARGET_WS_P99_MS and not unseen)}" + (f" ({unseen} never arrived)" if unseen else ""),
        f"throughput phase {cpu_per_delivery}",
        f"pgbench, same PostgreSQL (8 clients, {args.pgbench_seconds} s, scale 10): "
        f"select-only {tps['select-only']:,.0f} tps, TPC-B {tps['TPC-B']:,.0f} tps",
        f"errors {errors} (re-sent until stored: {retried}); {stored_summary}",
    ]
    print("\n".join(lines), flush=True)
    if problems:
        print("\n!!! INGEST LOST OR DUPLICATED MESSAGES: THE BENCHMARK FAILED !!!", file=sys.stderr)
        for problem in problems:
            print(f"!!! {problem}", file=sys.stderr)
        return 1
    return 0


def _loop_factory() -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return None
    return uvloop.new_event_loop


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C does, so every service started is stopped."""
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="omnia serve --workers")
    parser.add_argument("--connections", type=int, default=40, help="concurrent HTTP connections (Telegram: 40)")
    parser.add_argument("--senders", type=int, default=2000, help="known senders, written once in the warm-up")
    parser.add_argument("--seconds", type=float, default=15, help="throughput phase")
    parser.add_argument("--rate", type=float, default=300, help="deliveries/s in the latency phase")
    parser.add_argument("--latency-seconds", type=float, default=20)
    parser.add_argument("--ws-rate", type=float, default=100, help="messages/s in the WebSocket phase")
    parser.add_argument("--ws-seconds", type=float, default=20)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--no-fsync", action="store_true", help="PostgreSQL without fsync, as in the test suite")
    parser.add_argument("--pool", type=int, help="OMNIA_DATABASE_POOL for the server (0: a connection per request)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with (
        _terminate_as_exit(),
        tempfile.TemporaryDirectory(prefix="omnia-bench-ingest-") as temp_dir,
        contextlib.ExitStack() as stack,
    ):
        code = run(args, Path(temp_dir), stack)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
