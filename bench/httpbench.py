"""What every benchmark here shares: a gunicorn server on loopback, a signed-in HTTP client, and
timing with median, 95th percentile and SQL queries per request.

Only 127.0.0.1 is ever contacted. Every loop is bounded by a number of runs and a time budget.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 20 runs is the 19th fastest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-int(fraction * 1000) * len(ordered) // 1000)))
    return ordered[rank - 1]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def queries(self) -> int | None:
        value = self.headers.get("x-bench-queries")
        return int(value) if value and value.isdigit() else None


@dataclass
class Client:
    """A tiny cookie-keeping HTTP/1.1 client for one loopback server (no redirects followed)."""

    port: int
    timeout: float = 900.0
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        form: dict | list | None = None,
        headers: dict | None = None,
        json: object = None,
    ) -> Response:
        body = urlencode(form, doseq=True).encode() if form is not None else None
        sent = {"Host": f"{HOST}:{self.port}", "Connection": "close"}
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if json is not None:
            import json as json_module

            body = json_module.dumps(json, ensure_ascii=False).encode("utf-8")
            sent["Content-Type"] = "application/json"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        sent.update(headers or {})
        started = time.perf_counter()
        conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=sent)
            raw = conn.getresponse()
            data = raw.read()
            seconds = time.perf_counter() - started
            got = {k.lower(): v for k, v in raw.getheaders()}
            for header in raw.msg.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    if morsel["max-age"] == "0" or morsel.value == "":
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
        finally:
            conn.close()
        return Response(raw.status, got, data, seconds)

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, form: dict | list, **kw) -> Response:
        return self.request("POST", path, form=form, **kw)


def hidden_value(html: str, name: str) -> str:
    """The value of a hidden input (a CSRF token) in a page."""
    for tag in re.findall(r"<input[^>]*>", html):
        if re.search(rf'name="{re.escape(name)}"', tag):
            found = re.search(r'value="([^"]*)"', tag)
            if found:
                return unescape(found.group(1))
    raise LookupError(f"no input named {name!r} in the page")


class Server:
    """Run ``argv`` (a gunicorn command line) until the port answers; stop it on exit."""

    def __init__(
        self,
        argv: list[str],
        port: int,
        env: dict | None = None,
        cwd: str | Path | None = None,
        log: Path | None = None,
        ready_path: str = "/",
    ):
        self.argv, self.port, self.cwd, self.log, self.ready_path = argv, port, cwd, log, ready_path
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen | None = None
        self._log_file = None

    def __enter__(self) -> Server:
        out = self._log_file = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(  # one process group: stopped by its own id on exit
            self.argv, env=self.env, cwd=self.cwd, stdout=out, stderr=out, start_new_session=True
        )
        deadline = time.monotonic() + 120
        client = Client(self.port, timeout=60)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: see {self.log}")
            try:
                client.get(self.ready_path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"server did not answer on port {self.port}") from None
                time.sleep(0.2)
        return self

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def worker_peak_rss_mb(self) -> float | None:
        """The largest peak resident memory (VmHWM) among the workers, in MiB."""
        peaks = []
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
            if found:
                peaks.append(int(found.group(1)) / 1024)
        return max(peaks) if peaks else None

    def __exit__(self, *_exc) -> None:
        try:
            self._stop()
        finally:
            if self._log_file not in (None, subprocess.DEVNULL):
                self._log_file.close()

    def _stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # gunicorn's master stops its workers
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group we started, by its id
            self.proc.wait(timeout=10)


@dataclass
class Result:
    label: str
    times: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    note: str = ""
    # The floor (a trivial view) requested right after each measured request: what the machine
    # gave a request at that moment, so a multiple of it does not drift with the machine's load.
    floor_times: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.times)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def p95_ms(self) -> float:
        return percentile(self.times, 0.95) * 1000

    @property
    def floor_ms(self) -> float | None:
        return statistics.median(self.floor_times) * 1000 if self.floor_times else None

    @property
    def runs(self) -> int:
        return len(self.times)

    @property
    def query_count(self) -> int | None:
        return max(self.queries) if self.queries else None


def measure(
    label: str,
    call: Callable[[int], Response],
    runs: int,
    warmup: int = 2,
    budget: float = 60.0,
    expect: tuple[int, ...] = (200,),
    min_runs: int = 3,
    floor: Callable[[int], Response] | None = None,
) -> Result:
    """Time ``call(i)`` ``runs`` times after ``warmup`` calls, stopping early past ``budget``
    seconds (but never before ``min_runs`` runs, unless past three budgets). A warm-up call that
    takes more than half the budget counts as a run: a cold start is noise only for fast calls.
    Each status must be in ``expect``. ``floor``: a trivial request made after each measured
    one (interleaved), timed into ``floor_times``."""
    result = Result(label)
    started = time.monotonic()
    warming = warmup
    for i in range(warmup + runs):
        response = call(i)
        if response.status not in expect:
            raise RuntimeError(f"{label}: HTTP {response.status}: {response.text[:300]}")
        if warming and response.seconds < budget / 2:
            warming -= 1
            continue
        warming = 0
        result.times.append(response.seconds)
        if response.queries is not None:
            result.queries.append(response.queries)
        if floor is not None:
            result.floor_times.append(floor(i).seconds)
        elapsed = time.monotonic() - started
        if len(result.times) >= runs:
            break
        if (len(result.times) >= min_runs and elapsed > budget) or elapsed > 3 * budget:
            break
    return result


def not_built(label: str, why: str = "n/a (not built)") -> Result:
    return Result(label, note=why)
