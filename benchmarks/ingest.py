"""Telemetry ingestion throughput: HTTP → Kafka → consumer → PostgreSQL, end to end, side by
side with the raw rates of the two systems it is built on.

    scripts/services.sh start
    eval "$(scripts/services.sh env)"
    .venv/bin/python benchmarks/ingest.py --events 50000 --batch 100

What it does, in one run:

1. Uses a dedicated database (``--database``, default ``flywheel_bench_ingest``) on the
   server of ``DATABASE_URL``: creates it, migrates it, and empties its telemetry tables
   (it holds nothing else). Fresh Kafka topics of its own (``bench.ingest.<run id>``, with
   ``--partitions`` partitions), so neither the tests nor other runs see its traffic.
2. Raw Kafka producer rates, sent by ``telemetry.bus.kafka_producer`` (the app's producer
   settings: acks=all, idempotence, same compression) to a topic of their own, as fast as
   one producer takes them, timed until every record is acknowledged: (a) one record per
   event (``event_normalize`` + ``message_encode`` of each event: the baseline the aim is
   measured against); (a') the same in a process where kafka-python cannot import
   ``crc32c`` and computes record CRCs in pure Python, as every run did before ``crc32c``
   joined the dependencies (the ratio against it compares with those runs); and (b) the
   exact records the app publishes for these events POSTed ``--batch`` at a time
   (``messages_encode``: one per request and session).
3. Raw PostgreSQL COPY rate: the same rows (decoded from those records exactly as the
   consumer does) COPYed with psycopg 3 into the real ``telemetry_event`` table (same
   indexes, same WAL) under an organization of their own, pre-formatted as COPY text,
   one transaction per ``--copy-chunk`` rows.
4. End to end: the app as deployed, ``config.wsgi`` under gunicorn with ``--workers``
   gthread workers of ``--threads`` threads (``--server threaded``: Django's threaded WSGI
   server in this process instead), with the Kafka bus; ``--clients`` client threads (in
   this process; ``--clients-process``: in one of their own) POST ``--batch``-event
   batches (bodies encoded beforehand) to ``/api/v1/events``; ``--consumers``
   ``manage.py consume_telemetry`` processes store them. Timed from the first POST until
   the last event of the run's organization is counted in PostgreSQL. A warm-up batch
   (another organization) first makes sure the consumer has joined its group and every
   worker has opened its connections.
5. Latency of one batch POST (request → 202, which includes the broker's acks): p50/p99
   under the load of step 4, and for ``--latency-requests`` sequential requests of 100
   events on an idle pipeline.

Prints the rates, the ratios end-to-end / raw COPY, end-to-end / each raw producer rate
and end-to-end / min(raw COPY, raw producer with a record per event) (the aim: at least
50%), and writes them to
``artifacts/benchmarks/ingest.json``. The machine is shared and small, so absolute numbers
are noisy; the ratios, measured in the same run, are what to compare.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._postgres import bench_database_url, database_ensure  # noqa: E402
from config.server_process import free_port, server_process  # noqa: E402

REQUIRED_ENV = ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
EVENT_COLUMNS = (
    "org_id", "event_id", "type", "ts", "received_at", "session_id", "task_id", "user_hash",
    "model_name", "model_version", "os", "shell", "ide", "ide_version", "language", "repo_id",
    "tool", "payload",
)
VERSIONS = {"bench-coder-v1": 0.35, "bench-coder-v2": 0.7}
LATENCY_BATCH = 100


# --- configuration --------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000, help="events per phase (default 50,000)")
    parser.add_argument("--batch", type=int, default=100, help="events per POST in the end-to-end run (default 100)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP client threads (default 4)")
    parser.add_argument("--server", choices=["gunicorn", "threaded"], default="gunicorn",
                        help="gunicorn: config.wsgi under gunicorn, --workers gthread workers, as deployed (default); "
                             "threaded: Django's threaded WSGI server in this process (telemetry.local_app)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--clients-process", action="store_true",
                        help="run the client threads in a process of their own (default: in the app's process)")
    parser.add_argument("--consumers", type=int, default=1,
                        help="consume_telemetry processes in the group (default 1; at most --partitions; see docs/operations.md)")
    parser.add_argument("--max-records", type=int, default=None, help="consume_telemetry --max-records (default: its own default)")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of the benchmark topics (default 4)")
    parser.add_argument("--copy-chunk", type=int, default=10_000, help="rows per COPY transaction (default 10,000)")
    parser.add_argument("--latency-requests", type=int, default=100, help="sequential 100-event POSTs on an idle pipeline (default 100)")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--database", default="flywheel_bench_ingest", help="dedicated database on DATABASE_URL's server (emptied each run)")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up if the end-to-end run takes longer (s)")
    parser.add_argument("--skip-raw", action="store_true", help="end-to-end only (no raw producer / COPY phases)")
    parser.add_argument("--profile-consumer", metavar="PATH", help="run the (first) consumer under cProfile, writing its stats to PATH")
    parser.add_argument("--output", default=str(ROOT / "artifacts" / "benchmarks" / "ingest.json"))
    args = parser.parse_args(argv)
    if args.batch < 1 or args.batch > 1000:
        parser.error("--batch must be within 1..1000 (the API's limit)")
    if args.events < args.batch:
        parser.error("--events must be at least --batch")
    return args


def require_services() -> dict[str, str]:
    missing = [name for name in REQUIRED_ENV if not os.environ.get(name)]
    if missing:
        raise SystemExit(
            f"benchmarks/ingest.py needs the real services; {', '.join(missing)} not set.\n"
            "Start them and export their settings first:\n"
            "    scripts/services.sh start\n"
            "    eval \"$(scripts/services.sh env)\""
        )
    if urlparse(os.environ["DATABASE_URL"]).scheme not in {"postgres", "postgresql"}:
        raise SystemExit("DATABASE_URL must point at PostgreSQL: run `eval \"$(scripts/services.sh env)\"` first.")
    return {name: os.environ[name] for name in REQUIRED_ENV}






def django_setup(*, database_url: str, topics: dict[str, str]) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.update(topics)
    # The benchmark measures throughput, not the per-key rate limit (still checked, in Redis).
    os.environ["TELEMETRY_INGEST_RATE"] = "100000000/minute"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("FLYWHEEL_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from django.db import connection

    with connection.cursor() as cursor:
        # A dedicated database: every run starts from empty telemetry tables.
        cursor.execute("TRUNCATE telemetry_organization CASCADE")


def topics_create(bootstrap: str, names: list[str], partitions: int) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
    try:
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names])
    finally:
        admin.close()


def topics_delete(bootstrap: str, names: list[str]) -> None:
    from kafka.admin import KafkaAdminClient

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
        try:
            admin.delete_topics(names)
        finally:
            admin.close()
    except Exception as exc:  # noqa: BLE001 - cleanup only; a leftover topic harms nothing
        print(f"note: could not delete the benchmark topics ({exc})")


# --- data ---------------------------------------------------------------------------------


def events_make(*, seed: int, count: int) -> list[dict[str, Any]]:
    """``count`` events of realistic synthetic sessions (whole sessions, then cut)."""
    from telemetry.synthetic import burst

    events: list[dict[str, Any]] = []
    round_ = 0
    while len(events) < count:
        events.extend(burst(seed=seed + round_, sessions=max(1, (count - len(events)) // 25 + 1), versions=VERSIONS))
        round_ += 1
    return events[:count]


def messages_make(*, org, events: list[dict[str, Any]], batch: int) -> dict[str, list[tuple[str, bytes]]]:
    """The exact (key, value) records the app publishes for ``events`` of ``org`` POSTed
    ``batch`` at a time (one per session and request), and the same events one record each."""
    from telemetry.messages import message_encode, messages_encode
    from telemetry.services import event_normalize

    received_at = datetime.now(timezone.utc)
    normalized = [event_normalize(org=org, event=e) for e in events]
    app = [
        (m.key, m.value)
        for start in range(0, len(normalized), batch)
        for m in messages_encode(org_id=org.id, received_at=received_at, events=normalized[start:start + batch])
    ]
    per_event = [(m.key, m.value) for m in (message_encode(org_id=org.id, received_at=received_at, event=e) for e in normalized)]
    return {"app": app, "per_event": per_event}


def _copy_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        value = json.dumps(value, separators=(",", ":"))
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_lines(*, org_id: int, messages: list[tuple[str, bytes]]) -> list[bytes]:
    """The rows the consumer would store for ``messages``, as COPY text lines, under ``org_id``."""
    from telemetry.messages import message_decode
    from telemetry.store import _event_row

    lines = []
    for _, value in messages:
        for stored in message_decode(value).events:
            row = _event_row(stored)
            row["org_id"] = org_id
            lines.append(("\t".join(_copy_text(row[c]) for c in EVENT_COLUMNS) + "\n").encode())
    return lines


# --- raw rates ------------------------------------------------------------------------------


def raw_producer_rate(*, bootstrap: str, topic: str, messages: list[tuple[str, bytes]], events: int, desc: str) -> dict[str, float]:
    """Send ``messages`` (holding ``events`` events) as fast as one producer takes them; events/s until every ack."""
    from tqdm import tqdm

    from telemetry.bus import kafka_producer

    producer = kafka_producer(bootstrap)
    try:
        # Connect and fetch the topic's metadata outside the timing.
        producer.send(topic, key=b"warm-up", value=b"{}").get(timeout=30)
        acked = [0]
        bar = tqdm(total=len(messages), unit="record", desc=desc, leave=False)

        def on_ack(_metadata) -> None:
            acked[0] += 1
            if acked[0] % 100 == 0:
                bar.update(100)

        started = time.perf_counter()
        futures = [producer.send(topic, key=key.encode(), value=value).add_callback(on_ack) for key, value in messages]
        producer.flush(timeout=300)
        for future in futures:
            future.get(timeout=60)
        elapsed = time.perf_counter() - started
        bar.close()
    finally:
        producer.close(timeout=10)
    return {"events": events, "records": len(messages), "seconds": elapsed, "events_per_s": events / elapsed}


def raw_producer_rate_pure_python_crc(*, bootstrap: str, topic: str, messages: list[tuple[str, bytes]], events: int, env: dict[str, str]) -> dict[str, float]:
    """``raw_producer_rate`` in a process of its own where the ``crc32c`` package cannot be
    imported, so kafka-python computes record-batch CRCs in pure Python: the raw producer
    as it ran before ``crc32c`` joined the dependencies, for ratios comparable with earlier runs."""
    import pickle
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        source, answer = Path(folder) / "messages.pickle", Path(folder) / "rate.json"
        source.write_bytes(pickle.dumps(messages))
        script = ("import sys; sys.modules['crc32c'] = None\n"  # `import crc32c` now raises ImportError
                  "import django; django.setup()\n"
                  "import json, pickle; from benchmarks.ingest import raw_producer_rate\n"
                  "from kafka.record import util; assert util.crc32c_c is None\n"
                  f"rate = raw_producer_rate(bootstrap={bootstrap!r}, topic={topic!r}, events={events}, "
                  f"messages=pickle.loads(open({str(source)!r}, 'rb').read()), desc='raw producer, pure-Python CRC')\n"
                  f"open({str(answer)!r}, 'w').write(json.dumps(rate))\n")
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, check=True)
        return json.loads(answer.read_text())


def raw_copy_rate(*, database_url: str, lines: list[bytes], chunk: int) -> dict[str, float]:
    import psycopg
    from tqdm import tqdm

    statement = f"COPY telemetry_event ({','.join(EVENT_COLUMNS)}) FROM STDIN"
    with psycopg.connect(database_url) as conn, tqdm(total=len(lines), unit="ev", desc="raw COPY", leave=False) as bar:
        conn.execute("SELECT 1")
        conn.commit()
        started = time.perf_counter()
        for start in range(0, len(lines), chunk):
            block = lines[start:start + chunk]
            with conn.cursor() as cursor, cursor.copy(statement) as copy:
                copy.write(b"".join(block))
            conn.commit()
            bar.update(len(block))
        elapsed = time.perf_counter() - started
    return {"events": len(lines), "seconds": elapsed, "events_per_s": len(lines) / elapsed}


# --- end to end -------------------------------------------------------------------------------


class Consumers:
    """``manage.py consume_telemetry`` processes of one group, logging to files."""

    def __init__(self, *, count: int, env: dict[str, str], log_dir: Path, max_records: int | None, profile: str | None = None) -> None:
        self.processes: list[subprocess.Popen] = []
        self.logs = [log_dir / f"consumer-{i}.log" for i in range(count)]
        command = [str(ROOT / "manage.py"), "consume_telemetry"]
        if max_records:
            command += ["--max-records", str(max_records)]
        for index, path in enumerate(self.logs):
            profiler = ["-m", "cProfile", "-o", str(Path(profile).resolve())] if profile and index == 0 else []
            with open(path, "wb") as log:
                self.processes.append(subprocess.Popen([sys.executable, *profiler, *command], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))

    def check_alive(self) -> None:
        for process, path in zip(self.processes, self.logs):
            if process.poll() is not None:
                raise SystemExit(f"a consumer exited with {process.returncode}:\n{path.read_text(errors='replace')[-3000:]}")

    def stop(self) -> list[str]:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return [(path.read_text(errors="replace").strip().splitlines() or [""])[-1] for path in self.logs]


def stored_count(conn, org_id: int) -> int:
    return conn.execute("SELECT count(*) FROM telemetry_event WHERE org_id = %s", (org_id,)).fetchone()[0]


def wait_stored(conn, org_id: int, expected: int, *, timeout: float, consumers: Consumers, bar=None, tick=None,
                interval: float = 0.1) -> float:
    """Poll until ``expected`` events of ``org_id`` are stored; return the ``perf_counter`` time it happened."""
    deadline = time.monotonic() + timeout
    last = 0
    while True:
        count = stored_count(conn, org_id)
        now = time.perf_counter()
        if bar is not None and count > last:
            bar.update(count - last)
            last = count
        if tick is not None:
            tick()
        if count >= expected:
            return now
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {count} of {expected} events stored after {timeout:.0f}s (consumer logs: {consumers.logs})")
        consumers.check_alive()
        time.sleep(interval)


def post_batches(*, url: str, api_key: str, bodies: list[bytes], clients: int, on_done=None) -> tuple[list[float], float, float]:
    """POST every body from ``clients`` threads; return (latencies, first start, last end).

    Each thread keeps one connection (``http.client``): the load generator shares the two
    cores with the pipeline it measures, and with ``requests`` it took 2-3x the CPU per event.
    """
    import http.client

    target = urlparse(url)
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    lock = threading.Lock()
    pending = iter(enumerate(bodies))
    latencies: list[float] = [0.0] * len(bodies)
    errors: list[str] = []
    marks = {"first": None, "last": 0.0}

    def post(connection: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
        connection.request("POST", target.path, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()

    def worker() -> None:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
        try:
            while not errors:
                with lock:
                    item = next(pending, None)
                    if item is None:
                        return
                    if marks["first"] is None:
                        marks["first"] = time.perf_counter()
                index, body = item
                started = time.perf_counter()
                try:
                    status, data = post(connection, body)
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    connection.close()  # the server closed an idle kept-alive connection: send again on a new one
                    started = time.perf_counter()
                    status, data = post(connection, body)
                ended = time.perf_counter()
                answer = json.loads(data) if status == 202 else None
                if answer is None or answer["rejected"]:
                    errors.append(f"{status}: {data[:500].decode('utf-8', 'replace')}")
                    return
                latencies[index] = ended - started
                with lock:
                    marks["last"] = max(marks["last"], ended)
                if on_done is not None:
                    on_done(answer["accepted"])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"ingestion failed: {errors[0]}")
    return latencies, marks["first"], marks["last"]


# With --clients-process the load generator runs in a process of its own, as real clients
# would: its threads then do not take the GIL from the app's request threads. On 2 cores that
# made no measurable difference, so the simpler in-process threads are the default.
_client_progress = None


def _client_init(progress) -> None:
    global _client_progress
    _client_progress = progress


def _client_ready() -> bool:
    import http.client  # noqa: F401 - imported before the timing starts

    return True


def _client_post(url: str, api_key: str, bodies: list[bytes], clients: int) -> tuple[list[float], float, float]:
    def on_done(accepted: int) -> None:
        with _client_progress.get_lock():
            _client_progress.value += accepted

    return post_batches(url=url, api_key=api_key, bodies=bodies, clients=clients, on_done=on_done)


class LoadGenerator:
    """Runs ``post_batches`` in a spawned process (or, with ``in_process``, in a thread here)."""

    def __init__(self, *, in_process: bool) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

        self.in_process = in_process
        if in_process:
            self.progress = None
            self._accepted = 0
            self._lock = threading.Lock()
            self.pool = ThreadPoolExecutor(max_workers=1)
        else:
            context = multiprocessing.get_context("spawn")
            self.progress = context.Value("q", 0)
            self.pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_client_init, initargs=(self.progress,))
            self.pool.submit(_client_ready).result()

    def accepted(self) -> int:
        if self.in_process:
            with self._lock:
                return self._accepted
        return self.progress.value

    def _count(self, accepted: int) -> None:
        with self._lock:
            self._accepted += accepted

    def submit(self, *, url: str, api_key: str, bodies: list[bytes], clients: int):
        if self.in_process:
            return self.pool.submit(lambda: post_batches(url=url, api_key=api_key, bodies=bodies, clients=clients, on_done=self._count))
        return self.pool.submit(_client_post, url, api_key, bodies, clients)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def bodies_make(events: list[dict[str, Any]], batch: int) -> list[bytes]:
    return [json.dumps({"events": events[i:i + batch]}).encode() for i in range(0, len(events), batch)]


@contextmanager
def gunicorn_server(*, env: dict[str, str], workers: int, threads: int, log_path: Path) -> Iterator[tuple[str, int]]:
    """``config.wsgi`` under gunicorn (gthread workers), as deployed; yield its base URL and the master's pid."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads), "--log-level", "warning",
               # Clients keep their connections between batches (a closed idle one would fail a POST);
               # a loaded 2-core machine can stall a request past the default 30 s.
               "--keep-alive", "75", "--timeout", "120"]
    base_url = f"http://127.0.0.1:{port}"
    with server_process(command, cwd=ROOT, env=env, log_path=log_path, ready_url=f"{base_url}/api/schema/events-v1.json") as process:
        yield base_url, process.pid


def _listening_pid(port: int) -> int | None:
    import psutil

    return next((c.pid for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN), None)


def cpu_groups(*, app_pid: int | None, consumer_pids: list[int], database_url: str, kafka_bootstrap: str) -> dict[str, list[int]]:
    """The processes of each part of the pipeline, to charge CPU time to: the app (gunicorn's
    master and workers), the consumers, this process (the HTTP clients), the Kafka broker and
    the PostgreSQL server (with its backends), the latter two found by their listening port."""
    import psutil

    groups: dict[str, list[int]] = {}
    if app_pid is not None:
        groups["app (gunicorn)"] = [app_pid, *(c.pid for c in psutil.Process(app_pid).children(recursive=True))]
    groups["consumers"] = list(consumer_pids)
    groups["HTTP clients (this process)"] = [os.getpid()]
    kafka_pid = _listening_pid(int(kafka_bootstrap.split(",")[0].rsplit(":", 1)[1]))
    if kafka_pid is not None:
        groups["Kafka broker"] = [kafka_pid]
    postgres_pid = _listening_pid(urlparse(database_url).port or 5432)
    if postgres_pid is not None:
        groups["PostgreSQL"] = [postgres_pid]  # its backends are added at each snapshot (they come and go)
    return groups


def cpu_snapshot(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each group's processes (PostgreSQL: with its current children)."""
    import psutil

    totals: dict[str, float] = {}
    for name, pids in groups.items():
        processes = []
        for pid in pids:
            try:
                process = psutil.Process(pid)
                processes.append(process)
                if name == "PostgreSQL":
                    processes.extend(process.children(recursive=True))
            except psutil.NoSuchProcess:
                continue
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
        totals[name] = total
    return totals


def end_to_end(*, args, env: dict[str, str], database_url: str, topics: dict[str, str], events, warmup_events, latency_events) -> dict[str, Any]:
    import psycopg
    from tqdm import tqdm

    from telemetry.bus import reset_bus
    from telemetry.local_app import local_app_server
    from telemetry.services import api_key_create, organization_get_or_create

    suffix = topics["TELEMETRY_CONSUMER_GROUP"].rsplit("-", 1)[-1]
    org = organization_get_or_create(slug=f"bench-e2e-{suffix}")
    warm_org = organization_get_or_create(slug=f"bench-warmup-{suffix}")
    latency_org = organization_get_or_create(slug=f"bench-latency-{suffix}")
    keys = {o.id: api_key_create(org=o, name="bench") for o in (org, warm_org, latency_org)}
    bodies = bodies_make(events, args.batch)
    latency_bodies = bodies_make(latency_events, LATENCY_BATCH)

    log_dir = ROOT / "artifacts" / "benchmarks"
    log_dir.mkdir(parents=True, exist_ok=True)
    consumer_env = {**os.environ, **env, **topics, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
    consumers = Consumers(count=args.consumers, env=consumer_env, log_dir=log_dir, max_records=args.max_records,
                          profile=args.profile_consumer)
    reset_bus()
    load = LoadGenerator(in_process=not args.clients_process)
    if args.server == "gunicorn":
        server = gunicorn_server(env={**consumer_env, "TELEMETRY_INGEST_RATE": os.environ["TELEMETRY_INGEST_RATE"]},
                                 workers=args.workers, threads=args.threads, log_path=log_dir / "gunicorn.log")
        warmup_clients = args.workers * args.threads  # every worker opens its producer before the timing
    else:
        server, warmup_clients = local_app_server(), args.clients
    try:
        with server as served, psycopg.connect(database_url, autocommit=True) as conn:
            base_url, app_pid = served if args.server == "gunicorn" else (served, None)
            url = f"{base_url}/api/v1/events"
            # Warm-up: the consumer joins its group, every connection opens.
            print("warming up (consumer group join, connections)...")
            load.submit(url=url, api_key=keys[warm_org.id], bodies=bodies_make(warmup_events, args.batch), clients=warmup_clients).result()
            wait_stored(conn, warm_org.id, len(warmup_events), timeout=120, consumers=consumers)

            base = load.accepted()
            groups = cpu_groups(app_pid=app_pid, consumer_pids=[p.pid for p in consumers.processes],
                                database_url=database_url, kafka_bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"])
            cpu_before = cpu_snapshot(groups)
            posted = tqdm(total=len(events), unit="ev", desc="posted (HTTP 202)", position=0)
            stored = tqdm(total=len(events), unit="ev", desc="stored (PostgreSQL)", position=1)

            def tick() -> None:
                posted.update(load.accepted() - base - posted.n)
                if sending.done() and sending.exception() is not None:
                    raise SystemExit(f"the HTTP clients failed: {sending.exception()}")

            sending = load.submit(url=url, api_key=keys[org.id], bodies=bodies, clients=args.clients)
            done = wait_stored(conn, org.id, len(events), timeout=args.timeout, consumers=consumers, bar=stored, tick=tick)
            cpu_after = cpu_snapshot(groups)
            latencies, first, last = sending.result()
            tick()
            posted.close()
            stored.close()
            e2e_s = done - first
            http_s = last - first
            # Wall-clock bounds of the timed window, to line it up with outside measurements (CPU per process).
            window_unix = (time.time() - (time.perf_counter() - first), time.time() - (time.perf_counter() - done))

            # Idle latency: one client, one 100-event batch at a time.
            print("idle latency: one client, one 100-event batch at a time...")
            idle, _, _ = load.submit(url=url, api_key=keys[latency_org.id], bodies=latency_bodies, clients=1).result()
            wait_stored(conn, latency_org.id, len(latency_events), timeout=120, consumers=consumers)
    finally:
        load.close()
        lines = consumers.stop()
        reset_bus()
    loaded = latencies
    return {
        "events": len(events),
        "batch": args.batch,
        "clients": args.clients,
        "consumers": args.consumers,
        "server": args.server if args.server == "threaded" else f"gunicorn {args.workers}x{args.threads} gthread",
        "seconds": e2e_s,
        "events_per_s": len(events) / e2e_s,
        "http_seconds": http_s,
        "http_events_per_s": len(events) / http_s,
        "drain_after_last_202_s": e2e_s - http_s,
        "window_unix": window_unix,
        # CPU time each part used in the timed window, per event: unlike the rates, it hardly
        # moves with what else runs on the machine (the clients' share includes this script's polling).
        "cpu_us_per_event": {name: (cpu_after[name] - cpu_before.get(name, 0.0)) / len(events) * 1e6 for name in cpu_after},
        "latency_loaded_ms": {"p50": percentile(loaded, 0.5) * 1e3, "p99": percentile(loaded, 0.99) * 1e3,
                              "mean": statistics.mean(loaded) * 1e3, "n": len(loaded), "batch": args.batch},
        "latency_idle_ms": {"p50": percentile(idle, 0.5) * 1e3, "p99": percentile(idle, 0.99) * 1e3,
                            "mean": statistics.mean(idle) * 1e3, "n": len(idle), "batch": LATENCY_BATCH},
        "consumer_exit": lines,
    }


# --- report ------------------------------------------------------------------------------------


def report(results: dict[str, Any]) -> str:
    e2e = results["end_to_end"]
    producer, copy = results.get("raw_producer"), results.get("raw_copy")
    rows = [("end to end  HTTP → Kafka → consumer → PostgreSQL", e2e["events_per_s"], e2e["seconds"])]
    rows.append(("  HTTP only (first POST → last 202)", e2e["http_events_per_s"], e2e["http_seconds"]))
    if producer:
        rows.append(("raw Kafka producer, a record per event", producer["events_per_s"], producer["seconds"]))
    if results.get("raw_producer_pure_python_crc"):
        rows.append(("  the same, kafka-python's pure-Python CRC (without crc32c)", results["raw_producer_pure_python_crc"]["events_per_s"],
                     results["raw_producer_pure_python_crc"]["seconds"]))
    if results.get("raw_producer_app_records"):
        app_records = results["raw_producer_app_records"]
        rows.append((f"raw Kafka producer, the app's {app_records['records']} records", app_records["events_per_s"], app_records["seconds"]))
    if copy:
        rows.append(("raw PostgreSQL COPY (same rows)", copy["events_per_s"], copy["seconds"]))
    width = 62
    lines = [f"{'phase':<{width}}{'events/s':>12}{'seconds':>10}", "-" * (width + 22)]
    lines += [f"{name:<{width}}{rate:>12,.0f}{secs:>10.2f}" for name, rate, secs in rows]
    lines.append("")
    for name, value in results["ratios"].items():
        lines.append(f"{name:<{width}}{value:>12.1%}")
    if e2e.get("cpu_us_per_event"):
        lines.append("")
        lines.append(f"{'CPU time per event in the end-to-end window':<{width}}{'µs':>12}")
        for name, value in e2e["cpu_us_per_event"].items():
            lines.append(f"{'  ' + name:<{width}}{value:>12.1f}")
        lines.append(f"{'  all of them':<{width}}{sum(e2e['cpu_us_per_event'].values()):>12.1f}")
    lines.append("")
    loaded, idle = e2e["latency_loaded_ms"], e2e["latency_idle_ms"]
    lines.append(f"{'POST latency, request → 202':<{width}}{'p50 ms':>12}{'p99 ms':>10}")
    loaded_name = f"  under load ({loaded['batch']} events, {e2e['clients']} clients, n={loaded['n']})"
    idle_name = f"  idle ({idle['batch']} events, 1 client, n={idle['n']})"
    lines.append(f"{loaded_name:<{width}}{loaded['p50']:>12.1f}{loaded['p99']:>10.1f}")
    lines.append(f"{idle_name:<{width}}{idle['p50']:>12.1f}{idle['p99']:>10.1f}")
    lines.append("")
    lines.append(f"server={e2e['server']} events={e2e['events']} batch={e2e['batch']} clients={e2e['clients']} consumers={e2e['consumers']} "
                 f"partitions={results['partitions']} compression={results['compression']}; "
                 f"stored {e2e['drain_after_last_202_s']:.1f}s after the last 202")
    lines += [f"consumer: {line}" for line in e2e["consumer_exit"]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    env = require_services()
    database_url = bench_database_url(env["DATABASE_URL"], args.database)
    database_ensure(database_url)
    run_id = uuid.uuid4().hex[:10]
    topics = {
        "TELEMETRY_TOPIC": f"bench.ingest.{run_id}",
        "TELEMETRY_DLQ_TOPIC": f"bench.ingest.{run_id}.dlq",
        "TELEMETRY_CONSUMER_GROUP": f"bench-ingest-{run_id}",
    }
    raw_topic = f"bench.ingest.{run_id}.raw"
    django_setup(database_url=database_url, topics=topics)
    from django.conf import settings

    bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
    topic_names = [topics["TELEMETRY_TOPIC"], topics["TELEMETRY_DLQ_TOPIC"], raw_topic]
    topics_create(bootstrap, topic_names, args.partitions)
    print(f"database {args.database}, topics bench.ingest.{run_id}[.dlq|.raw] ({args.partitions} partitions), "
          f"compression={settings.TELEMETRY_COMPRESSION or 'none'}")

    from telemetry.services import organization_get_or_create

    events = events_make(seed=args.seed, count=args.events)
    warmup_events = events_make(seed=args.seed + 10_000, count=max(args.batch * max(args.clients, args.workers * args.threads) * 2, 200))
    latency_events = events_make(seed=args.seed + 20_000, count=args.latency_requests * LATENCY_BATCH)
    results: dict[str, Any] = {"run_id": run_id, "partitions": args.partitions, "compression": settings.TELEMETRY_COMPRESSION or "none"}
    try:
        if not args.skip_raw:
            copy_org = organization_get_or_create(slug=f"bench-copy-{run_id}")
            messages = messages_make(org=copy_org, events=events, batch=args.batch)
            for name, records in messages.items():
                size = sum(len(v) for _, v in records)
                print(f"{name}: {len(records)} records, {size / len(records):,.0f} bytes each on average")
            results["raw_producer"] = raw_producer_rate(bootstrap=bootstrap, topic=raw_topic, messages=messages["per_event"],
                                                        events=len(events), desc="raw producer, a record per event")
            print(f"raw producer, a record per event: {results['raw_producer']['events_per_s']:,.0f} events/s")
            results["raw_producer_pure_python_crc"] = raw_producer_rate_pure_python_crc(
                bootstrap=bootstrap, topic=raw_topic, messages=messages["per_event"], events=len(events), env=topics)
            print(f"raw producer, a record per event, pure-Python CRC: {results['raw_producer_pure_python_crc']['events_per_s']:,.0f} events/s")
            results["raw_producer_app_records"] = raw_producer_rate(bootstrap=bootstrap, topic=raw_topic, messages=messages["app"],
                                                                    events=len(events), desc="raw producer, the app's records")
            print(f"raw producer, the app's records: {results['raw_producer_app_records']['events_per_s']:,.0f} events/s")
            lines = copy_lines(org_id=copy_org.id, messages=messages["app"])
            results["raw_copy"] = raw_copy_rate(database_url=database_url, lines=lines, chunk=args.copy_chunk)
            print(f"raw COPY: {results['raw_copy']['events_per_s']:,.0f} events/s")
        results["end_to_end"] = end_to_end(
            args=args, env=env, database_url=database_url, topics=topics,
            events=events, warmup_events=warmup_events, latency_events=latency_events,
        )
    finally:
        topics_delete(bootstrap, topic_names)

    e2e = results["end_to_end"]["events_per_s"]
    ratios: dict[str, float] = {}
    if not args.skip_raw:
        copy_rate, producer_rate = results["raw_copy"]["events_per_s"], results["raw_producer"]["events_per_s"]
        app_records_rate = results["raw_producer_app_records"]["events_per_s"]
        ratios = {
            "end to end / raw COPY": e2e / copy_rate,
            "end to end / raw producer, a record per event": e2e / producer_rate,
            "end to end / raw producer, the app's records": e2e / app_records_rate,
            "end to end / min(COPY, producer per event)  (aim ≥ 50%)": e2e / min(copy_rate, producer_rate),
            # The baseline of the runs before crc32c (kafka-python's pure-Python CRC), for comparison with them.
            "end to end / min(COPY, producer per event, pure-Python CRC)": e2e / min(copy_rate, results["raw_producer_pure_python_crc"]["events_per_s"]),
        }
    results["ratios"] = ratios
    print()
    print(report(results))
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {output}")


if __name__ == "__main__":
    main()
