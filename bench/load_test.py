"""Load test: N operators log and search tickets against gunicorn (4 workers) on PostgreSQL.

    .venv/bin/python bench/load_test.py                 # 20 operators, 120 s (make load)
    .venv/bin/python bench/load_test.py --seconds 20 --operators 5

What it does, on loopback only (127.0.0.1), every loop bounded by time and by a request cap:
1. creates a scratch PostgreSQL database (dropped at the end unless --keep), migrates it, loads
   the demo data set and adds the operators ``load.op01``... with a password;
2. starts ``gunicorn -w 4 app:app`` on a free port, as in production: CSRF on, a real
   SECRET_KEY, PostgreSQL (and REDIS_URL for the sign-in limit when --redis-url is given);
3. each simulated operator (a thread with its own cookie jar) signs in through the sign-in page,
   then, until the time is up: opens quick entry, posts a new ticket (a unique phone number),
   and every other call searches the ticket list by the caller's phone or name;
4. prints requests, errors and p50/p95/p99 latency per operation, then compares the tickets
   acknowledged (answered with the redirect after saving) with the tickets in the database.

Exit status 1 on any error or any lost (or extra) ticket.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
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
MAX_REQUESTS_PER_OPERATOR = 100_000  # a bound even if the server answered instantly


@dataclass
class Stats:
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)  # the phone number of each saved ticket
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, operation: str, seconds: float) -> None:
        with self.lock:
            self.times[operation].append(seconds)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def prepare_database(admin_url: str, name: str, operators: int) -> str:
    """Create, migrate and fill the scratch database; return its SQLAlchemy URL."""
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
    from helpdesk.auth.models import User
    from helpdesk.cli import DEMO_DIR
    from helpdesk.extensions import db
    from helpdesk.imports import run_import
    from helpdesk.imports.engine import collect_files

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "load-test-setup"})
    with app.app_context():
        upgrade()
        report = run_import(collect_files([DEMO_DIR]))
        if not report.ok:
            raise SystemExit("demo import failed: " + "; ".join(map(str, report.errors[:5])))
        for i in range(1, operators + 1):
            user = User(
                username=f"load.op{i:02d}", full_name=f"Điều hành viên {i}", role="operator"
            )
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
        db.engine.dispose()
    return url


def drop_database(admin_url: str, name: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    base = make_url(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def operator(number: int, port: int, deadline: float, think: float, stats: Stats, seed: int):
    """One operator's working session; anything unexpected is counted as an error."""
    try:
        _operator(number, port, deadline, think, stats, seed)
    except Exception as exc:  # noqa: BLE001 - reported with the results, never silently lost
        stats.error(f"op{number:02d} crashed: {type(exc).__name__}: {exc}")


def _operator(number: int, port: int, deadline: float, think: float, stats: Stats, seed: int):
    """Sign in, then log and search calls until the deadline."""
    rng = random.Random(seed * 1000 + number)
    client = Client(port, timeout=60)

    def timed(operation: str, call, expect: tuple[int, ...]):
        try:
            response = call()
        except OSError as exc:
            stats.error(f"op{number:02d} {operation}: {type(exc).__name__}: {exc}")
            return None
        if response.status not in expect:
            stats.error(f"op{number:02d} {operation}: HTTP {response.status}")
            return None
        stats.add(operation, response.seconds)
        return response

    page = timed("sign-in page", lambda: client.get("/dang-nhap"), (200,))
    if page is None:
        return
    form = {
        "csrf_token": hidden_value(page.text, "csrf_token"),
        "username": f"load.op{number:02d}",
        "password": PASSWORD,
    }
    if timed("sign in", lambda: client.post("/dang-nhap", form), (302,)) is None:
        return
    for call in range(MAX_REQUESTS_PER_OPERATOR // 3):
        if time.monotonic() >= deadline:
            break
        quick = timed("quick entry page", lambda: client.get("/yeu-cau/moi"), (200,))
        if quick is None:
            continue
        phone = f"09{number:02d}{call:06d}"
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
        saved = timed("save ticket", lambda t=ticket: client.post("/yeu-cau/moi", t), (302,))
        if saved is not None:
            if "/yeu-cau/moi" not in saved.headers.get("location", ""):
                stats.error(f"op{number:02d} save ticket: redirected to {saved.headers}")
            else:
                with stats.lock:
                    stats.acknowledged.append(phone)
        if call % 2 == 0:
            query = phone if rng.random() < 0.5 else name.split()[-1]
            path = "/yeu-cau/?" + urlencode({"q": query})
            timed("search list", lambda p=path: client.get(p), (200,))
        if think:
            time.sleep(rng.uniform(0, 2 * think))


def tickets_in_database(url: str) -> tuple[list[str], int]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        phones = conn.execute(
            sa.text(
                "SELECT t.requester_phone FROM tickets t JOIN users u ON u.id = t.operator_id "
                "WHERE u.username LIKE 'load.op%'"
            )
        ).scalars()
        phones = list(phones)
        refs = conn.scalar(sa.text("SELECT count(DISTINCT ref) FROM tickets"))
        total = conn.scalar(sa.text("SELECT count(*) FROM tickets"))
    engine.dispose()
    if refs != total:
        print(f"!! {total - refs} duplicate ticket references")
    return phones, total


def report(stats: Stats, seconds: float) -> int:
    total = sum(len(v) for v in stats.times.values())
    heads = ("requests", "p50 ms", "p95 ms", "p99 ms", "max ms")
    print(f"\n{'operation':<18} {heads[0]:>9} " + " ".join(f"{h:>8}" for h in heads[1:]))
    for operation, times in stats.times.items():
        print(
            f"{operation:<18} {len(times):>9} {percentile(times, 0.50) * 1000:>8.0f} "
            f"{percentile(times, 0.95) * 1000:>8.0f} {percentile(times, 0.99) * 1000:>8.0f} "
            f"{max(times) * 1000:>8.0f}"
        )
    print(f"{'all':<18} {total:>9}   ({total / seconds:.1f} requests/s over {seconds:.0f} s)")
    print(f"errors: {len(stats.errors)}")
    for message in stats.errors[:10]:
        print("  " + message)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--operators", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("LOAD_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL URL allowed to CREATE DATABASE (the scratch database is made there)",
    )
    parser.add_argument("--redis-url", default=None, help="share the sign-in limit via Redis")
    parser.add_argument("--think", type=float, default=0.05, help="mean pause between calls, s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    if not args.admin_url.startswith("postgresql"):
        parser.error("--admin-url must be a postgresql:// URL")

    name = f"helpdesk_load_{os.getpid()}"
    port = free_port()
    log = ROOT / "bench" / "out" / "load_gunicorn.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    print(f"scratch database {name}; gunicorn -w {args.workers} on 127.0.0.1:{port}; log {log}")
    started = time.monotonic()
    url = prepare_database(args.admin_url, name, args.operators)
    print(f"database ready in {time.monotonic() - started:.1f} s")
    env = {
        "DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://", 1),
        "SECRET_KEY": secrets.token_hex(32),
        "HELPDESK_DEMO": "",
        # Every operator signs in from 127.0.0.1: the per-address limit is for the internet.
        "LOGIN_RATE_LIMIT": "1000 per minute",
    }
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    gunicorn = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "--workers", str(args.workers),
        "--bind", f"127.0.0.1:{port}",
        "--timeout", "120",
        "app:app",
    ]  # fmt: skip
    stats = Stats()
    try:
        with Server(gunicorn, port, env=env, cwd=ROOT, log=log, ready_path="/dang-nhap"):
            deadline = time.monotonic() + args.seconds
            began = time.monotonic()
            threads = [
                threading.Thread(
                    target=operator,
                    args=(i, port, deadline, args.think, stats, args.seed),
                    daemon=True,
                )
                for i in range(1, args.operators + 1)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=args.seconds + 180)
            elapsed = time.monotonic() - began
            alive = sum(t.is_alive() for t in threads)
            if alive:
                stats.error(f"{alive} operator(s) still running after the deadline")
        print(f"\n{args.operators} operators, {args.workers} gunicorn workers, {elapsed:.0f} s")
        report(stats, elapsed)
        phones, total = tickets_in_database(url)
        acknowledged = sorted(stats.acknowledged)
        stored = sorted(phones)
        lost = len(set(acknowledged) - set(stored))
        extra = len(stored) - len(acknowledged)
        print(
            f"tickets acknowledged: {len(acknowledged)}; in the database: {len(stored)} "
            f"(lost {lost}, unacknowledged extra {max(extra, 0)}); all tickets: {total}"
        )
        ok = not stats.errors and acknowledged == stored and not alive
        print("RESULT: " + ("OK" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept database {name}")
        else:
            drop_database(args.admin_url, name)


if __name__ == "__main__":
    sys.exit(main())
