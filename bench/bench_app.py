"""Measure the app at scale, side by side with a trivial Flask view (the floor) and with
django-helpdesk (the peer), all served by gunicorn with 2 workers on 127.0.0.1.

    make bench                              # 100,000 tickets: SQLite, PostgreSQL and the peer
    make bench TICKETS=1000000              # what the README's table reports
    make bench-peer                         # the peer and the floor alone
    .venv/bin/python bench/bench_app.py --tickets 1000000 --databases sqlite,postgresql \
        --peer sqlite --runs 40 --markdown /tmp/table.md

Databases are generated once per size (bench/generate.py) and kept: SQLite files under
bench/out/, PostgreSQL in the scratch database ``helpdesk_bench`` (``helpdesk_bench_peer`` for
the peer), dropped and re-created when the size changes or with --fresh. Each operation is
requested --runs times after a warm-up by one signed-in client, one request at a time (latency,
not throughput); slow operations stop early after --budget seconds (never before 3 runs).
Figures: median and 95th percentile of the whole HTTP exchange, SQL statements per request,
peak resident memory per worker; each time also as a multiple of the floor's median.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "peer"))
sys.path.insert(0, str(ROOT))

from httpbench import Client, Result, Server, free_port, hidden_value, measure, not_built  # noqa: E402

PG_BASE = "postgresql://postgres@127.0.0.1:5432"
APP_PG_DB = "helpdesk_bench"
PEER_PG_DB = "helpdesk_bench_peer"
USERNAME = "thang.vd"  # the demo supervisor: every page measured is open to that role
WORDS_NAME = "Phạm Thu Trang"  # a caller's full name (both data sets draw from the same lists)
WORDS_SUMMARY = "trễ hạn"  # words of a category/summary

# (key, label, target p95 in ms, kind of target)
OPS = [
    ("list_default", "List, first page (default)", 50, "list"),
    ("list_status_month", "List, status + month", 50, "list"),
    ("list_unit", "List, one unit", 50, "list"),
    ("search_phone", "Search: phone number", 80, "search"),
    ("search_dossier", "Search: dossier code", 80, "search"),
    ("search_words", "Search: words of a name", 80, "search"),
    ("search_summary", "Search: words of a summary", 80, "search"),
    ("detail", "Ticket detail", 30, "other"),
    ("create", "Create a ticket (POST)", 30, "other"),
    ("caller", "Quick entry: caller lookup", 30, "other"),
    ("dashboard", "Dashboard, month view", 200, "other"),
    ("dashboard_quarter", "Dashboard, quarter view", 200, "other"),
    ("report", "Month report PDF", 1500, "other"),
    ("report_year", "Year report PDF", 3000, "other"),
]
PEER_EXTRA = [
    ("report_index", "django-helpdesk: reports index"),
    ("report_days", "django-helpdesk: report days-until-closed by month"),
]
PEER_EQUIVALENT = {
    "list_default": "datatables JSON, open + reopened",
    "list_status_month": "datatables JSON, resolved, created in one month",
    "list_unit": "datatables JSON, one queue",
    "search_phone": "datatables JSON, search_string",
    "search_dossier": "datatables JSON, search_string",
    "search_words": "datatables JSON, search_string",
    "search_summary": "datatables JSON, search_string",
    "detail": "tickets/<id>/",
    "create": "tickets/submit/ (POST)",
    "caller": "(no equivalent)",
    "dashboard": "dashboard/",
    "dashboard_quarter": "(no equivalent)",
    "report": "reports/queuemonth/ (HTML)",
    "report_year": "(no equivalent)",
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="of our app: sqlite,postgresql or none"
    )
    parser.add_argument(
        "--peer", default="sqlite", help="django-helpdesk on: sqlite, postgresql, both or none"
    )
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument(
        "--peer-runs", type=int, default=0, help="runs of the peer (default: --runs; --budget caps)"
    )
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per operation")
    parser.add_argument("--fresh", action="store_true", help="regenerate the databases")
    parser.add_argument(
        "--sqlite-journal",
        default="wal",
        choices=["wal", "delete"],
        help="journal mode of the SQLite files (a property of the file; default wal, as a "
        "server with several workers should run SQLite; the peer's file is WAL too)",
    )
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    parser.add_argument(
        "--months", type=int, default=60, help="history generated (10 years: 120 months)"
    )
    parser.add_argument(
        "--pg-database", default="helpdesk_bench", help="our PostgreSQL scratch database's name"
    )
    args = parser.parse_args(argv)
    args.databases = [d for d in args.databases.split(",") if d and d != "none"]
    args.peer = {"both": ["sqlite", "postgresql"], "none": []}.get(args.peer, [args.peer])
    return args


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


# -- our app ------------------------------------------------------------------------------------


def database_url(kind: str, tickets: int, peer: bool = False) -> str:
    if kind == "sqlite":
        name = f"peer-{tickets}" if peer else f"helpdesk-{tickets}"
        return f"sqlite:///{OUT / (name + '.sqlite3')}"
    return f"{PG_BASE}/{PEER_PG_DB if peer else APP_PG_DB}"


def _recreate_pg(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def ensure_app_data(
    kind: str, tickets: int, fresh: bool, journal: str = "wal", months: int = 60
) -> str:
    """Generate our database for this size once (bench/generate.py); migrate it every run."""
    url = database_url(kind, tickets)
    marker = OUT / f"helpdesk-{kind}-{APP_PG_DB if kind == 'postgresql' else tickets}.json"
    known = json.loads(marker.read_text()) if marker.exists() else {}
    wanted = {"tickets": tickets, "url": url, "months": months}
    if fresh or any(known.get(k) != v for k, v in wanted.items()):
        if kind == "sqlite":
            path = Path(url[len("sqlite:///") :])
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        else:
            _recreate_pg(APP_PG_DB)
        log(f"{kind}: generating {tickets:,} tickets (bench/generate.py)")
        started = time.monotonic()
        generator = [sys.executable, str(BENCH / "generate.py"), "--tickets", str(tickets)]
        generator += ["--months", str(months)]
        subprocess.run([*generator, "--database-url", url], check=True, cwd=ROOT)
        marker.write_text(json.dumps(wanted))
        log(f"{kind}: generated in {time.monotonic() - started:.0f} s")
    env = {**os.environ, "DATABASE_URL": url, "HELPDESK_DEMO": "1"}
    flask = [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"]
    subprocess.run(flask, check=True, cwd=ROOT, env=env, capture_output=True)
    if kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:///") :])
        try:
            conn.execute(f"PRAGMA journal_mode={journal}")
        finally:
            conn.close()
    return url


def app_probes(url: str, tickets: int) -> dict:
    """Values the benchmark looks up, from the generated tickets only (ids 1..N, ORDER BY id):
    the same on SQLite and PostgreSQL (generate.py writes the same rows from the same seed),
    the same every run (tickets created while measuring are deleted after it, and ignored
    here), and handed to the peer, which loads these very tickets (bench/peer/load.py)."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("HELPDESK_DEMO", "1")
    from sqlalchemy import func, select

    from helpdesk import create_app
    from helpdesk.cli import DEMO_PASSWORDS
    from helpdesk.extensions import db
    from helpdesk.models import Ticket, Unit

    app = create_app()
    with app.app_context():
        generated = Ticket.id <= tickets
        middle = db.session.scalar(
            select(Ticket).where(generated, Ticket.id >= tickets // 2).order_by(Ticket.id).limit(1)
        )
        dossier = db.session.scalar(
            select(Ticket.dossier_code)
            .where(generated, Ticket.id >= tickets // 3, Ticket.dossier_code.is_not(None))
            .order_by(Ticket.id)
            .limit(1)
        )
        months = list(
            db.session.scalars(
                select(Ticket.opened_month)
                .where(generated)
                .distinct()
                .order_by(Ticket.opened_month)
            )
        )
        # The department with the most tickets (ties: by code): the peer's queue of the same unit.
        n = func.count(Ticket.id)
        unit_id, unit_code = db.session.execute(
            select(Unit.id, Unit.code)
            .join(Ticket, Ticket.unit_id == Unit.id)
            .where(Unit.level == "department", generated)
            .group_by(Unit.id, Unit.code)
            .order_by(n.desc(), Unit.code)
            .limit(1)
        ).one()
        built = {
            "dashboard": "dashboard.month" in app.view_functions,
            "report": "reports.pdf" in app.view_functions,
        }
        probes = {
            "ticket_id": middle.id,
            "phone": middle.requester_phone,
            "dossier": dossier,
            "unit_id": unit_id,
            "unit_code": unit_code,
            "month": months[-4] if len(months) >= 4 else months[0],
            "last_month": months[-2] if len(months) >= 2 else months[-1],
            "password": DEMO_PASSWORDS[USERNAME][2],
            "built": built,
            "dialect": db.engine.dialect.name,
            "server_version": ".".join(str(v) for v in db.engine.dialect.server_version_info),
        }
        db.session.remove()
        db.engine.dispose()
    return probes


def forget_created(url: str, tickets: int) -> int:
    """Delete the tickets the run created (ids above the generated N), their timelines and
    the counters they moved: the kept database is the generated one again."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("HELPDESK_DEMO", "1")
    from sqlalchemy import delete, func, select

    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.models import Ticket, TicketCounter, TicketEvent

    app = create_app()
    with app.app_context():
        created = Ticket.id > tickets
        months = list(db.session.scalars(select(Ticket.opened_month).where(created).distinct()))
        db.session.execute(delete(TicketEvent).where(TicketEvent.ticket_id > tickets))
        gone = db.session.execute(delete(Ticket).where(created)).rowcount
        for month in months:
            left = db.session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.opened_month == month)
            )
            counter = db.session.get(TicketCounter, month)
            if counter is not None:
                counter.last = left
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return gone


def peer_probes(shared: dict, loaded: dict) -> dict:
    """The peer's side of every compared pair: our phone, dossier, words, ticket and month, and
    its queue of our unit."""
    month = date.fromisoformat(shared["month"] + "-01")
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return {
        "phone": shared["phone"],
        "dossier": shared["dossier"],
        "words": WORDS_NAME,
        "summary_words": WORDS_SUMMARY,
        "ticket_id": shared["ticket_id"],
        "queue_id": loaded["queues"][shared["unit_code"].lower()],
        "month_from": month.isoformat(),
        "month_to": following.isoformat(),
        "username": loaded["username"],
        "password": loaded["password"],
    }


def gunicorn(module: str, port: int, chdir: Path) -> list[str]:
    return [
        str(Path(sys.executable).parent / "gunicorn"),
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "300",
        "--chdir",
        str(chdir),
        module,
    ]


def sign_in(client: Client, username: str, password: str) -> None:
    page = client.get("/dang-nhap")
    token = hidden_value(page.text, "csrf_token")
    done = client.post(
        "/dang-nhap", {"csrf_token": token, "username": username, "password": password}
    )
    if done.status != 302:
        raise RuntimeError(f"sign-in failed: HTTP {done.status}")


def measure_app(kind: str, url: str, args, floor) -> tuple[dict[str, Result], dict]:
    gone = forget_created(url, args.tickets)  # an interrupted run's leftovers
    if gone:
        log(f"{kind}: deleted {gone} tickets an earlier run created")
    probes = app_probes(url, args.tickets)
    port = free_port()
    env = {
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_hex(32),
        "HELPDESK_DEMO": "",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    results: dict[str, Result] = {}
    log(f"{kind}: serving the app on 127.0.0.1:{port}")
    logfile = OUT / f"gunicorn-{kind}.log"
    with Server(
        gunicorn("wsgi_bench:app", port, BENCH), port, env=env, log=logfile, ready_path="/dang-nhap"
    ) as server:
        client = Client(port)
        sign_in(client, USERNAME, probes["password"])

        def get(path: str):
            return lambda _i: client.get(path)

        from urllib.parse import urlencode

        def listing(**params):
            return get("/yeu-cau/" + ("?" + urlencode(params, doseq=True) if params else ""))

        ops = {
            "list_default": listing(),
            "list_status_month": listing(status="resolved", month=probes["month"]),
            "list_unit": listing(unit=probes["unit_id"]),
            "search_phone": listing(q=probes["phone"]),
            "search_dossier": listing(q=probes["dossier"]),
            "search_words": listing(q=WORDS_NAME),
            "search_summary": listing(q=WORDS_SUMMARY),
            "detail": get(f"/yeu-cau/{probes['ticket_id']}"),
            "caller": get("/yeu-cau/nguoi-goi?" + urlencode({"phone": probes["phone"]})),
        }
        token = hidden_value(client.get("/yeu-cau/moi").text, "csrf_token")

        def create(i: int):
            return client.post(
                "/yeu-cau/moi",
                {
                    "csrf_token": token,
                    "requester_phone": f"0909{i % 1000000:06d}",
                    "requester_name": "Nguyễn Văn Bench",
                    "category": "dossier_status",
                    "unit": "",
                    "unit_id": str(probes["unit_id"]),
                    "dossier_code": "",
                    "summary": "Hỏi trạng thái hồ sơ",
                    "details": "",
                    "resolution_note": "Đã hướng dẫn tra cứu.",
                    "channel": "phone",
                    "opened_at": "",
                    "save_close": "Lưu và đóng",
                },
            )

        ops["create"] = create
        last = probes["last_month"]
        quarter = f"{last[:4]}-Q{(int(last[5:]) - 1) // 3 + 1}"
        year = str(int(last[:4]) - 1)  # the last whole year
        if probes["built"]["dashboard"]:
            ops["dashboard"] = get(f"/tong-hop/{last}")
            ops["dashboard_quarter"] = get(f"/tong-hop/{quarter}")
        if probes["built"]["report"]:
            ops["report"] = get(f"/bao-cao/{last}/tai-ve.pdf")
            ops["report_year"] = get(f"/bao-cao/{year}/tai-ve.pdf")
        for key, _label, _target, _kind in OPS:
            if key not in ops:
                results[key] = not_built(key)
                continue
            expect = (302,) if key == "create" else (200,)
            results[key] = measure(
                key,
                ops[key],
                runs=args.runs,
                warmup=3,
                budget=args.budget,
                expect=expect,
                floor=floor,
            )
            r = results[key]
            log(
                f"  {kind} {key}: median {r.median_ms:.1f} ms, p95 {r.p95_ms:.1f} ms "
                f"(n={r.runs}, floor {r.floor_ms:.2f} ms)"
            )
        memory = server.worker_peak_rss_mb()
    gone = forget_created(url, args.tickets)
    log(f"{kind}: deleted the {gone} tickets this run created")
    return results, {"memory_mb": memory, **probes}


class Floor:
    """A trivial Flask view under gunicorn (2 workers), served for the whole run: requested
    after every measured request of either app (``measure(..., floor=...)``)."""

    def __enter__(self):
        port = free_port()
        self.server = Server(
            gunicorn("floor:app", port, BENCH), port, log=OUT / "gunicorn-floor.log"
        )
        self.server.__enter__()
        self.client = Client(port)
        for _ in range(20):  # warm
            self.client.get("/")
        return self

    def __call__(self, _i: int):
        return self.client.get("/")

    def __exit__(self, *exc):
        self.server.__exit__(*exc)

    def alone(self, runs: int) -> Result:
        return measure("floor", self, runs=runs, warmup=10)


# -- the table ----------------------------------------------------------------------------------


MIN_P95_RUNS = 20  # fewer runs: the slowest is shown as "max", not as a 95th percentile


def cell(result: Result | None, floor: Result) -> str:
    if result is None:
        return "–"
    if not result.ok:
        return result.note or "n/a"
    base = result.floor_ms or floor.median_ms
    multiple = result.median_ms / base
    tail = "p95" if result.runs >= MIN_P95_RUNS else "max"
    slow = result.p95_ms if result.runs >= MIN_P95_RUNS else max(result.times) * 1000
    return (
        f"{result.median_ms:,.1f} / {tail} {slow:,.1f} ms, n={result.runs} "
        f"(×{multiple:,.0f} of {base:.2f} ms)"
    )


def verdict(result: Result | None, target: float) -> str:
    if result is None or not result.ok:
        return ""
    if result.runs < MIN_P95_RUNS:
        return "?"  # too few runs for a 95th percentile
    return "✓" if result.p95_ms < target else "✗"


def table(args, floor: Result, ours: dict, peers: dict, meta: dict) -> str:
    kinds = list(ours)
    lines = [
        f"Tickets: {args.tickets:,}. Each cell: median / p95 of the whole HTTP request, the "
        f'number of runs n ("max" instead of p95 under {MIN_P95_RUNS} runs), and the median as '
        f"a multiple of the floor: a trivial Flask view requested right after each measured "
        f"request (interleaved; its median over the run alone: {floor.median_ms:.2f} ms). Then "
        f"SQL statements per request. Both apps serve the same tickets (the peer loads ours), "
        f"and every compared pair asks for the same phone, dossier, words, unit and month.",
        "",
    ]
    head = ["Operation", "Target (p95)"]
    for kind in kinds:
        label = f"sqlite ({meta['journal'].upper()})" if kind == "sqlite" else kind
        head += [f"Helpdesk {label}", "SQL"]
    for kind in peers:
        head += [f"django-helpdesk {meta['peer_version']} ({kind})", "SQL", f"peer ÷ ours ({kind})"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] * len(head)) + "|")
    for key, label, target, _kind in OPS:
        row = [label, f"< {target:,} ms"]
        for kind in kinds:
            r = ours[kind].get(key)
            row += [f"{cell(r, floor)} {verdict(r, target)}".strip(), _queries(r)]
        for kind, peer in peers.items():
            p = peer.get(key)
            mine = ours.get(kind, {}).get(key)
            ratio = "–"
            if p is not None and p.ok and mine is not None and mine.ok:
                value = p.median_ms / mine.median_ms
                ratio = f"{value:,.0f}×" if value >= 10 else f"{value:.1f}×"
            equivalent = PEER_EQUIVALENT.get(key, "")
            row += [f"{cell(p, floor)}<br>{equivalent}" if p else equivalent, _queries(p), ratio]
        lines.append("| " + " | ".join(row) + " |")
    for key, label in PEER_EXTRA:
        if not peers:
            break
        row = [label, ""] + ["", ""] * len(kinds)
        for peer in peers.values():
            row += [cell(peer.get(key), floor), _queries(peer.get(key)), ""]
        lines.append("| " + " | ".join(row) + " |")
    row = ["Trivial view (floor)", ""]
    for _kind in kinds:
        row += [f"{floor.median_ms:.2f} / {floor.p95_ms:.2f} ms (Flask)", ""]
    for peer in peers.values():
        row += [cell(peer.get("floor"), floor) + " (Django)", "", ""]
    lines.append("| " + " | ".join(row) + " |")
    row = ["Peak memory per worker", ""]
    for kind in kinds:
        row += [_mb(meta["ours"][kind].get("memory_mb")), ""]
    for kind in peers:
        row += [_mb(meta["peers"][kind].get("memory_mb")), "", ""]
    lines.append("| " + " | ".join(row) + " |")
    lines += ["", machine_line(meta)]
    return "\n".join(lines)


def _queries(result: Result | None) -> str:
    if result is None or result.query_count is None:
        return ""
    return str(result.query_count)


def _mb(value) -> str:
    return f"{value:,.0f} MiB" if value else "?"


def machine() -> dict:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem_kb = int(line.split()[1])
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
    }


def machine_line(meta: dict) -> str:
    m = meta["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in meta.get("servers", {}).items())
    loads = "; ".join(
        f"{k} {v[0]:.1f} → {v[1]:.1f}" for k, v in meta.get("load", {}).items() if len(v) == 2
    )
    return (
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM, {m['os']}, "
        f"Python {m['python']}; {versions + '; ' if versions else ''}"
        f"gunicorn 2 sync workers, one client on loopback, "
        f"{meta['date']}. 1-minute load average before → after each part (anything above "
        f"~1 is other work sharing the 2 cores): {loads or 'n/a'}."
    )


def postgres_reachable() -> bool:
    import psycopg

    try:
        with psycopg.connect(f"{PG_BASE}/postgres", connect_timeout=5):
            return True
    except psycopg.OperationalError:
        return False


def main(argv=None) -> int:
    global APP_PG_DB
    args = parse_args(argv)
    APP_PG_DB = args.pg_database
    OUT.mkdir(parents=True, exist_ok=True)
    if "postgresql" in args.databases + args.peer and not postgres_reachable():
        log(f"PostgreSQL is not reachable at {PG_BASE}: measuring SQLite only")
        args.databases = [d for d in args.databases if d != "postgresql"]
        args.peer = [d for d in args.peer if d != "postgresql"]
    meta: dict = {
        "machine": machine(),
        "date": f"{datetime.now():%Y-%m-%d}",
        "ours": {},
        "peers": {},
        "servers": {},
        "load": {},
        "journal": args.sqlite_journal,
    }
    with Floor() as floor_server:
        floor = floor_server.alone(max(args.runs, 200))
        log(f"floor (trivial Flask view) alone: median {floor.median_ms:.2f} ms")
        # Our generated data: measured, and the source the peer loads (the same tickets).
        source = (args.databases or ["sqlite"])[0]
        urls = {
            kind: ensure_app_data(kind, args.tickets, args.fresh, args.sqlite_journal, args.months)
            for kind in dict.fromkeys([*args.databases, source])
        }
        ours: dict[str, dict[str, Result]] = {}
        for kind in args.databases:
            loads = [os.getloadavg()[0]]
            ours[kind], meta["ours"][kind] = measure_app(kind, urls[kind], args, floor_server)
            loads.append(os.getloadavg()[0])
            meta["load"][kind] = loads
            meta["servers"][kind] = meta["ours"][kind]["server_version"]
        shared = app_probes(urls[source], args.tickets)
        for kind, values in meta["ours"].items():
            same = all(values[k] == shared[k] for k in ("ticket_id", "phone", "dossier", "month"))
            if not same:
                log(f"warning: {kind} holds other tickets than {source} (regenerate with --fresh)")
        peers: dict[str, dict[str, Result]] = {}
        if args.peer:
            import bench_peer

            bench_peer.ensure_venv(log)
            for kind in args.peer:
                url = database_url(kind, args.tickets, peer=True)
                loaded = bench_peer.ensure_data(
                    args.tickets, url, OUT / f"peer-{kind}.json", args.fresh, urls[source], log
                )
                probes = peer_probes(shared, loaded)
                log(f"peer ({kind}): serving django-helpdesk")
                loads = [os.getloadavg()[0]]
                peers[kind], meta["peers"][kind] = bench_peer.measure_peer(
                    probes,
                    url,
                    args.peer_runs or args.runs,
                    args.budget,
                    OUT,
                    log,
                    floor=floor_server,
                    tickets=args.tickets,
                )
                loads.append(os.getloadavg()[0])
                meta["load"][f"peer {kind}"] = loads
            meta["peer_version"] = next(iter(meta["peers"].values()))["version"]
    text = table(args, floor, ours, peers, meta)
    print()
    print(text)
    stamp = f"{args.tickets}-{datetime.now():%Y%m%d-%H%M}"
    (OUT / f"bench-{stamp}.md").write_text(text + "\n", "utf-8")
    raw = {
        "meta": meta,
        "floor": floor.times,
        "ours": {k: {op: r.times for op, r in v.items()} for k, v in ours.items()},
        "peers": {k: {op: r.times for op, r in v.items()} for k, v in peers.items()},
    }
    (OUT / f"bench-{stamp}.json").write_text(json.dumps(raw, default=str), "utf-8")
    if args.markdown:
        args.markdown.write_text(text + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
