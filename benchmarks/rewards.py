"""Reward-service benchmark: latency and throughput of scoring, in-process and over HTTP,
for the rule + scikit-learn path and the torch path, all measured in one run.

    scripts/services.sh start postgres && eval "$(scripts/services.sh env)"
    .venv/bin/python benchmarks/rewards.py [--requests 300] [--batches 20]

Setup (real, through the project's own services): preference pairs from the coding
environment's reference answers (good vs Linux-biased / verbose / re-implemented), a
dataset snapshot, a scikit-learn baseline and a tiny torch Bradley-Terry model trained by
``reward_model_train`` and promoted in turn by ``reward_model_promote`` in a database of its
own (``--database``, default ``flywheel_bench_rewards``, created and migrated).

Per path (the active model: baseline = rule + scikit-learn, bradley_terry = torch):

* one request: p50/p99 of scoring one trajectory (``--requests`` times), in-process
  (``score_trajectories`` with ``reward_model_active()``) and over HTTP
  (``POST /api/v1/rewards/score``) on the server as deployed: ``config.wsgi`` under gunicorn
  with ``config/gunicorn.conf.py`` (``scripts/serve.sh``: gthread, keep-alive), one worker
  process; from two clients, each on one kept-alive connection: the integrations' own
  (``rewards.integrations.client.RewardServiceClient``) and a ``requests.Session``; and,
  when ``REDIS_URL`` is set, the same server with Redis as its cache, as deployed
  (``http_redis``: the API key is looked up in Redis on each request); the other servers
  and this process use local memory;
* batches of 64: trajectories per second in the median of ``--batches`` batches, each way;
* ratios HTTP / in-process (the HTTP overhead; the aim is <= 1.5x);
* the floors under the HTTP overhead, timed alongside with the same client: an empty WSGI
  app under the same gunicorn settings (``benchmarks/_wsgi_floor.py``), the same empty app
  under granian (a WSGI server written in Rust, from the ``bench`` extra; left out when it is
  not installed), and the endpoint's own 400 answer to an empty batch (Django, DRF, API-key
  auth, JSON in and out: all but the scoring).

Then (unless ``--skip-trl``) the reward model trained here against TRL's ``RewardTrainer`` on
the same pairs and the same small backbone (``benchmarks/reward_model_vs_trl.py``):
held-out pairwise accuracy of both and the training-time ratio (aim: accuracy >= TRL's in
<= 0.5x its time).

Trajectories are a fixed mix: terminal tasks with their task id (verified by the
environment's shell tables), Claude Code / Gemini CLI chat transcripts with tool calls, and
hacking variants from the attacker. Code tasks, whose verification runs hidden tests in a
sandboxed subprocess (~0.1 s), are left out of the latency rows on purpose and timed in
their own row (``code task verification``). Results go to ``artifacts/benchmarks/rewards.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._postgres import bench_database_url, database_ensure, django_setup  # noqa: E402
from config.server_process import free_port, server_process  # noqa: E402

BATCH = 64
HTTP_WAYS = ("http", "http_requests", "http_redis")
FLOORS = ("floor_wsgi", "floor_granian", "floor_django")
GAP_S = 0.003


def models_train(var_dir: Path) -> dict[str, object]:
    """Train and register both reward-model kinds; returns kind -> RewardModelVersion."""
    from django.conf import settings

    from rewards.core.config import BradleyTerryConfig
    from rewards.core.export import pairs_export
    from rewards.core.pairs import split_counts
    from rewards.core.reference_pairs import reference_pairs
    from rewards.models import PreferenceDataset
    from rewards.services import reward_model_train
    from telemetry.services import organization_get_or_create

    settings.VAR_DIR = var_dir
    pairs = reference_pairs(seed="bench")
    org = organization_get_or_create(slug="bench-rewards")
    directory = var_dir / "datasets" / "bench"
    files = pairs_export(pairs, directory)
    counts = split_counts(pairs)
    dataset = PreferenceDataset.objects.create(org=org, version=f"bench-{int(time.time())}", path=str(directory),
                                               files=files, pairs_train=counts["train"],
                                               pairs_validation=counts["validation"])
    baseline = reward_model_train(dataset=dataset, kind="baseline")
    torch_model = reward_model_train(dataset=dataset, kind="bradley_terry", bradley_terry_config=BradleyTerryConfig(
        epochs=1, hidden_size=64, num_hidden_layers=2, max_length=192))
    return {"baseline": baseline, "bradley_terry": torch_model}


def trajectories() -> list[dict]:
    """A fixed mix of requests (see the module docstring)."""
    from rewards.core.attacker import attack_cases, honest_cases
    from training.environment import reference_response, task_catalog

    terminal = [t for t in task_catalog(split="train") if t.kind == "terminal"][::7][:40]
    mix = [{"prompt": t.prompt, "response": reference_response(t, flavor=f), "task": t.task_id}
           for t in terminal for f in ("good", "linux_biased")]
    chats = [c.payload for c in honest_cases(limit=3) if "messages" in c.payload]
    attacks = [c.payload for c in list(attack_cases(limit=3))[::97] if "messages" in c.payload]
    for payload in chats + attacks:  # keep the scorer off the sandbox in the latency rows
        payload = dict(payload)
        payload.pop("task", None)
        mix.append(payload)
    return mix


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed_each(fn, items) -> list[float]:
    seconds = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        seconds.append(time.perf_counter() - started)
    return seconds


def measure_side_by_side(ways: dict, requests: list[dict], batches: list[list[dict]]) -> dict[str, dict[str, float]]:
    """p50/p99 of single requests and batch throughput for each way ({name: (score_one,
    score_batch or None)}), alternating the ways request by request so that the machine's
    load falls on all of them alike.

    Each call is followed by an untimed pause (``GAP_S``), so every call of every way starts
    from the same state, as a scoring call in an RL loop starts after other work: a server
    goes on working after its answer has left (access log, request_finished), and on two
    cores that work would otherwise be timed as part of whichever way comes next. The pause
    costs the in-process scorer too (its worker threads must be woken again); the
    ``in_process_hot`` way shows by how much: an untimed call right before the timed one.
    """
    for score_one, _ in ways.values():
        for item in requests[:20]:  # warm up (model load, connections, caches)
            score_one(item)
    single: dict[str, list[float]] = {name: [] for name in ways}
    for item in requests:
        for name, (score_one, _) in ways.items():
            started = time.perf_counter()
            timed_from = score_one(item)
            # A way may return the moment its timed part began (in_process_hot's second call).
            single[name].append(time.perf_counter() - (timed_from if isinstance(timed_from, float) else started))
            time.sleep(GAP_S)
    batch_seconds: dict[str, list[float]] = {name: [] for name, (_, score_batch) in ways.items() if score_batch is not None}
    for batch in batches:
        for name in batch_seconds:
            started = time.perf_counter()
            ways[name][1](batch)
            batch_seconds[name].append(time.perf_counter() - started)
            time.sleep(GAP_S)
    # The median batch: on a shared machine one batch stalled for a second would otherwise
    # set the rate of the whole row.
    return {name: {"p50_ms": 1000 * percentile(single[name], 0.5), "p99_ms": 1000 * percentile(single[name], 0.99),
                   "batch64_per_s": BATCH / statistics.median(batch_seconds[name]) if batch_seconds.get(name) else None}
            for name in ways}


def load_average() -> float:
    """The 1-minute load average (the machine is shared: every number is read beside it)."""
    return round(os.getloadavg()[0], 2)


@contextmanager
def deployment_server(app: str, *, log_path: Path, redis_url: str = "", app_root: Path = ROOT) -> Iterator[str]:
    """``app`` under gunicorn with the deployment's settings (``config/gunicorn.conf.py``, as
    ``scripts/serve.sh`` runs it: gthread, 4 threads, keep-alive 5 s, access log), one worker
    process, on this process's database and settings (with ``redis_url``, Redis is its cache,
    as deployed: API keys are looked up there), from the checkout at ``app_root``; yields its
    base URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(app_root), "DJANGO_SETTINGS_MODULE": "config.settings",
           "FLYWHEEL_BIND": f"127.0.0.1:{port}", "FLYWHEEL_WORKERS": "1", "FLYWHEEL_ACCESS_LOG": str(log_path)}
    if redis_url:
        env["REDIS_URL"] = redis_url
    command = [sys.executable, "-m", "gunicorn", "--config", str(app_root / "config" / "gunicorn.conf.py"), app]
    base_url = f"http://127.0.0.1:{port}"
    with server_process(command, cwd=app_root, env=env, log_path=log_path.with_suffix(".err"), ready_url=base_url + "/"):
        yield base_url


@contextmanager
def granian_server(app: str, *, log_path: Path) -> Iterator[str]:
    """``app`` under granian's WSGI interface, one worker and one blocking thread; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--blocking-threads", "1", "--log-level", "warning", app]
    base_url = f"http://127.0.0.1:{port}"
    with server_process(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, log_path=log_path, ready_url=base_url + "/"):
        yield base_url


def granian_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("granian") is not None


def wait_for_version(score_one, payload: dict, version: str, *, timeout_s: float = 60.0) -> None:
    """Until the server scores with ``version`` (it re-reads the active version every second)."""
    deadline = time.monotonic() + timeout_s
    while (answer := score_one(payload)["results"][0])["reward_model_version"] != version:
        if time.monotonic() > deadline:
            raise SystemExit(f"the server still scores with {answer['reward_model_version']}, not {version}")
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="single-trajectory requests per path and way")
    parser.add_argument("--batches", type=int, default=15, help="batches of 64 per path and way")
    parser.add_argument("--database", default="flywheel_bench_rewards")
    parser.add_argument("--skip-trl", action="store_true", help="leave out the reward-model training comparison with TRL")
    parser.add_argument("--app-root", type=Path, default=ROOT,
                        help="serve the app from this checkout (e.g. `git worktree add DIR <commit>`): the same "
                             "measurement of another version of the service; the scorer in-process stays this one")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL")
    if not base:
        raise SystemExit("DATABASE_URL is not set: run `scripts/services.sh start postgres` and "
                         "`eval \"$(scripts/services.sh env)\"` first.")
    url = bench_database_url(base, args.database)
    redis_url = os.environ.get("REDIS_URL", "")  # django_setup drops it: this process uses local memory
    database_ensure(url)
    django_setup(url)

    import requests as http

    from rewards.core.scoring import ScoringConfig, score_trajectories
    from rewards.integrations.client import SCORE_PATH, RewardServiceClient, RewardServiceError
    from rewards.selectors import reward_model_active, reward_model_active_reset
    from rewards.services import reward_model_promote
    from telemetry.services import api_key_create, organization_get_or_create
    from training.environment import reference_response, task_catalog

    var_dir = ROOT / "var" / "bench_rewards"
    var_dir.mkdir(parents=True, exist_ok=True)
    print("training the scikit-learn and torch reward models ...", flush=True)
    versions = models_train(var_dir)
    mix = trajectories()
    requests_ = [mix[i % len(mix)] for i in range(args.requests)]
    batches = [[mix[(b * BATCH + i) % len(mix)] for i in range(BATCH)] for b in range(args.batches)]
    key = api_key_create(org=organization_get_or_create(slug="bench-rewards"))
    config = ScoringConfig()
    results: dict[str, dict] = {}
    with deployment_server("config.wsgi:application", log_path=var_dir / "gunicorn-app.log", app_root=args.app_root.resolve()) as app_url, \
            deployment_server("benchmarks._wsgi_floor:application", log_path=var_dir / "gunicorn-floor.log") as floor_url, \
            ExitStack() as stack, http.Session() as session:
        client = RewardServiceClient(app_url, key)
        redis_client = None
        if redis_url:
            redis_client = RewardServiceClient(stack.enter_context(deployment_server(
                "config.wsgi:application", log_path=var_dir / "gunicorn-app-redis.log", redis_url=redis_url,
                app_root=args.app_root.resolve())), key)
        floor_client = RewardServiceClient(floor_url, key)
        granian_client = None
        if granian_installed():
            granian_client = RewardServiceClient(stack.enter_context(granian_server(
                "benchmarks._wsgi_floor:application", log_path=var_dir / "granian-floor.log")), key)
        session.headers["Authorization"] = f"Bearer {key}"

        def over_requests(body):
            answer = session.post(f"{app_url}{SCORE_PATH}", json=body, timeout=120)
            answer.raise_for_status()
            return answer.json()

        def django_floor(_):
            try:
                client.post(SCORE_PATH, {"trajectories": []})
            except RewardServiceError as exc:
                assert " answered 400:" in str(exc), exc
            else:
                raise AssertionError("an empty batch was not refused")

        for path, version in versions.items():
            reward_model_promote(version=version)
            reward_model_active_reset()
            model = reward_model_active()
            assert model is not None and model.version == version.version
            wait_for_version(lambda t: client.post(SCORE_PATH, t), requests_[0], version.version)
            load_before = load_average()
            print(f"measuring {path} ({version.version}), load average {load_before} ...", flush=True)
            def score_hot(t):
                score_trajectories([t], config=config, preference_model=reward_model_active())  # wakes the pools
                started = time.perf_counter()
                score_trajectories([t], config=config, preference_model=reward_model_active())
                return started

            ways = {
                "in_process": (lambda t: score_trajectories([t], config=config, preference_model=reward_model_active()),
                               lambda b: score_trajectories(b, config=config, preference_model=reward_model_active())),
                "in_process_hot": (score_hot, None),
                "http": (lambda t: client.post(SCORE_PATH, t), lambda b: client.post(SCORE_PATH, {"trajectories": b})),
                "http_requests": (over_requests, lambda b: over_requests({"trajectories": b})),
                "floor_wsgi": (lambda t: floor_client.post(SCORE_PATH, t), None),
                "floor_django": (django_floor, None),
            }
            if granian_client is not None:
                ways["floor_granian"] = (lambda t: granian_client.post(SCORE_PATH, t), None)
            if redis_client is not None:
                wait_for_version(lambda t: redis_client.post(SCORE_PATH, t), requests_[0], version.version)
                ways["http_redis"] = (lambda t: redis_client.post(SCORE_PATH, t),
                                      lambda b: redis_client.post(SCORE_PATH, {"trajectories": b}))
            measured = measure_side_by_side(ways, requests_, batches)
            local = measured["in_process"]
            for answer in (client.post(SCORE_PATH, requests_[0]), over_requests(requests_[0]),
                           *([redis_client.post(SCORE_PATH, requests_[0])] if redis_client else [])):
                assert answer["results"][0]["reward_model_version"] == version.version, answer
            results[path] = {**measured, "load_average": [load_before, load_average()]}
            for way in HTTP_WAYS:
                if way not in measured:
                    continue
                remote = measured[way]
                results[path][f"{way}_over_in_process_p50"] = remote["p50_ms"] / local["p50_ms"]
                results[path][f"{way}_over_in_process_p99"] = remote["p99_ms"] / local["p99_ms"]
                results[path][f"{way}_throughput_ratio"] = local["batch64_per_s"] / remote["batch64_per_s"]
            # The least HTTP / in-process ratio for one request: the scorer's time plus a round
            # trip that does no scoring (an empty WSGI app; the endpoint's own 400 answer).
            for floor in (f for f in FLOORS if f in measured):
                results[path][f"least_ratio_{floor}_p50"] = (local["p50_ms"] + measured[floor]["p50_ms"]) / local["p50_ms"]
        for each in (client, floor_client, granian_client, redis_client):
            if each is not None:
                each.close()
    code_tasks = [t for t in task_catalog(split="train") if t.kind == "code_edit"][:10]
    code_seconds = timed_each(lambda t: score_trajectories(
        [{"prompt": t.prompt, "response": reference_response(t, flavor="good"), "task": t.task_id}], config=config),
        code_tasks)
    results["code_task_verification"] = {"p50_ms": 1000 * statistics.median(code_seconds)}

    print(f"\n{'path':<16}{'way':<22}{'p50 ms':>9}{'p99 ms':>9}{'batch64 traj/s':>16}")
    for path in versions:
        r = results[path]
        for way in ("in_process", "in_process_hot", *HTTP_WAYS, *FLOORS):
            if way not in r:
                continue
            row = r[way]
            batch = f"{row['batch64_per_s']:>16.1f}" if row["batch64_per_s"] else f"{'':>16}"
            print(f"{path:<16}{way:<22}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{batch}")
        # Every ratio is HTTP time over in-process time (for batches: time per trajectory).
        for way in HTTP_WAYS:
            if way in r:
                print(f"{path:<16}{way + ' / in_process':<22}{r[f'{way}_over_in_process_p50']:>8.2f}x"
                      f"{r[f'{way}_over_in_process_p99']:>8.2f}x{r[f'{way}_throughput_ratio']:>15.2f}x")
        granian = (f", {r['least_ratio_floor_granian_p50']:.2f}x under granian"
                   if "least_ratio_floor_granian_p50" in r else " (granian not installed)")
        print(f"{path:<16}load average {r['load_average'][0]} before, {r['load_average'][1]} after; least ratio at p50, "
              f"(in_process + floor) / in_process: {r['least_ratio_floor_wsgi_p50']:.2f}x with no Django at all{granian}, "
              f"{r['least_ratio_floor_django_p50']:.2f}x with Django + DRF + API key")
    print(f"code task verification (sandboxed hidden tests), in-process p50: {results['code_task_verification']['p50_ms']:.1f} ms")
    base = results["baseline"]
    print(f"aims: p99 < 20 ms on the rule + scikit-learn path: in-process {base['in_process']['p99_ms']:.1f} ms, "
          f"HTTP {base['http']['p99_ms']:.1f} ms; HTTP <= 1.5x in-process (one request): "
          f"{base['http_over_in_process_p50']:.2f}x p50, {base['http_over_in_process_p99']:.2f}x p99 "
          f"(requests.Session: {base['http_requests_over_in_process_p50']:.2f}x p50), "
          f"{base['http_throughput_ratio']:.2f}x in batches of {BATCH}")
    if not args.skip_trl:
        from benchmarks.reward_model_vs_trl import reward_model_vs_trl

        print("\ntraining our Bradley-Terry model and TRL's RewardTrainer on the same pairs ...", flush=True)
        results["reward_model_vs_trl"] = trl = reward_model_vs_trl()
        if "error" in trl["trl"]:
            print(f"TRL could not run: {trl['trl']['error']}")
        else:
            print(f"held-out accuracy: ours {trl['ours']['pairwise_accuracy']:.4f}, TRL {trl['trl']['pairwise_accuracy']:.4f}; "
                  f"training time ours/TRL {trl['time_ratio_ours_over_trl']:.3f} (aim: accuracy >= TRL's in <= 0.5x its time)")
    out = ROOT / "artifacts" / "benchmarks" / "rewards.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"requests": args.requests, "batches": args.batches, "batch": BATCH,
                               "trajectories_in_mix": len(mix), "results": results}, indent=2))
    print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
