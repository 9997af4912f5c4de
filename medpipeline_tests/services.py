"""The local services some tests need (PostgreSQL, RabbitMQ, Redis): started when down, else a
clear skip."""

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

POSTGRES_URL = os.environ.get("MEDPIPELINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

RABBITMQ_URL = "pyamqp://guest:guest@127.0.0.1:5672//"
REDIS_URL = "redis://127.0.0.1:6379"


def _postgres_up() -> bool:
    import psycopg2

    try:
        psycopg2.connect(POSTGRES_URL, connect_timeout=3).close()
        return True
    except psycopg2.OperationalError:
        return False


def _rabbitmq_up() -> bool:
    from kombu import Connection

    try:
        with Connection(RABBITMQ_URL, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
        return True
    except Exception:  # noqa: BLE001 - any failure to connect means "not up"
        return False


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _ensure(name: str, is_up: Callable[[], bool], start: list[str], wait_seconds: float) -> None:
    if is_up():
        return
    if not shutil.which(start[0]):
        pytest.skip(f"{name} is not installed on this machine ({start[0]} not found)")
    subprocess.run(start, check=False, capture_output=True, timeout=60)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if is_up():
            return
        time.sleep(1)
    pytest.skip(f"{name} is installed but did not start ({' '.join(start)})")


def ensure_rabbitmq() -> str:
    """The broker URL of the local RabbitMQ (guest/guest on 5672), started if it is down."""
    _ensure("RabbitMQ", _rabbitmq_up, ["rabbitmq-server", "-detached"], wait_seconds=60)
    return RABBITMQ_URL


def ensure_redis() -> str:
    """The URL of the local Redis (6379), started if it is down."""
    _ensure("Redis", _redis_up, ["redis-server", "--daemonize", "yes"], wait_seconds=15)
    return REDIS_URL


def ensure_postgres() -> str:
    """The URL of the local PostgreSQL server's `test` database, the server started if down."""
    if _postgres_up():
        return POSTGRES_URL
    if not shutil.which("pg_ctlcluster") or not Path("/etc/postgresql").is_dir():
        pytest.skip("no PostgreSQL server is installed on this machine")
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    start = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"]
    _ensure("PostgreSQL", _postgres_up, start, wait_seconds=15)
    return POSTGRES_URL
