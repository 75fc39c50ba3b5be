"""DATABASE_URL in the forms a Django deployment uses (dj-database-url), and the SQLite default."""
from __future__ import annotations

import os

import pytest
from django.db.utils import ConnectionHandler

from config.settings import database_settings


@pytest.mark.parametrize("url", [
    "postgres://fly:s%40cret@db.example:6543/flywheel",
    "postgresql://fly:s%40cret@db.example:6543/flywheel",
])
def test_postgresql_urls(url):
    config = database_settings({"DATABASE_URL": url})
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["USER"], config["PASSWORD"], config["HOST"], int(config["PORT"]), config["NAME"]) == (
        "fly", "s@cret", "db.example", 6543, "flywheel")
    assert config["CONN_MAX_AGE"] == 60 and config["CONN_HEALTH_CHECKS"] is True


def test_query_string_options_reach_the_driver():
    config = database_settings({"DATABASE_URL": "postgresql://fly@db.example/flywheel?sslmode=require"})
    assert config["OPTIONS"] == {"sslmode": "require"}


def test_sqlite_urls_relative_and_absolute(tmp_path):
    assert database_settings({"DATABASE_URL": "sqlite:///var/app.sqlite3"})["NAME"] == "var/app.sqlite3"
    absolute = database_settings({"DATABASE_URL": f"sqlite:///{tmp_path}/app.sqlite3"})
    assert absolute["ENGINE"] == "django.db.backends.sqlite3"
    assert absolute["NAME"] == f"{tmp_path}/app.sqlite3"
    assert absolute["OPTIONS"]["timeout"] == 30


def test_a_sqlite_url_opens_a_working_database(tmp_path, django_db_blocker):
    path = tmp_path / "from-url.sqlite3"
    connections = ConnectionHandler({"default": database_settings({"DATABASE_URL": f"sqlite:///{path}"})})
    try:
        with django_db_blocker.unblock(), connections["default"].cursor() as cursor:
            cursor.execute("CREATE TABLE t (x integer)")
            cursor.execute("INSERT INTO t VALUES (41 + 1)")
            cursor.execute("SELECT x FROM t")
            assert cursor.fetchone() == (42,)
    finally:
        connections.close_all()
    assert path.exists()


def test_sqlite_path_is_the_embedded_default(tmp_path):
    assert database_settings({"SQLITE_PATH": str(tmp_path / "x.sqlite3")})["NAME"] == str(tmp_path / "x.sqlite3")
    default = database_settings({})
    assert default["ENGINE"] == "django.db.backends.sqlite3" and default["NAME"].endswith("flywheel.sqlite3")
    assert database_settings({"DATABASE_URL": "  "})["ENGINE"] == "django.db.backends.sqlite3"


@pytest.mark.parametrize("url, words", [
    ("mysql://fly@db.example/flywheel", "django.db.backends.mysql"),
    ("nosuchdb://fly@db.example/flywheel", "postgresql://"),
])
def test_unusable_urls_say_what_to_use(url, words):
    with pytest.raises(ValueError, match="sqlite:///path") as raised:
        database_settings({"DATABASE_URL": url})
    assert words in str(raised.value)


def test_the_suite_runs_on_the_database_url_it_was_given(settings):
    """``make test`` exports a postgresql:// DATABASE_URL; the settings in use are its parse."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        pytest.fail("DATABASE_URL is not set: run the suite with `make test`.")
    expected = database_settings({"DATABASE_URL": url})
    actual = settings.DATABASES["default"]
    assert actual["ENGINE"] == expected["ENGINE"] == "django.db.backends.postgresql"
    assert (actual["HOST"], str(actual["PORT"]), actual["USER"]) == (expected["HOST"], str(expected["PORT"]), expected["USER"])
