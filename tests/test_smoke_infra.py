"""The test plumbing itself: a throwaway data directory and a working test database."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client


def test_settings_use_the_temporary_data_directory() -> None:
    assert Path(settings.DATA_DIR) == Path(os.environ["OMNIA_DATA_DIR"]).resolve()
    assert Path(settings.DATA_DIR) != Path(__file__).resolve().parent.parent / "var"


@pytest.mark.django_db
def test_healthz_reports_the_test_database_as_ok(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert connection.settings_dict["NAME"].rsplit("/", 1)[-1].startswith("test")
