import os
import subprocess
import sys
from pathlib import Path

import pytest

from omnia.core import config
from omnia.core.config import ConfigError


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"OMNIA_DATA_DIR": str(tmp_path / "var")}


def test_defaults_are_the_embedded_kazakhstan_shop(env: dict[str, str], tmp_path: Path) -> None:
    cfg = config.load(env)

    assert cfg.database["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(str(cfg.database["NAME"])) == (tmp_path / "var" / "omnia.sqlite3").resolve()
    assert cfg.database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"  # type: ignore[index]
    assert "journal_mode=WAL" in cfg.database["OPTIONS"]["init_command"]  # type: ignore[index]
    assert (cfg.region, cfg.currency, cfg.language, cfg.time_zone) == ("KZ", "KZT", "ru", "Asia/Almaty")
    assert cfg.debug is False
    assert cfg.redis_url is None
    assert (cfg.ingest_deferred, cfg.order_duplicate_minutes) == (False, 60)


def test_the_duplicate_window_and_deferred_ingest_are_read(env: dict[str, str]) -> None:
    env.update(OMNIA_ORDER_DUPLICATE_MINUTES="15", OMNIA_INGEST_DEFERRED="true")

    cfg = config.load(env)

    assert (cfg.ingest_deferred, cfg.order_duplicate_minutes) == (True, 15)


def test_secret_key_is_generated_once_and_kept(env: dict[str, str], tmp_path: Path) -> None:
    first = config.load(env).secret_key
    second = config.load(env).secret_key

    assert first == second
    assert len(first) >= 50
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0


def test_postgresql_url_is_parsed(env: dict[str, str]) -> None:
    env["OMNIA_DATABASE_URL"] = "postgresql://omnia:pw@db.internal:5433/shop"
    db = config.load(env).database

    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"]) == ("db.internal", 5433, "shop", "omnia")


@pytest.mark.parametrize(("setting", "pool"), [(None, 10), ("25", 25), ("0", None)])
def test_postgresql_connections_are_pooled_per_process(
    env: dict[str, str], setting: str | None, pool: int | None
) -> None:
    env["OMNIA_DATABASE_URL"] = "postgresql://omnia:pw@db.internal:5433/shop"
    if setting is not None:
        env["OMNIA_DATABASE_POOL"] = setting

    options = config.load(env).database.get("OPTIONS") or {}

    assert options.get("pool", {}).get("max_size") == pool  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("OMNIA_DATABASE_URL", "mysql://root@localhost/shop", "unsupported database"),
        ("OMNIA_DATABASE_URL", "not a url", "unsupported database"),
        ("OMNIA_DATABASE_URL", "postgresql://user@host:5432/", "names no database"),
        ("OMNIA_DATABASE_URL", "postgresql://user@host:notaport/shop", "cannot parse"),
        ("OMNIA_REDIS_URL", "http://localhost:6379", "expected redis://"),
        ("OMNIA_SECRET_KEY", "short", "at least 32"),
        ("OMNIA_DEBUG", "maybe", "expected true or false"),
        ("OMNIA_ALLOWED_HOSTS", " , ", "at least one host"),
        ("OMNIA_REGION", "XX", "unknown region"),
        ("OMNIA_CURRENCY", "KZZ", "unknown currency"),
        ("OMNIA_LANGUAGE", "de", "unsupported language"),
        ("OMNIA_TIME_ZONE", "Asia/Nowhere", "unknown time zone"),
        ("OMNIA_DATABASE_POOL", "-1", "number of connections"),
        ("OMNIA_DATABASE_POOL", "many", "number of connections"),
        ("OMNIA_ORDER_DUPLICATE_MINUTES", "0", "number of minutes"),
        ("OMNIA_ORDER_DUPLICATE_MINUTES", "an hour", "number of minutes"),
        ("OMNIA_INGEST_DEFERRED", "sometimes", "expected true or false"),
    ],
)
def test_bad_value_names_the_variable(env: dict[str, str], variable: str, value: str, fragment: str) -> None:
    env[variable] = value

    with pytest.raises(ConfigError) as caught:
        config.load(env)

    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ")
    assert fragment in str(caught.value)


def _omnia(args: list[str], env_extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIA_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update({"OMNIA_DATA_DIR": str(tmp_path / "cli-var"), **env_extra})
    return subprocess.run(
        [sys.executable, "-m", "omnia", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@localhost/shop",
        # Well-formed, but nothing listens there: refused at once on loopback.
        "postgresql://postgres@127.0.0.1:1/omnia",
    ],
)
def test_start_up_with_a_bad_database_url_stops_with_a_clear_message(tmp_path: Path, url: str) -> None:
    result = _omnia(["migrate"], {"OMNIA_DATABASE_URL": url}, tmp_path)

    assert result.returncode == 2
    assert "OMNIA_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("debug", "secure"), [("false", "True"), ("true", "False")])
def test_cookies_are_secure_unless_debugging(tmp_path: Path, debug: str, secure: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIA_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update({"OMNIA_DATA_DIR": str(tmp_path), "OMNIA_DEBUG": debug})
    code = "import omnia.settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.DEBUG)"

    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)

    assert result.stdout.split() == [secure, secure, str(debug == "true")]
