"""Settings read from the environment, validated once at start-up.

Every value comes from an ``OMNIA_*`` variable. A bad value raises ``ConfigError`` naming the
variable, so ``omnia`` stops with one clear line instead of a traceback deep inside Django.
"""

from __future__ import annotations

import os
import secrets
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from babel import Locale, UnknownLocaleError
from babel.numbers import get_currency_name

SUPPORTED_LANGUAGES = ("ru", "kk", "en")
TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}
# PostgreSQL connections per process (each `omnia serve` worker, `omnia worker`): enough for the
# requests one process can run at once; PostgreSQL's default max_connections is 100.
DEFAULT_DATABASE_POOL = 10
MAX_DATABASE_POOL = 200


class ConfigError(Exception):
    """A start-up setting is missing or malformed; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True)
class Config:
    data_dir: Path
    database: dict[str, object]
    redis_url: str | None
    secret_key: str
    debug: bool
    allowed_hosts: list[str]
    region: str
    currency: str
    language: str
    time_zone: str
    provider_urls: dict[str, str]
    # Webhooks answered once stored and applied right after by the process's ingest thread (`omnia
    # serve` turns it on); off, each webhook is applied before its answer.
    ingest_deferred: bool = False
    # A returning handle's last-seen written in batches by a thread of the process (`omnia serve` and
    # `omnia worker` turn it on); off, on the path of the message.
    last_seen_buffer: bool = False
    # Orders of one customer with the same lines from another channel within this many minutes are
    # flagged as possible duplicates for an operator.
    order_duplicate_minutes: int = 60
    # The shop's name as customers know it: the {{shop.name}} of notification texts.
    shop_name: str = ""


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ConfigError(name, f"expected true or false, got {raw!r}")


def _minutes(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) <= 7 * 24 * 60:
        raise ConfigError(name, f"expected a number of minutes from 1 to 10080, got {raw!r}")
    return int(raw)


def _database(env: dict[str, str], data_dir: Path) -> dict[str, object]:
    name = "OMNIA_DATABASE_URL"
    url = env.get(name, "").strip()
    if not url:
        url = f"sqlite:///{data_dir / 'omnia.sqlite3'}"
    scheme = urlsplit(url).scheme
    pool = _database_pool(env)
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ConfigError(name, f"unsupported database {scheme or url!r}; use sqlite:///path or postgresql://…")
    try:
        db: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=0))
    except Exception as exc:  # dj-database-url raises several types for malformed URLs
        raise ConfigError(name, f"cannot parse {url!r}: {exc}") from exc
    if scheme == "sqlite":
        if not db.get("NAME") or db["NAME"] == ":memory:":
            raise ConfigError(name, "a SQLite URL needs a file path: sqlite:///var/omnia.sqlite3")
        db["OPTIONS"] = {
            # IMMEDIATE takes the write lock at BEGIN: concurrent writers wait (busy timeout)
            # instead of failing half-way through a transaction.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"),
        }
    else:
        if not db.get("NAME"):
            raise ConfigError(name, "the URL names no database: postgresql://user@host:5432/NAME")
        db["CONN_HEALTH_CHECKS"] = True
        if pool:
            # Under ASGI every request runs in a thread of its own, so Django's persistent
            # connections (CONN_MAX_AGE, per thread) never get reused: a pool per process does it.
            # Opening a PostgreSQL connection costs far more than a webhook's whole transaction.
            db["OPTIONS"] = {"pool": {"min_size": min(2, pool), "max_size": pool, "timeout": 20}}
    db["ATOMIC_REQUESTS"] = False
    return db


def _database_pool(env: dict[str, str]) -> int:
    """Most PostgreSQL connections one process keeps open (OMNIA_DATABASE_POOL); 0: one per request."""
    name = "OMNIA_DATABASE_POOL"
    raw = env.get(name, str(DEFAULT_DATABASE_POOL)).strip()
    if not raw.isdigit() or int(raw) > MAX_DATABASE_POOL:
        raise ConfigError(name, f"expected a number of connections from 0 to {MAX_DATABASE_POOL}, got {raw!r}")
    return int(raw)


def _secret_key(env: dict[str, str], data_dir: Path) -> str:
    name = "OMNIA_SECRET_KEY"
    key = env.get(name, "").strip()
    if key:
        if len(key) < 32:
            raise ConfigError(name, "must be at least 32 characters long")
        return key
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def _region(env: dict[str, str]) -> str:
    import phonenumbers

    name = "OMNIA_REGION"
    region = env.get(name, "KZ").strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(name, f"unknown region {region!r}; use a two-letter code such as KZ")
    return region


def _currency(env: dict[str, str]) -> str:
    name = "OMNIA_CURRENCY"
    code = env.get(name, "KZT").strip().upper()
    if len(code) != 3 or get_currency_name(code, locale="en") == code:
        raise ConfigError(name, f"unknown currency {code!r}; use an ISO 4217 code such as KZT")
    return code


def _language(env: dict[str, str]) -> str:
    name = "OMNIA_LANGUAGE"
    language = env.get(name, "ru").strip().lower()
    if language not in SUPPORTED_LANGUAGES:
        raise ConfigError(name, f"unsupported language {language!r}; use one of ru, kk, en")
    try:
        Locale.parse(language)
    except UnknownLocaleError as exc:  # pragma: no cover - all supported languages are known
        raise ConfigError(name, str(exc)) from exc
    return language


def _time_zone(env: dict[str, str]) -> str:
    name = "OMNIA_TIME_ZONE"
    tz = env.get(name, "Asia/Almaty").strip()
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(name, f"unknown time zone {tz!r}; use an IANA name such as Asia/Almaty") from exc
    return tz


def _data_dir(env: dict[str, str]) -> Path:
    name = "OMNIA_DATA_DIR"
    path = Path(env.get(name, "var")).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(name, f"cannot create {path}: {exc.strerror}") from exc
    if not os.access(path, os.W_OK):
        raise ConfigError(name, f"{path} is not writable")
    return path


PROVIDER_URLS = {
    "telegram": ("OMNIA_TELEGRAM_API_URL", "https://api.telegram.org"),
    "meta": ("OMNIA_META_GRAPH_URL", "https://graph.facebook.com/v21.0"),
    "kaspi": ("OMNIA_KASPI_API_URL", "https://kaspi.kz/shop/api/v2"),
    "satu": ("OMNIA_SATU_API_URL", "https://my.satu.kz/api/v1"),
    "twilio": ("OMNIA_TWILIO_API_URL", "https://api.twilio.com"),
}


def _provider_urls(env: dict[str, str]) -> dict[str, str]:
    urls = {}
    for name, (variable, default) in PROVIDER_URLS.items():
        url = env.get(variable, default).strip().rstrip("/")
        if urlsplit(url).scheme not in {"http", "https"} or not urlsplit(url).netloc:
            raise ConfigError(variable, f"expected an http(s) URL, got {url!r}")
        urls[name] = url
    return urls


def load(env: dict[str, str] | None = None) -> Config:
    """Read and validate every OMNIA_* variable; raise ConfigError on the first bad one."""
    env = dict(os.environ if env is None else env)
    data_dir = _data_dir(env)
    debug = _bool(env, "OMNIA_DEBUG", default=False)
    hosts_raw = env.get("OMNIA_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
    allowed_hosts = [h.strip() for h in hosts_raw.split(",") if h.strip()]
    if not allowed_hosts:
        raise ConfigError("OMNIA_ALLOWED_HOSTS", "must list at least one host name")
    redis_url = env.get("OMNIA_REDIS_URL", "").strip() or None
    if redis_url and urlsplit(redis_url).scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError("OMNIA_REDIS_URL", f"expected redis://host:port/db, got {redis_url!r}")
    return Config(
        data_dir=data_dir,
        database=_database(env, data_dir),
        redis_url=redis_url,
        secret_key=_secret_key(env, data_dir),
        debug=debug,
        allowed_hosts=allowed_hosts,
        region=_region(env),
        currency=_currency(env),
        language=_language(env),
        time_zone=_time_zone(env),
        provider_urls=_provider_urls(env),
        ingest_deferred=_bool(env, "OMNIA_INGEST_DEFERRED", default=False),
        last_seen_buffer=_bool(env, "OMNIA_LAST_SEEN_BUFFER", default=False),
        order_duplicate_minutes=_minutes(env, "OMNIA_ORDER_DUPLICATE_MINUTES", default=60),
        shop_name=" ".join(env.get("OMNIA_SHOP_NAME", "").split())[:100],
    )
