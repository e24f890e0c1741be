"""Two app instances at once: per-token rate limits shared through Redis, idempotent creates
racing on one key over real HTTP, on the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis
import requests
from sqlalchemy import func, select

from helpdesk.api.models import IdempotencyKey
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket

from .conftest import LiveServer, token_for

REDIS_URL = "redis://127.0.0.1:6379/15"  # a database the app never uses by default
NEW = {"category": "activation_code", "requester_phone": "0912345678", "status": "open"}


@pytest.fixture
def redis_prefix():
    server = redis.Redis.from_url(REDIS_URL)
    try:
        server.ping()
    except redis.ConnectionError as exc:  # CI starts Redis (.ci/run): never a skip
        pytest.fail(f"Redis is not running on {REDIS_URL}: {exc}")
    prefix = "helpdesk-api-test-" + uuid.uuid4().hex[:10]
    yield prefix
    keys = list(server.scan_iter(match=f"*{prefix}*"))
    if keys:
        server.delete(*keys)
    server.close()


def test_the_rate_limit_is_per_token_and_shared_by_two_instances(app_factory, redis_prefix):
    config = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": redis_prefix,
        "API_RATE_LIMIT": "4 per minute",
    }
    first = app_factory("demo", **config)
    token = token_for("hoa.nt")
    other = token_for("tuan.pv")
    # A second instance on the same database, as a second gunicorn would be.
    second = app_factory("empty", **config, SQLALCHEMY_DATABASE_URI=first.config[
        "SQLALCHEMY_DATABASE_URI"])  # fmt: skip
    with LiveServer(first) as one, LiveServer(second) as two:
        codes = []
        for url in (one.url, two.url, one.url, two.url, one.url, two.url):
            response = requests.get(
                url + "/api/v1/tickets/count",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            codes.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["Retry-After"]) >= 1
                assert response.json()["error"]["code"] == "rate_limited"
        assert codes == [200, 200, 200, 200, 429, 429]
        # Another token has its own budget.
        response = requests.get(
            two.url + "/api/v1/tickets/count",
            headers={"Authorization": f"Bearer {other}"},
            timeout=30,
        )
        assert response.status_code == 200
    assert list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"*{redis_prefix}*"))


def test_racing_retries_with_one_key_make_one_ticket(demo_app):
    token = token_for("hoa.nt")
    before = db.session.scalar(select(func.count()).select_from(Ticket))
    results: list[tuple[int, str]] = []
    start = threading.Barrier(8)

    def client(url: str):
        start.wait()
        response = requests.post(
            url + "/api/v1/tickets",
            json=NEW,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "race-1"},
            timeout=60,
        )
        results.append((response.status_code, response.json().get("ref", "")))

    with LiveServer(demo_app) as server:
        threads = [threading.Thread(target=client, args=(server.url,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == before + 1
    statuses = sorted(code for code, _ref in results)
    assert len(results) == 8 and statuses.count(201) == 1, results
    # The others got the same ticket (200), or were told the first is still being made (409).
    assert set(statuses) <= {200, 201, 409}
    refs = {ref for code, ref in results if code in (200, 201)}
    assert len(refs) == 1
    assert db.session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
