"""What the service benchmarks share (``bench_service_load.py``, ``bench_conduct_load.py``): a
scratch PostgreSQL database, a ``doseladder serve`` process group, logins, row counts,
percentiles, CPU time of processes, and a cheap load generator.

Also a small command line, run in a child process with the doseladder source tree under test on
``PYTHONPATH`` (so one benchmark run can compare two versions of the code)::

    python benchmarks/_service.py seed URL TRIALS       # migrate, signing key, seed (JSON out)
    python benchmarks/_service.py verify URL            # audit verify with key + anchors (JSON)
    python benchmarks/_service.py load SPEC_JSON        # the load generator (JSON out)

The load generator is ``asyncio`` with a minimal HTTP/1.1 keep-alive client
(:class:`HttpConnection`, one connection per client) in its own process (one for the writers,
one for the readers), so the clients neither share the server's interpreter nor need a thread
per client, and cost little CPU on the cores they share with the server; the CPU time it used
is reported with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

PG_HOST = os.environ.get("DOSELADDER_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("DOSELADDER_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("DOSELADDER_TEST_PG_USER", "postgres")
TARGET_P99 = 0.100
PASSWORD = "bench load password 2026"
BOIN = {"design": "boin", "num_doses": 4, "target": 0.3, "cohort_size": 3, "max_n": 30}
#: the trials' protocol by default (:func:`seed`): shipped, BOIN, with a DLT definition
DEFAULT_PROTOCOL = "tcr-t-cd19-bcma-sle-wuhan-union"
REPO_SRC = str(Path(__file__).resolve().parents[1] / "src")
HERE = str(Path(__file__).resolve())


# ------------------------------------------------------------------ database
def admin_conninfo(dbname: str = "postgres") -> str:
    return f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={dbname} connect_timeout=5"


@contextlib.contextmanager
def throwaway_audit_home(prefix: str = "doseladder-bench-") -> Iterator[Path]:
    """A temporary home for the audit signing key and anchor file (``XDG_CONFIG_HOME`` and
    ``XDG_STATE_HOME`` of this process and its children; an audit key or anchor location set in
    the environment is unset, so the throw-away ones are used), removed at the end."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")
    os.environ["XDG_STATE_HOME"] = str(home / "state")
    for name in ("DOSELADDER_AUDIT_KEY", "DOSELADDER_AUDIT_KEY_FILE", "DOSELADDER_AUDIT_ANCHORS"):
        os.environ.pop(name, None)
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def add_protocol_option(parser: argparse.ArgumentParser) -> None:
    """``--protocol``: the seeded trials' protocol (see :func:`seed`)."""
    parser.add_argument(
        "--protocol",
        default=DEFAULT_PROTOCOL,
        help="the trials' protocol: a shipped protocol's name, or 'design' for a bare BOIN "
        "design file without a DLT definition (default: %(default)s)",
    )


def add_in_process_options(parser: argparse.ArgumentParser) -> None:
    """The options of the in-process CPU benchmarks (``--rounds``, ``--compare``, ``--profile``
    and the hidden ``--child`` of :func:`measure_in_child`)."""
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", metavar="SRC")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)


@contextlib.contextmanager
def scratch_database(keep: bool = False) -> Iterator[tuple[str, str]]:
    """A new database ``doseladder_bench_<random>``: yields (name, SQLAlchemy URL); dropped at
    the end unless ``keep``."""
    name = f"doseladder_bench_{secrets.token_hex(5)}"
    with psycopg.connect(admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name, f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            with psycopg.connect(admin_conninfo(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def count(dbname: str, sql: str) -> int:
    with psycopg.connect(admin_conninfo(dbname)) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


def acknowledged(dbname: str, created: list[int]) -> tuple[int, int]:
    """(adverse-event ids acknowledged with a 201 but not stored, ids acknowledged twice)."""
    ids = set(created)
    stored = count(
        dbname,
        "SELECT count(*) FROM adverse_events WHERE id = ANY(ARRAY["
        + ",".join(map(str, sorted(ids) or [0]))
        + "]::bigint[])",
    )
    return len(ids) - stored, len(created) - len(ids)


# -------------------------------------------------------------------- server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def env_for(src: str | None) -> dict[str, str]:
    """The environment of a child process running the doseladder code in ``src``."""
    path = [src or REPO_SRC, os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}


def serve_options(src: str | None, write_concurrency: int | None) -> list[str]:
    """``serve`` options for a run: no access log and the write concurrency, when the code in
    ``src`` has them (an older tree compared with ``--compare`` may not)."""
    cli = Path(src or REPO_SRC) / "doseladder" / "cli" / "serve_commands.py"
    if "--no-access-log" not in cli.read_text():
        return []
    out = ["--no-access-log"]
    if write_concurrency is not None:
        out += ["--write-concurrency", str(write_concurrency)]
    return out


@contextlib.contextmanager
def running_server(
    cmd: list[str], env: dict[str, str], port: int, probe: str, timeout: float = 300
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``cmd`` (a server listening on ``port``) in its own process group, wait until
    ``GET {base}{probe}`` answers, yield (API base URL, process), stop the group at the end."""
    server = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"{base}{probe}", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"the server did not start: {' '.join(cmd)}") from None
                time.sleep(0.2)
        yield base, server
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:  # pragma: no cover
                os.killpg(server.pid, signal.SIGKILL)


@contextlib.contextmanager
def serve(
    url: str,
    *,
    workers: int = 1,
    src: str | None = None,
    timeout: float = 300,
    options: list[str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``doseladder serve --workers N [options]`` on a free port (its own process group,
    stopped at the end); yields (API base URL, process) once it answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "doseladder.cli.main", "serve", "--database", url,
           "--port", str(port), "--workers", str(workers), *(options or [])]  # fmt: skip
    with running_server(cmd, env_for(src), port, "/protocols", timeout) as running:
        yield running


# ------------------------------------------------------- in-process measurements (CPU per request)
def inline_worker_threads() -> None:
    """Run FastAPI's worker-thread calls inline, so that one thread does all of a request's work
    and ``time.process_time`` counts it (the in-process benchmarks ``bench_write_cpu.py`` and
    ``bench_read_cpu.py``).  With ``BENCH_REAL_THREADS=1`` in the environment they stay in
    FastAPI's worker threads instead: ``time.process_time`` then also counts the thread hops
    (every thread of the process), one client at a time."""
    if os.environ.get("BENCH_REAL_THREADS") == "1":
        return
    import fastapi.dependencies.utils
    import fastapi.routing

    async def inline(func: Any, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    fastapi.routing.run_in_threadpool = inline  # type: ignore[assignment]
    fastapi.dependencies.utils.run_in_threadpool = inline  # type: ignore[assignment]


@contextlib.asynccontextmanager
async def in_process_client(app: Any, user: str = "datamgr") -> AsyncIterator[httpx.AsyncClient]:
    """An API client calling ``app`` in-process (``httpx.ASGITransport``, the app's lifespan
    run), logged in as ``user``."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t/api/v1") as c:
            r = await c.post("/auth/login", json={"username": user, "password": PASSWORD})
            c.headers["Authorization"] = f"Bearer {r.json()['token']}"
            yield c


def measure_in_child(
    script: str, args: list[str], src: str | None, profile: bool, stderr_tail: int
) -> dict[str, Any]:
    """Run ``script --child ARGS`` with the doseladder code of ``src`` (``--compare SRC``) and
    return the JSON of its last line; with ``profile`` its profile (stderr's last
    ``stderr_tail`` characters) is printed."""
    cmd = [sys.executable, script, "--child", *args]
    if src:
        cmd += ["--compare", src]
    if profile:
        cmd.append("--profile")
    run = subprocess.run(cmd, env=env_for(src), check=True, capture_output=True, text=True)
    if profile:
        print(run.stderr[-stderr_tail:])
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def alternate_rounds(
    rounds: int,
    compare: str | None,
    run: Callable[[str | None, bool], dict[str, Any]],
    show: Callable[[int, str, dict[str, Any]], str],
) -> dict[str, list[dict[str, Any]]]:
    """``rounds`` rounds of ``run(src, profile)``, alternating ``compare``'s source tree (if
    given) and this checkout, the profile in the last round; prints the load average first and
    ``show(round, label, result)`` after each run; returns the results by label."""
    load = os.getloadavg()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {load[0]:.1f} {load[1]:.1f}")
    runs: list[tuple[str, str | None]] = [("this checkout", None)]
    if compare:
        runs = [(f"compare ({compare})", compare), *runs]
    results: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in runs}
    for i in range(rounds):
        for label, src in runs:
            r = run(src, i == rounds - 1)
            results[label].append(r)
            print(show(i + 1, label, r))
    return results


def login(base: str, user: str, password: str = PASSWORD) -> str:
    r = httpx.post(f"{base}/auth/login", json={"username": user, "password": password}, timeout=60)
    r.raise_for_status()
    value: str = r.json()["token"]
    return value


def quiet_latency(base: str, token: str, trial_ids: list[int], n: int) -> list[float]:
    """``GET /trials/{id}/recommendation`` timed ``n`` times after 10 warm-up requests."""
    out: list[float] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        for i in range(n + 10):
            t0 = time.perf_counter()
            c.get(f"/trials/{trial_ids[i % len(trial_ids)]}/recommendation").raise_for_status()
            if i >= 10:
                out.append(time.perf_counter() - t0)
    return out


# --------------------------------------------------------------- CPU and stats
_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each of ``pids`` so far (Linux ``/proc``)."""
    out: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    return out


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two :func:`cpu_seconds` readings (processes started in
    between count in full; processes that ended are lost)."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def group_pids(pgid: int) -> list[int]:
    """Every process of the process group ``pgid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    out.append(int(entry.name))
            except ProcessLookupError:
                continue
    return out


def postgres_pids() -> list[int]:
    """Every ``postgres`` process on this machine (the shared server: others' load too)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"n": len(values), "p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"n": len(values), "p50": q[49], "p95": q[94], "p99": q[98], "max": max(values)}


def show(name: str, values: list[float], target: float | None = None, width: int = 40) -> None:
    p = percentiles(values)
    line = (
        f"  {name:<{width}} n={p['n']:>6}  p50 {p['p50'] * 1e3:7.1f} ms  "
        f"p95 {p['p95'] * 1e3:7.1f} ms  p99 {p['p99'] * 1e3:7.1f} ms"
    )
    if target is not None:
        verdict = "meets" if p["p99"] < target else "MISSES"
        line += f"  -> {verdict} p99 < {target * 1e3:.0f} ms"
    print(line)


# -------------------------------------------------------------- load generator
def start_load(spec: dict[str, Any]) -> subprocess.Popen[str]:
    """A load-generator process for ``spec`` (see :func:`_load`); read its JSON with
    :func:`finish_load`."""
    return subprocess.Popen(
        [sys.executable, HERE, "load", json.dumps(spec)], stdout=subprocess.PIPE, text=True
    )


def finish_load(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the load generator failed ({proc.returncode})")
    result: dict[str, Any] = json.loads(out)
    return result


class HttpConnection:
    """A minimal HTTP/1.1 keep-alive client connection on asyncio streams: the load
    generator's client, far cheaper in CPU than a general-purpose client (it shares the
    machine's cores with the server).  Responses must carry ``Content-Length`` or be chunked."""

    def __init__(self, base: str, token: str) -> None:
        url = httpx.URL(base)
        self.host, self.port = url.host, url.port or 80
        self.prefix = url.path.rstrip("/")
        self.head = f"Host: {self.host}:{self.port}\r\nAuthorization: Bearer {token}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """(status, body) of one request; a broken connection is reopened for the next."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"{method} {self.prefix}{path} HTTP/1.1\r\n{self.head}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (body or b""))
        try:
            async with asyncio.timeout(60):
                return await self._response()
        except BaseException:
            await self.close()
            raise

    async def _response(self) -> tuple[int, bytes]:
        assert self.reader is not None
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            content = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append(await self.reader.readexactly(size + 2))
            await self.reader.readuntil(b"\r\n")
            content = b"".join(p[:-2] for p in parts)
        else:
            raise ConnectionError("response without Content-Length")
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, content

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec``: base, token, kind ("write" or "read"), clients, seconds, start_at (epoch),
    by_trial ({trial id: [patient ids]}), pause (s between a reader's requests) or interval
    (s from the start of one request to the next: a fixed rate, so faster answers do not
    bring more requests).

    Each client is one keep-alive connection (:class:`HttpConnection`).  A writer records the
    id of every adverse event answered 201 (``created``), so the caller can check that each
    acknowledged write is stored exactly once."""
    by_trial = {int(k): v for k, v in spec["by_trial"].items()}
    trial_ids = sorted(by_trial)
    n = int(spec["clients"])
    latency: list[float] = []
    errors: dict[str, int] = {}
    created: list[int] = []
    today = datetime.now(UTC).date().isoformat()
    pause = float(spec.get("pause") or 0.0)
    interval = float(spec.get("interval") or 0.0)
    writing = spec["kind"] == "write"
    await asyncio.sleep(max(0.0, float(spec["start_at"]) - time.time()))
    end = time.monotonic() + float(spec["seconds"])

    async def one(i: int) -> None:
        rng = random.Random(i + (0 if writing else 10_000))
        conn = HttpConnection(spec["base"], spec["token"])
        try:
            while time.monotonic() < end:
                trial = rng.choice(trial_ids)
                t0 = time.perf_counter()
                try:
                    if writing:
                        body = (
                            f'{{"term":"headache","grade":{rng.choice([1, 2])},'
                            f'"onset_date":"{today}"}}'
                        ).encode()
                        pid = rng.choice(by_trial[trial])
                        status, content = await conn.request(
                            "POST", f"/patients/{pid}/adverse-events", body
                        )
                        good = status == 201
                        if good:
                            created.append(int(json.loads(content)["id"]))
                    else:
                        status, _ = await conn.request("GET", f"/trials/{trial}/recommendation")
                        good = status == 200
                    label = str(status)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    good, label = False, type(exc).__name__
                latency.append(time.perf_counter() - t0)
                if not good:
                    errors[label] = errors.get(label, 0) + 1
                if interval:  # a fixed request rate, whatever the latency
                    await asyncio.sleep(max(0.0, interval - (time.perf_counter() - t0)))
                elif pause:
                    await asyncio.sleep(pause)
        finally:
            await conn.close()

    t_start = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(n)))
    duration = time.monotonic() - t_start
    ok = len(created) if writing else len(latency) - sum(errors.values())
    return {
        "ok": ok,
        "created": created,
        "errors": errors,
        "latency": latency,
        "duration": duration,
        "cpu": time.process_time(),
    }


# ----------------------------------------------- children running the code under test
def seed(url: str, n_trials: int, protocol: str = DEFAULT_PROTOCOL) -> dict[str, Any]:
    """Migrate, create the signing key, and seed users and ``n_trials`` open trials with three
    enrolled (and infused) patients each, through the services.

    ``protocol``: a shipped protocol's name (:data:`DEFAULT_PROTOCOL`, a BOIN trial with a DLT
    definition, so every adverse event gets its DLT proposal computed, as in a real trial), or
    ``design`` for :data:`BOIN`, a bare design file without a DLT definition (the figures in
    BENCHMARKS.md before 2026-12-05 18:40 UTC used it)."""
    from doseladder.conduct import Database, upgrade
    from doseladder.conduct.sealing import configured_sealer
    from doseladder.conduct.security import Role
    from doseladder.conduct.services import (
        decisions,
        opening_guard,
        patients,
        sites_users,
        trials,
    )

    if protocol == "design":
        content: dict[str, Any] = BOIN
        indication = None
    else:
        from doseladder.io.design_file import load_mapping
        from doseladder.protocols import protocol_from_dict, shipped_path

        # this checkout's file, so that a tree compared with --compare seeds the same content
        here = sorted((Path(REPO_SRC).parent / "protocols").glob(f"{protocol}.*"))
        content = load_mapping(here[0] if here else shipped_path(protocol))
        indication = protocol_from_dict(content).indications[0].id

    upgrade(url)
    configured_sealer(url, create_key=True)
    db = Database(url)
    try:

        def users(s: Any) -> dict[str, Any]:
            admin = sites_users.actor_for(
                sites_users.bootstrap_admin(s, username="admin", password=PASSWORD)
            )
            site = sites_users.create_site(s, admin, code="S1", name="Site 1")
            made: dict[str, Any] = {"site": site.id, "admin": admin}
            for name, role, site_id in (
                ("stat", Role.STATISTICIAN, None),
                ("inv", Role.INVESTIGATOR, site.id),
                ("datamgr", Role.DATA_MANAGER, None),
            ):
                u = sites_users.create_user(
                    s, admin, username=name, password=PASSWORD, role=role, site_id=site_id
                )
                made[name] = sites_users.actor_for(u)
            return made

        who = db.run(users)
        signers = {a.role.value: a for a in (who["admin"], who["stat"])}
        today = datetime.now(UTC).date()
        by_trial: dict[int, list[int]] = {}
        for i in range(n_trials):

            def trial(s: Any, i: int = i) -> int:
                t = trials.create_trial(
                    s, who["stat"], code=f"LOAD{i:02d}", title=f"Load {i}", protocol=content
                )
                trials.activate_site(s, who["stat"], t.id, who["site"])
                for status in opening_guard.checklist(s, who["admin"], t.id):
                    for role in status.missing:
                        opening_guard.acknowledge(
                            s, signers[role], t.id, item=status.item.id, reason="benchmark"
                        )
                trials.open_trial(s, who["stat"], t.id)
                return int(t.id)

            tid = db.run(trial)

            def decide(s: Any, tid: int = tid) -> Any:
                return decisions.record_decision(s, who["stat"], tid)

            d = db.run(decide)
            pids = []
            for _ in range(3):

                def enrol(s: Any, tid: int = tid, d: Any = d) -> int:
                    p = patients.register_patient(
                        s, who["inv"], tid, site_id=who["site"], indication=indication
                    )
                    patients.record_screening(s, who["inv"], p.id, screened_on=today, eligible=True)
                    patients.enrol(
                        s,
                        who["inv"],
                        p.id,
                        dose_level=d.next_dose,
                        decision_id=d.id,
                        infusion_date=today,
                    )
                    return int(p.id)

                pids.append(db.run(enrol))
            by_trial[tid] = pids
        return {"by_trial": by_trial}
    finally:
        db.dispose()


def verify(url: str) -> dict[str, Any]:
    """``audit verify`` of the database with the configured key and anchor file."""
    from doseladder.conduct import Database, audit
    from doseladder.conduct.sealing import configured_sealer

    sealer = configured_sealer(url)
    assert sealer is not None
    db = Database(url)
    try:
        with db.session() as s:
            r = audit.verify(
                s, keys={sealer.signer.key_id: sealer.signer.public_key}, anchors=sealer.anchors
            )
    finally:
        db.dispose()
    return {"ok": r.ok, "events": r.events, "problem": r.problem, "data": list(r.data_problems)}


def in_child(src: str | None, *args: str) -> dict[str, Any]:
    """Run a command of this module with the code in ``src`` (default: this checkout)."""
    out = subprocess.run(
        [sys.executable, HERE, *args], env=env_for(src), check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _main(argv: list[str]) -> int:
    cmd = argv[0] if argv else ""
    if cmd == "seed" and len(argv) in (3, 4):
        result = seed(argv[1], int(argv[2]), *argv[3:])
    elif cmd == "verify" and len(argv) == 2:
        result = verify(argv[1])
    elif cmd == "load" and len(argv) == 2:
        result = asyncio.run(_load(json.loads(argv[1])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
