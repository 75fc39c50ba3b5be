"""Simulator throughput: simulated sessions/s and telemetry events/s it produces.

    .venv/bin/python benchmarks/simulator.py [--sessions 2000] [--seed 0] [--send-sessions 300]

Measured in one run, with the reference responder (no model; the policy responders are as
fast as the model generates):

1. **cold**: ``--sessions`` sessions in a fresh process - every distinct answer is verified
   for real (hidden tests run in the sandbox, ~50 ms each), so this is bounded by ``verify``;
2. **warm**: the same number of sessions with another seed, verdicts of identical answers
   now memoized (what a long simulation converges to: answers repeat);
3. **with sending**: ``--send-sessions`` sessions whose events are POSTed in batches of 500
   through the real ingestion endpoint of the local app (embedded default: SQLite in a temp
   directory, in-process bus, the store's rollups), then ``GET /api/v1/metrics/summary`` is
   compared with the ground truth (must be equal);
4. the same with Claude Code users' telemetry as OTLP log records (``/v1/logs``).

Prints sessions/s and events/s per phase, the ratios between phases, and writes
``artifacts/benchmarks/simulator.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.simulator import (  # noqa: E402
    HashSplit,
    ReferenceResponder,
    SimulationConfig,
    TelemetrySender,
    simulate,
    summary_get,
    summary_mismatches,
)


def _phase(name: str, config: SimulationConfig, **kwargs) -> dict:
    started = time.perf_counter()
    result = simulate(config, responder=ReferenceResponder(), assigner=HashSplit(["v1", "v2"]), keep_events=False, **kwargs)
    elapsed = time.perf_counter() - started
    row = {
        "phase": name,
        "sessions": config.sessions,
        "events": result.events_sent,
        "seconds": round(elapsed, 3),
        "sessions_per_s": round(config.sessions / elapsed, 1),
        "events_per_s": round(result.events_sent / elapsed, 1),
    }
    print(f"{name:<22} {config.sessions:>6} sessions {result.events_sent:>8} events {elapsed:>8.2f} s "
          f"{row['sessions_per_s']:>9.1f} sessions/s {row['events_per_s']:>10.1f} events/s")
    return row | {"truth": result.truth}


def _sending_phases(args: argparse.Namespace) -> list[dict]:
    workdir = tempfile.mkdtemp(prefix="flywheel-sim-bench-")
    os.environ["SQLITE_PATH"] = str(Path(workdir) / "bench.sqlite3")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from telemetry.local_app import local_app_server
    from telemetry.services import api_key_create, organization_get_or_create

    call_command("migrate", verbosity=0)
    rows = []
    with local_app_server() as base_url:
        for name, otlp in (("send JSON", False), ("send JSON + OTLP", True)):
            api_key = api_key_create(org=organization_get_or_create(slug=f"bench-{int(otlp)}"))
            with TelemetrySender(base_url, api_key) as sender:
                def sink(record, json_events, otlp_events, sender=sender):
                    sender.add(json_events)
                    sender.add(otlp_events, otlp=True)

                config = SimulationConfig(sessions=args.send_sessions, seed=args.seed + 2, otlp=otlp)
                started = time.perf_counter()
                row = _phase(name, config, sink=sink)
                sender.flush()
                row["seconds_with_flush"] = round(time.perf_counter() - started, 3)
            mismatches = summary_mismatches(row.pop("truth"), summary_get(base_url, api_key))
            row["summary_equals_truth"] = not mismatches
            print(f"{'':<22} summary endpoint equals ground truth: {not mismatches}")
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--send-sessions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    cold = _phase("simulate (cold)", SimulationConfig(sessions=args.sessions, seed=args.seed))
    warm = _phase("simulate (warm)", SimulationConfig(sessions=args.sessions, seed=args.seed + 1))
    sending = _sending_phases(args)
    for row in (cold, warm):
        row.pop("truth")
    ratios = {
        "warm/cold sessions_per_s": round(warm["sessions_per_s"] / cold["sessions_per_s"], 2),
        "send JSON/warm events_per_s": round(sending[0]["events_per_s"] / warm["events_per_s"], 3),
        "send OTLP/send JSON events_per_s": round(sending[1]["events_per_s"] / sending[0]["events_per_s"], 2),
    }
    for name, value in ratios.items():
        print(f"ratio {name}: {value}")
    out = ROOT / "artifacts" / "benchmarks" / "simulator.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"phases": [cold, warm, *sending], "ratios": ratios, "cpus": os.cpu_count()}, indent=2) + "\n")
    print(f"written {out.relative_to(ROOT)}")
    if not all(row["summary_equals_truth"] for row in sending):
        sys.exit(1)


if __name__ == "__main__":
    main()
