"""Load test: operators and API clients against two gunicorn instances sharing PostgreSQL and
Redis, for five minutes; then again with one instance killed and restarted midway.

    .venv/bin/python bench/load_test.py                  # make load: both scenarios, 5 min each
    .venv/bin/python bench/load_test.py --seconds 30 --operators 20 --api-clients 5 \
        --scenarios steady

What it does, on loopback only (127.0.0.1), every loop bounded by time and by a request cap:
1. creates a scratch PostgreSQL database per scenario (dropped at the end unless --keep),
   migrates it, loads the demo data set, adds the operators ``load.op001``... with a password
   and the API clients ``load.api01``... (supervisors, each with an API token);
2. starts ``--instances`` gunicorn servers (``--workers`` sync workers each), as in production:
   CSRF on, one real SECRET_KEY, one PostgreSQL database (which holds the sign-in sessions and
   the idempotency keys) and one Redis (REDIS_URL: the sign-in and API rate limits);
3. each operator (a thread with its own cookie jar, which every instance honours) signs in, then
   until the time is up: opens quick entry, posts a new ticket (a unique phone number), and
   every other call searches the ticket list by the caller's phone or name;
4. each API client creates tickets with an ``Idempotency-Key`` (retrying a failed or timed-out
   POST with the same key), lists tickets following ``next_cursor`` for up to three pages, and
   reads the month's counts;
5. requests go to the instances in turn; a refused connection (an instance down) goes to the
   next one, as a load balancer with health checks would send it. An operator whose save got
   no answer looks the caller up (caller history) before saving again, as a person would;
6. ``kill`` scenario: at half time one instance is killed (SIGKILL, master and workers), and
   started again ``--down`` seconds later;
7. prints requests, errors and p50/p95/p99 latency per kind of request, then compares the
   tickets acknowledged (operators: the redirect after saving; API: 201, or 200 for a replayed
   key) with the tickets stored: none lost, none doubled.

Exit status 1 on any error or any lost or doubled ticket.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from httpbench import Client, Server, free_port, hidden_value, percentile  # noqa: E402

PASSWORD = "Tai-Kiem-Tra-2023!"
CATEGORIES = (
    "account_registration",
    "activation_code",
    "dossier_status",
    "dossier_not_received",
    "late_dossier",
    "original_documents",
    "civil_status_entry",
)
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hoa", "Lan", "Linh", "Thảo", "Tuấn", "Yến"]
MAX_REQUESTS_PER_CLIENT = 100_000  # a bound even if the server answered instantly
API = "/api/v1"


@dataclass
class Stats:
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    # The phone number of each ticket acknowledged, by whom (operator form or API).
    acknowledged: list[str] = field(default_factory=list)
    failovers: int = 0  # requests sent to another instance because one refused the connection
    retried_saves: int = 0  # saves that got no answer and were checked, then sent again or not
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, operation: str, seconds: float) -> None:
        with self.lock:
            self.times[operation].append(seconds)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


class Router:
    """The instances' ports, taken in turn; a refused connection moves on to the next one."""

    def __init__(self, ports: list[int], stats: Stats):
        self.ports, self.stats = ports, stats
        self._next = 0
        self._lock = threading.Lock()

    def send(self, client: Client, call, idempotent: bool = True):
        """``call()`` on the next instance; on a refused connection (nothing was sent), on the
        others. A connection lost after sending is sent again only for an idempotent request;
        for a save it is raised: the caller checks what was stored (``_save``) or retries
        with the same idempotency key (``_api_create``)."""
        with self._lock:
            first = self._next
            self._next = (self._next + 1) % len(self.ports)
        last_error: OSError | None = None
        retried = (ConnectionRefusedError, ConnectionResetError, BrokenPipeError)
        for step in range(len(self.ports) * 3):
            client.port = self.ports[(first + step) % len(self.ports)]
            try:
                return call()
            except retried as exc:
                if not idempotent and not isinstance(exc, ConnectionRefusedError):
                    raise
                last_error = exc
                with self.stats.lock:
                    self.stats.failovers += 1
                time.sleep(0.05 * (step + 1))
        raise last_error or OSError("no instance answered")


def prepare_database(admin_url: str, name: str, operators: int, api_clients: int):
    """Create, migrate and fill the scratch database; its URL and the API clients' tokens."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    base = make_url(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)

    from flask_migrate import upgrade

    from helpdesk import create_app
    from helpdesk.api.tokens import create_token
    from helpdesk.auth.models import User
    from helpdesk.cli import DEMO_DIR
    from helpdesk.extensions import db
    from helpdesk.imports import run_import
    from helpdesk.imports.engine import collect_files

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load-test-setup"})
    tokens = []
    with app.app_context():
        upgrade()
        report = run_import(collect_files([DEMO_DIR]))
        if not report.ok:
            raise SystemExit("demo import failed: " + "; ".join(map(str, report.errors[:5])))
        hashed = None
        for i in range(1, operators + 1):
            user = User(
                username=f"load.op{i:03d}", full_name=f"Điều hành viên {i}", role="operator"
            )
            if hashed is None:
                user.set_password(PASSWORD)
                hashed = user.password_hash  # one hash for all: argon2 costs 0,2 s each
            user.password_hash = hashed
            db.session.add(user)
        for i in range(1, api_clients + 1):
            user = User(username=f"load.api{i:02d}", full_name=f"Hệ thống {i}", role="supervisor")
            db.session.add(user)
            db.session.flush()
            tokens.append(create_token(user, name="load test", days=1)[1])
        db.session.commit()
        db.engine.dispose()
    return url, tokens


def drop_database(admin_url: str, name: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    base = make_url(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def guarded(label: str, stats: Stats, body, *args):
    """Run one simulated user; anything unexpected is counted as an error, never lost."""
    try:
        body(*args)
    except Exception as exc:  # noqa: BLE001 - reported with the results
        stats.error(f"{label} crashed: {type(exc).__name__}: {exc}")


def _timed(stats: Stats, who: str, operation: str, call, expect: tuple[int, ...]):
    try:
        response = call()
    except OSError as exc:
        stats.error(f"{who} {operation}: {type(exc).__name__}: {exc}")
        return None
    if response.status not in expect:
        stats.error(f"{who} {operation}: HTTP {response.status} {response.text[:120]!r}")
        return None
    stats.add(operation, response.seconds)
    return response


def operator(number: int, router: Router, deadline: float, think: float, stats: Stats, seed: int):
    """Sign in, then log and search calls until the deadline."""
    rng = random.Random(seed * 1000 + number)
    client = Client(router.ports[0], timeout=60)
    who = f"op{number:03d}"

    def timed(operation, call, expect):
        return _timed(stats, who, operation, lambda: router.send(client, call), expect)

    time.sleep(rng.uniform(0, 5))  # people do not all sign in at the same second
    page = timed("sign-in page", lambda: client.get("/dang-nhap"), (200,))
    if page is None:
        return
    form = {
        "csrf_token": hidden_value(page.text, "csrf_token"),
        "username": f"load.op{number:03d}",
        "password": PASSWORD,
    }
    if timed("sign in", lambda: client.post("/dang-nhap", form), (302,)) is None:
        return
    for call in range(MAX_REQUESTS_PER_CLIENT // 3):
        if time.monotonic() >= deadline:
            break
        quick = timed("quick entry page", lambda: client.get("/yeu-cau/moi"), (200,))
        if quick is None:
            continue
        phone = f"09{number:03d}{call:05d}"
        name = f"{rng.choice(FAMILY)} Văn {rng.choice(GIVEN)}"
        ticket = {
            "csrf_token": hidden_value(quick.text, "csrf_token"),
            "requester_phone": phone,
            "requester_name": name,
            "category": rng.choice(CATEGORIES),
            "channel": rng.choice(["phone", "phone", "phone", "zalo", "walk_in"]),
            "summary": "Hỏi về tình trạng hồ sơ",
            "unit": "",
            "unit_id": "",
            "dossier_code": "",
            "details": "",
            "resolution_note": "",
            "opened_at": "",
            "save_close": "Lưu và đóng",
        }
        saved = _save(client, router, ticket, phone, stats, who)
        if saved:
            with stats.lock:
                stats.acknowledged.append(phone)
        if call % 2 == 0:
            query = phone if rng.random() < 0.5 else name.split()[-1]
            path = "/yeu-cau/?" + urlencode({"q": query})
            timed("search list", lambda p=path: client.get(p), (200,))
        if think:
            time.sleep(rng.uniform(0, 2 * think))


def _save(client: Client, router: Router, ticket: dict, phone: str, stats: Stats, who: str):
    """Post the form; if no answer came back (the instance died meanwhile), look the caller up
    and post again only if the ticket is not there: what an operator does after an error."""
    for _attempt in range(3):
        try:
            saved = router.send(
                client, lambda: client.post("/yeu-cau/moi", ticket), idempotent=False
            )
        except OSError:
            with stats.lock:
                stats.retried_saves += 1
            path = "/yeu-cau/nguoi-goi?" + urlencode({"phone": phone})
            found = _timed(stats, who, "caller lookup", lambda p=path: router.send(
                client, lambda: client.get(p)), (200,))  # fmt: skip
            if found is not None and json.loads(found.body).get("total"):
                return True  # saved before the answer was lost (each save has its own phone)
            time.sleep(0.5)
            continue
        if saved.status != 302 or "/yeu-cau/moi" not in saved.headers.get("location", ""):
            stats.error(f"{who} save ticket: HTTP {saved.status} {saved.headers}")
            return False
        stats.add("save ticket", saved.seconds)
        return True
    stats.error(f"{who} save ticket: no answer after three tries")
    return False


def api_client(
    number: int,
    router: Router,
    token: str,
    month: str,
    deadline: float,
    think: float,
    stats: Stats,
    seed: int,
):
    """Create tickets with idempotency keys, page through lists, read counts."""
    rng = random.Random(seed * 7919 + number)
    client = Client(router.ports[0], timeout=30)
    auth = {"Authorization": f"Bearer {token}"}
    who = f"api{number:02d}"

    def timed(operation, call, expect):
        return _timed(stats, who, operation, lambda: router.send(client, call), expect)

    time.sleep(rng.uniform(0, 5))
    for call in range(MAX_REQUESTS_PER_CLIENT // 5):
        if time.monotonic() >= deadline:
            break
        phone = f"08{number:02d}{call:06d}"
        body = {
            "category": rng.choice(CATEGORIES),
            "requester_phone": phone,
            "requester_name": f"{rng.choice(FAMILY)} Thị {rng.choice(GIVEN)}",
            "summary": "Cuộc gọi từ tổng đài 1022",
            "channel": "phone",
        }
        key = {"Idempotency-Key": f"load-{seed}-{number}-{call}", **auth}
        if _api_create(client, router, body, key, stats, who):
            with stats.lock:
                stats.acknowledged.append(phone)
        cursor = None
        for _page in range(3):
            query = {"limit": 50, "status": "closed"} | ({"cursor": cursor} if cursor else {})
            path = f"{API}/tickets?" + urlencode(query)
            page = timed("api list page", lambda p=path: client.get(p, headers=auth), (200,))
            if page is None:
                break
            cursor = json.loads(page.body).get("next_cursor")
            if not cursor:
                break
        by = rng.choice(["status", "channel", "category", "unit"])
        path = f"{API}/counts?" + urlencode({"month": month, "by": by})
        timed("api counts", lambda p=path: client.get(p, headers=auth), (200,))
        if think:
            time.sleep(rng.uniform(0, 2 * think))


def _api_create(client, router, body, headers, stats, who) -> bool:
    """POST with the key; a timeout, a lost connection or a 409 (the first attempt still
    running) is retried with the same key, which never makes a second ticket."""
    for attempt in range(6):
        try:
            done = router.send(
                client,
                lambda: client.post(f"{API}/tickets", None, headers=headers, json=body),
                idempotent=False,  # retried below, with the same key
            )
        except OSError:
            with stats.lock:
                stats.retried_saves += 1
            time.sleep(0.2 * (attempt + 1))
            continue
        if done.status == 409:
            time.sleep(0.2 * (attempt + 1))
            continue
        if done.status in (200, 201):
            stats.add("api create", done.seconds)
            if done.status == 200:
                stats.add("api create (replayed key)", done.seconds)
            return True
        stats.error(f"{who} api create: HTTP {done.status} {done.text[:160]!r}")
        return False
    stats.error(f"{who} api create: no answer after six tries")
    return False


def tickets_in_database(url: str) -> tuple[list[str], int, int, int]:
    """Phones of the load test's tickets, all tickets, and duplicate references."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        phones = conn.execute(
            sa.text(
                "SELECT t.requester_phone FROM tickets t JOIN users u ON u.id = t.operator_id "
                "WHERE u.username LIKE 'load.%'"
            )
        ).scalars()
        phones = list(phones)
        refs = conn.scalar(sa.text("SELECT count(DISTINCT ref) FROM tickets"))
        total = conn.scalar(sa.text("SELECT count(*) FROM tickets"))
    engine.dispose()
    # The kept counts (tickets.counts) still equal a fresh count after the load: every table.
    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.tickets.counts import differences

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load-test-check"})
    with app.app_context():
        drift = len(differences())
        db.engine.dispose()
    return phones, total, (total - refs), drift


def report(stats: Stats, seconds: float) -> int:
    total = sum(len(v) for v in stats.times.values())
    heads = ("requests", "p50 ms", "p95 ms", "p99 ms", "max ms")
    print(f"\n{'kind of request':<26} {heads[0]:>9} " + " ".join(f"{h:>8}" for h in heads[1:]))
    for operation, times in sorted(stats.times.items()):
        print(
            f"{operation:<26} {len(times):>9} {percentile(times, 0.50) * 1000:>8.0f} "
            f"{percentile(times, 0.95) * 1000:>8.0f} {percentile(times, 0.99) * 1000:>8.0f} "
            f"{max(times) * 1000:>8.0f}"
        )
    print(f"{'all':<26} {total:>9}   ({total / seconds:.1f} requests/s over {seconds:.0f} s)")
    print(
        f"failovers (refused by a down instance, sent to the other): {stats.failovers}; "
        f"saves without an answer (checked, then sent again or found): {stats.retried_saves}"
    )
    print(f"errors: {len(stats.errors)}")
    for message in stats.errors[:10]:
        print("  " + message)
    return total


def run_scenario(args, scenario: str) -> bool:
    name = f"helpdesk_load_{os.getpid()}_{scenario}"
    ports = [free_port() for _ in range(args.instances)]
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"\n== scenario {scenario}: {args.operators} operators, {args.api_clients} API clients, "
        f"{args.seconds:.0f} s; {args.instances} gunicorn instances x {args.workers} workers on "
        f"ports {ports}; scratch database {name}; Redis {args.redis_url}"
    )
    started = time.monotonic()
    url, tokens = prepare_database(args.admin_url, name, args.operators, args.api_clients)
    print(f"database ready in {time.monotonic() - started:.1f} s")
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()  # the limits of an earlier run
    env = {
        "DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://", 1),
        "SECRET_KEY": secrets.token_hex(32),  # one key: every instance reads every cookie
        "HELPDESK_DEMO": "",
        "REDIS_URL": args.redis_url,
        # Every client comes from 127.0.0.1: the per-address sign-in limit is for the internet.
        "LOGIN_RATE_LIMIT": "10000 per minute",
        "API_RATE_LIMIT": "10000 per minute",
    }

    def instance(i: int) -> Server:
        argv = [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "--workers", str(args.workers),
            "--bind", f"127.0.0.1:{ports[i]}",
            "--timeout", "120",
            "--backlog", "2048",
            "app:app",
        ]  # fmt: skip
        log = out / f"load_gunicorn_{scenario}_{i + 1}.log"
        log.write_text("")
        return Server(argv, ports[i], env=env, cwd=ROOT, log=log, ready_path="/dang-nhap")

    stats = Stats()
    router = Router(ports, stats)
    servers = [instance(i) for i in range(args.instances)]
    month = time.strftime("%Y-%m")
    try:
        for server in servers:
            server.__enter__()
        deadline = time.monotonic() + args.seconds
        began = time.monotonic()
        threads = [
            threading.Thread(
                target=guarded,
                args=(f"op{i:03d}", stats, operator, i, router, deadline, args.think, stats,
                      args.seed),
                daemon=True,
            )
            for i in range(1, args.operators + 1)
        ] + [
            threading.Thread(
                target=guarded,
                args=(f"api{i:02d}", stats, api_client, i, router, tokens[i - 1], month,
                      deadline, args.api_think, stats, args.seed),
                daemon=True,
            )
            for i in range(1, args.api_clients + 1)
        ]  # fmt: skip
        for thread in threads:
            thread.start()
        if scenario == "kill":
            time.sleep(args.seconds / 2)
            victim = servers[-1]
            print(f"[{time.monotonic() - began:.0f} s] killing instance {len(servers)} (SIGKILL)")
            os.killpg(victim.proc.pid, signal.SIGKILL)
            victim.proc.wait()
            time.sleep(args.down)
            servers[-1] = instance(len(servers) - 1)
            servers[-1].__enter__()
            print(f"[{time.monotonic() - began:.0f} s] instance {len(servers)} serving again")
        for thread in threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0) + 180)
        elapsed = time.monotonic() - began
        alive = sum(t.is_alive() for t in threads)
        if alive:
            stats.error(f"{alive} client(s) still running after the deadline")
    finally:
        for server in servers:
            try:
                server.__exit__(None, None, None)
            except (OSError, ProcessLookupError):
                pass
    try:
        load = os.getloadavg()
        print(f"\n{scenario}: {elapsed:.0f} s; load average at the end {load[0]:.1f}")
        report(stats, elapsed)
        phones, total, duplicate_refs, drift = tickets_in_database(url)
        acknowledged = sorted(stats.acknowledged)
        stored = sorted(phones)
        lost = len(set(acknowledged) - set(stored))
        doubled = len(stored) - len(set(stored))
        extra = len(set(stored) - set(acknowledged))
        print(
            f"tickets acknowledged: {len(acknowledged)}; stored: {len(stored)} (lost {lost}, "
            f"doubled {doubled}, stored but never acknowledged {extra}); all tickets: {total}; "
            f"duplicate references: {duplicate_refs}; kept counts differing from a fresh "
            f"count: {drift}"
        )
        ok = (
            not stats.errors
            and acknowledged == stored
            and not alive
            and not duplicate_refs
            and not drift
        )
        print(f"RESULT ({scenario}): " + ("OK" if ok else "FAILED"))
        return ok
    finally:
        if args.keep:
            print(f"kept database {name}")
        else:
            drop_database(args.admin_url, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--operators", type=int, default=200)
    parser.add_argument("--api-clients", type=int, default=50)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers per instance")
    parser.add_argument("--scenarios", default="steady,kill", help="steady, kill or both")
    parser.add_argument("--down", type=float, default=10.0, help="seconds an instance stays down")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("LOAD_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL URL allowed to CREATE DATABASE (the scratch database is made there)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="the Redis database the instances share (flushed at the start of each scenario)",
    )
    parser.add_argument("--think", type=float, default=2.0, help="operators' mean pause, s")
    parser.add_argument("--api-think", type=float, default=1.0, help="API clients' mean pause")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = parser.parse_args()
    if not args.admin_url.startswith("postgresql"):
        parser.error("--admin-url must be a postgresql:// URL")
    scenarios = [s for s in args.scenarios.split(",") if s]
    if not set(scenarios) <= {"steady", "kill"}:
        parser.error("--scenarios: steady, kill")
    if "kill" in scenarios and args.instances < 2:
        parser.error("the kill scenario needs two instances")
    results = {scenario: run_scenario(args, scenario) for scenario in scenarios}
    print("\n" + "; ".join(f"{k}: {'OK' if v else 'FAILED'}" for k, v in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
