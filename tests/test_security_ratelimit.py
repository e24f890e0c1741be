"""The sign-in rate limit is shared by every worker process when REDIS_URL is set.

Each "worker" is a separate Python process that builds the app from the environment (REDIS_URL
as in production) and posts sign-in attempts with Flask's test client. Two processes never
share memory, so only a shared store (the real Redis on 127.0.0.1:6379) can make the second
one refuse what the first one counted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parent.parent
REDIS_DB = 15  # a database number the app never uses by default
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"

WORKER = """
import json, sys
from helpdesk import create_app

url, prefix, count, first_address = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
app = create_app({
    "TESTING": True,
    "SECRET_KEY": "worker",
    "SQLALCHEMY_DATABASE_URI": url,
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_KEY_PREFIX": prefix,
    "LOGIN_RATE_LIMIT": "3 per hour",
    "LOGIN_LOCKOUT_FAILURES": 1000,
})
client = app.test_client()
codes = [
    client.post(
        "/dang-nhap",
        data={"username": "victim", "password": f"guess-{i}"},
        environ_base={"REMOTE_ADDR": f"10.9.0.{first_address + i}"},
    ).status_code
    for i in range(count)
]
print(json.dumps({"storage": app.config["RATELIMIT_STORAGE_URI"], "codes": codes}))
"""


@pytest.fixture
def redis_prefix():
    """A key prefix of our own on a spare database; every key under it is deleted afterwards."""
    server = redis.Redis.from_url(REDIS_URL)
    try:
        server.ping()
    except redis.ConnectionError as exc:  # CI starts Redis (.ci/run): never a skip
        pytest.fail(f"Redis is not running on {REDIS_URL}: {exc}")
    prefix = "helpdesk-test-" + uuid.uuid4().hex[:10]
    yield prefix
    keys = list(server.scan_iter(match=f"*{prefix}*"))
    if keys:
        server.delete(*keys)
    assert not list(server.scan_iter(match=f"*{prefix}*"))
    server.close()


def _worker(app, prefix: str, count: int, first_address: int, redis_url: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    if redis_url:
        env["REDIS_URL"] = redis_url
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    done = subprocess.run(
        [sys.executable, "-c", WORKER, url, prefix, str(count), str(first_address)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_workers_share_the_sign_in_limit_through_redis(app, redis_prefix):
    first = _worker(app, redis_prefix, 2, first_address=1, redis_url=REDIS_URL)
    assert first["storage"] == REDIS_URL  # REDIS_URL in the environment picks the store
    second = _worker(app, redis_prefix, 3, first_address=50, redis_url=REDIS_URL)
    # The limit is 3 per account: worker 1 used 2, so worker 2 gets one more try, then 429.
    assert first["codes"] == [200, 200]
    assert second["codes"] == [200, 429, 429]
    keys = list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"*{redis_prefix}*"))
    assert keys, "the counters live in Redis"


def test_without_redis_each_worker_counts_alone(app, redis_prefix):
    # The control: in-memory counters are per process, which is why production needs REDIS_URL.
    first = _worker(app, redis_prefix, 2, first_address=1, redis_url=None)
    second = _worker(app, redis_prefix, 3, first_address=50, redis_url=None)
    assert first["storage"] == "memory://"
    assert first["codes"] == [200, 200]
    assert second["codes"] == [200, 200, 200]
