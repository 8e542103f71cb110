"""The `omnia` command: serve, worker, demo, migrate, createuser, token, check-integrity."""

from __future__ import annotations

import argparse
import getpass
import multiprocessing
import multiprocessing.process
import os
import sys
import threading
from collections.abc import Sequence

from omnia.core.config import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _setup() -> None:
    """Configure Django from OMNIA_* variables; a bad value stops here with a clear message."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnia.settings")
    import django

    django.setup()


def _check_database() -> None:
    from django.conf import settings
    from django.db import connection
    from django.db.utils import OperationalError

    try:
        if getattr(connection, "pool", None) is not None:
            import psycopg  # pooling is psycopg 3's

            # A pool retries in the background until its timeout: one direct attempt fails at once.
            with connection.wrap_database_errors:
                psycopg.connect(**connection.get_connection_params()).close()
        connection.ensure_connection()
    except OperationalError as exc:
        db = settings.DATABASES["default"]
        where = db.get("HOST") or db.get("NAME")
        raise ConfigError("OMNIA_DATABASE_URL", f"cannot connect to the database at {where}: {exc}".strip()) from exc


def _migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    _check_database()
    call_command("migrate", interactive=False, verbosity=verbosity)


class WorkerThread:
    """A task worker running in a daemon thread of this process (the embedded `omnia serve`)."""

    def __init__(self) -> None:
        from django.utils.crypto import get_random_string
        from django_tasks_db.management.commands.db_worker import Worker

        self.worker = Worker(
            queue_names=["*"],
            interval=0.5,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"serve-{get_random_string(12)}",
            excluded_queue_names=[],
        )
        self.thread = threading.Thread(target=self._run, name="omnia-task-worker", daemon=True)

    def _run(self) -> None:
        from django.db import connections

        try:
            self.worker.run()
        finally:
            connections.close_all()

    def start(self) -> WorkerThread:
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the task in hand (if any), then stop."""
        self.worker.running = False
        self.thread.join(timeout)


def serve(host: str, port: int, *, with_worker: bool = True, banner: str | None = None, workers: int = 1) -> None:
    """Serve HTTP and WebSockets; with workers > 1, that many server processes share the socket.

    The task worker and the scheduler stay in this process (one of each, whatever `workers` is); the
    server processes reach each other's WebSockets through the Redis channel layer only.
    """
    import uvicorn
    from django.conf import settings
    from django.core.management import call_command

    from omnia.core.schedule import Scheduler

    if workers > 1 and not settings.OMNIA_REDIS_URL:
        raise ConfigError(
            "OMNIA_REDIS_URL",
            f"--workers {workers} needs Redis: without it a WebSocket update made by one server process "
            "never reaches operators connected to another",
        )
    call_command("collectstatic", interactive=False, verbosity=0)
    applier = _start_applier() if settings.OMNIA_INGEST_DEFERRED else None
    worker = WorkerThread().start() if with_worker else None
    scheduler = Scheduler().start() if with_worker else None
    config = uvicorn.Config(
        "omnia.asgi:application",
        host=host,
        port=port,
        lifespan="off",
        log_level="warning",
        ws="websockets-sansio",
        proxy_headers=True,
        workers=workers,
    )
    print(banner or f"Omnia is serving at http://{host}:{port}/", flush=True)
    try:
        if workers > 1:
            from uvicorn.supervisors import Multiprocess

            # Each process imports omnia.asgi itself (spawned, not forked: no shared DB connections);
            # this one supervises them (restarting one that dies) and stops them on SIGINT/SIGTERM.
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            uvicorn.Server(config).run()
    finally:
        if scheduler is not None:
            scheduler.stop()
        if worker is not None:
            worker.stop()
        if applier is not None:
            applier.terminate()  # a batch in hand rolls back and is applied by the next applier
            applier.join(10)


def _applier_main() -> None:
    """The ingest applier process (spawned by serve): the lowest CPU priority, so that in a burst the HTTP
    processes answer first; when they leave the CPU idle it applies at full speed."""
    os.nice(19)
    _setup()
    from omnia.channels.processor import run_applier

    run_applier()


def _start_applier() -> multiprocessing.process.BaseProcess:
    """Apply stored webhooks in a process of their own, so applying a burst never slows the answers."""
    from omnia.channels.processor import APPLIER_ENV

    os.environ[APPLIER_ENV] = "1"  # this process and the HTTP processes it spawns wake no thread of their own
    process = multiprocessing.get_context("spawn").Process(target=_applier_main, name="omnia-ingest", daemon=True)
    process.start()
    return process


def cmd_serve(args: argparse.Namespace) -> None:
    # A server answers webhooks once they are stored and applies them right after (channels.ingest);
    # set before the settings load, and inherited by the worker processes it spawns.
    os.environ.setdefault("OMNIA_INGEST_DEFERRED", "true")
    os.environ.setdefault("OMNIA_LAST_SEEN_BUFFER", "true")  # last-seen written in batches, off the request
    _setup()
    _check_database()
    serve(args.host, args.port, with_worker=not args.no_worker, workers=args.workers)


def cmd_worker(args: argparse.Namespace) -> None:
    os.environ.setdefault("OMNIA_LAST_SEEN_BUFFER", "true")
    _setup()
    _check_database()
    from django.core.management import call_command

    from omnia.core.schedule import Scheduler

    scheduler = Scheduler().start()  # periodic jobs (SLA breaches, snoozes, mailboxes) are enqueued here too
    try:
        call_command("db_worker", queue_name="*", interval=args.interval, reload=False)
    finally:
        scheduler.stop()


def cmd_migrate(args: argparse.Namespace) -> None:
    _setup()
    _migrate(verbosity=1)


def cmd_demo(args: argparse.Namespace) -> None:
    # The demo is served over plain HTTP on the user's own machine: Secure-only cookies would
    # make logging in impossible there. Production deployments set OMNIA_DEBUG themselves.
    os.environ.setdefault("OMNIA_DEBUG", "true")
    _setup()
    _migrate()
    from omnia.demo import runner

    info = runner.prepare_demo(size=args.size, seed=args.seed, host=args.host, port=args.port)
    if args.no_serve:
        print(runner.banner(info), flush=True)
        return
    serve(args.host, args.port, banner=runner.banner(info))


def cmd_createuser(args: argparse.Namespace) -> None:
    _setup()
    _check_database()
    from omnia.accounts import actions
    from omnia.core.errors import DomainError
    from omnia.inventory import queries as inventory_queries

    password = args.password or os.environ.get("OMNIA_NEW_PASSWORD") or getpass.getpass("Password: ")
    store = None
    if args.store:
        store = inventory_queries.get_location_by_code(args.store)
        if store is None:
            raise SystemExit(f"omnia: no location with code {args.store!r}")
    try:
        user = actions.check_create_user(
            actor=None,
            email=args.email,
            password=password,
            role=args.role,
            first_name=args.first_name,
            last_name=args.last_name,
            store=store,
        )
    except DomainError as exc:
        raise SystemExit(f"omnia: {exc.field or 'error'}: {exc.message}") from exc
    print(f"Created {user.role} {user.email}")


def cmd_token_create(args: argparse.Namespace) -> None:
    _setup()
    _check_database()
    from omnia.accounts import actions
    from omnia.core.errors import DomainError

    try:
        issued = actions.check_create_token(actor=None, name=args.name, scopes=args.scopes.split(","), role=args.role)
    except DomainError as exc:
        raise SystemExit(f"omnia: {exc.field or 'error'}: {exc.message}") from exc
    print(issued.secret)


def cmd_token_revoke(args: argparse.Namespace) -> None:
    _setup()
    _check_database()
    from omnia.accounts import actions
    from omnia.core.errors import DomainError

    try:
        token = actions.do_revoke_token(actor=None, token_id=args.id)
    except DomainError as exc:
        raise SystemExit(f"omnia: {exc.message}") from exc
    print(f"Revoked {token}")


def cmd_token_list(args: argparse.Namespace) -> None:
    _setup()
    _check_database()
    from omnia.accounts import queries

    for token in queries.list_tokens():
        state = "revoked" if token.revoked_at else "active"
        used = token.last_used_at.isoformat() if token.last_used_at else "never"
        print(
            f"{token.pk}\t{token.name}\t{token.prefix}\t{token.role}\t{','.join(token.scopes)}\t{state}\t"
            f"last used {used}"
        )


def cmd_check_integrity(args: argparse.Namespace) -> None:
    _setup()
    _check_database()
    from omnia.inventory import queries

    drift = queries.list_stock_drift()
    for row in drift:
        print(
            f"drift: variant {row['variant_id']} at location {row['location_id']}: "
            f"on hand {row['on_hand']}, ledger {row['ledger']}"
        )
    if drift:
        raise SystemExit(1)
    print("Stock ledger: on hand equals the ledger everywhere.")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omnia", description="Omnia: omnichannel commerce and messaging.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_host_port(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default=DEFAULT_HOST)
        p.add_argument("--port", type=int, default=DEFAULT_PORT)

    p = sub.add_parser("serve", help="HTTP + WebSockets server with a task worker, in one process")
    add_host_port(p)
    p.add_argument("--no-worker", action="store_true", help="do not run the task worker thread")
    p.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="server processes sharing the port (one per CPU core is a good start); more than 1 needs OMNIA_REDIS_URL",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run the task worker alone")
    p.add_argument("--interval", type=float, default=1.0)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("demo", help="migrate, load the demo shop if the database is empty, serve")
    add_host_port(p)
    p.add_argument("--size", choices=["small", "large"], default="small")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-serve", action="store_true", help="load and write demo.json, then exit")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("migrate", help="create or update the database tables")
    p.set_defaults(func=cmd_migrate)

    from omnia.core.permissions import Role

    p = sub.add_parser("createuser", help="create a console user")
    p.add_argument("--email", required=True)
    p.add_argument("--role", required=True, choices=list(Role.values))
    p.add_argument("--store", help="location code (clerks)")
    p.add_argument("--first-name", default="")
    p.add_argument("--last-name", default="")
    p.add_argument("--password", help="default: OMNIA_NEW_PASSWORD or a prompt")
    p.set_defaults(func=cmd_createuser)

    p = sub.add_parser("token", help="API tokens")
    tsub = p.add_subparsers(dest="token_command", required=True)
    t = tsub.add_parser("create", help="create a token and print its secret (shown once)")
    t.add_argument("--name", required=True)
    t.add_argument("--scopes", required=True, help="comma-separated, e.g. customers:read,orders:write or *")
    t.add_argument("--role", default="manager", choices=["owner", "manager", "operator"])
    t.set_defaults(func=cmd_token_create)
    t = tsub.add_parser("revoke", help="revoke a token by id")
    t.add_argument("id", type=int)
    t.set_defaults(func=cmd_token_revoke)
    t = tsub.add_parser("list", help="list tokens")
    t.set_defaults(func=cmd_token_list)

    p = sub.add_parser("check-integrity", help="verify that stock on hand equals the ledger")
    p.set_defaults(func=cmd_check_integrity)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except ConfigError as exc:
        print(f"omnia: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    except KeyboardInterrupt:
        raise SystemExit(130) from None
