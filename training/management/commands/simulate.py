"""``manage.py simulate``: simulated IDE users ask the policy for help; telemetry goes over HTTP.

Thin adapter over ``training.simulator``: pick the responder and version assignment, pick
the target (the local app on the embedded default, or ``--url``/``--api-key``), run, print
the ground truth (``--json``: one JSON object on the last line).
"""
from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from training.simulator import (
    HashSplit,
    HttpPolicyResponder,
    IngestRefused,
    LocalPolicyResponder,
    ReferenceResponder,
    SimulationConfig,
    SingleVersion,
    TelemetrySender,
    simulate,
    summary_get,
    summary_mismatches,
    truth_table,
)
from training.simulator.responders import DEFAULT_MAX_NEW_TOKENS, DEFAULT_TEMPERATURE, policy_version_name


class Command(BaseCommand):
    help = (
        "Simulate IDE users (OS/shell/IDE/language mix) asking the served model version for help; send their "
        "telemetry through the real ingestion API and print the ground-truth metrics Flywheel must report."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        defaults = SimulationConfig()
        parser.add_argument("--sessions", type=int, default=defaults.sessions, help="IDE sessions to simulate")
        parser.add_argument("--seed", type=int, default=defaults.seed, help="same seed, same events and ground truth")
        parser.add_argument("--split", choices=["eval", "train"], default=defaults.split, help="environment split of the tasks")
        parser.add_argument("--start", default=defaults.start.isoformat(), help="earliest session start, ISO 8601 or 'now' (ids depend on it)")
        parser.add_argument("--span-hours", type=float, default=defaults.span_hours, help="session starts spread over this many hours")
        parser.add_argument("--versions", default=None, help="comma-separated versions, users split evenly by a hash of the user id")
        target = parser.add_argument_group("target (default: the local app on the embedded default)")
        target.add_argument("--url", default=None, help="base URL of a Flywheel deployment")
        target.add_argument("--api-key", default=None, help="its API key (required with --url)")
        target.add_argument("--org", default="sim", help="organization slug used on the local app")
        target.add_argument("--otlp", action="store_true", help="send Claude Code users' telemetry as Claude Code OTLP log records (/v1/logs)")
        target.add_argument("--batch-size", type=int, default=500, help="events per POST")
        policy = parser.add_argument_group("policy (default: var/policies/v0 in-process if it exists, else --reference)")
        policy.add_argument("--model-url", default=None, help="vLLM-compatible server; versions are its served model names")
        policy.add_argument("--model-api-key", default=None, help="API key of that server")
        policy.add_argument("--policy", action="append", default=[], metavar="[VERSION=]PATH", help="policy checkpoint to run in-process (repeatable)")
        policy.add_argument("--reference", action="store_true", help="use the environment's reference answers (per-version flavor mix)")
        policy.add_argument("--max-new-tokens", type=int, default=DEFAULT_MAX_NEW_TOKENS)
        policy.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE)
        parser.add_argument("--check", action="store_true", help="read /api/v1/metrics/summary back and fail unless it equals the ground truth")
        parser.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: object, **options: object) -> None:
        if bool(options["url"]) != bool(options["api_key"]):
            raise CommandError("--url and --api-key go together")
        config = SimulationConfig(
            sessions=int(options["sessions"]),
            seed=int(options["seed"]),
            split=str(options["split"]),
            start=_start(str(options["start"])),
            span_hours=float(options["span_hours"]),
            otlp=bool(options["otlp"]),
        )
        responder = _responder(options)
        versions = [v.strip() for v in str(options["versions"] or "").split(",") if v.strip()]
        assigner = HashSplit(versions) if versions else SingleVersion(responder.served_versions()[0])
        self.stdout.write(f"responder: {responder.description}")
        self.stdout.write(f"versions: {', '.join(assigner.versions)} ({assigner!r}); transport: {'JSON + Claude Code OTLP' if config.otlp else 'JSON'}")
        with ExitStack() as stack:
            base_url, api_key = options["url"], options["api_key"]
            if not base_url:
                base_url, api_key = self._local_app(stack, org_slug=str(options["org"]))
            self.stdout.write(f"target: {base_url}")
            sender = TelemetrySender(str(base_url), str(api_key), batch_size=int(options["batch_size"]))

            def sink(record, json_events, otlp_events) -> None:
                sender.add(json_events)
                sender.add(otlp_events, otlp=True)

            try:
                result = simulate(config, responder=responder, assigner=assigner, sink=sink,
                                  keep_events=False, progress=not options["no_progress"])
                sender.close()
            except (IngestRefused, ValueError) as exc:
                raise CommandError(str(exc)) from exc
            check = None
            if options["check"]:
                summary = summary_get(str(base_url), str(api_key), versions=list(result.truth))
                check = summary_mismatches(result.truth, summary)
        output = result.to_json()
        output.update(target=base_url, requests=sender.requests, elapsed_s=round(result.elapsed_s, 3))
        if check is not None:
            output["check"] = {"equal": not check, "mismatches": check}
        self.stdout.write(
            f"sent {result.events_sent} events ({result.events_json} JSON, {result.events_otlp} as OTLP log records) "
            f"from {config.sessions} sessions in {result.elapsed_s:.1f}s"
        )
        if options["json"]:
            self.stdout.write(json.dumps(output, sort_keys=True))
        else:
            self.stdout.write("ground truth (what GET /api/v1/metrics/summary must report):")
            self.stdout.write(truth_table(result.truth))
            if check is not None:
                self.stdout.write("summary endpoint equals the ground truth" if not check else "MISMATCH:\n  " + "\n  ".join(check))
        if check:
            raise CommandError(
                f"the summary differs from the ground truth in {len(check)} places "
                "(does the organization hold other data too? use a fresh --org)"
            )

    def _local_app(self, stack: ExitStack, *, org_slug: str) -> tuple[str, str]:
        from telemetry.local_app import local_app_server
        from telemetry.services import api_key_create, organization_get_or_create

        call_command("migrate", verbosity=0)
        org = organization_get_or_create(slug=org_slug, name="Simulated users")
        if org.content_capture != "full":  # the demo org keeps completions' text for reward mining
            org.content_capture = "full"
            org.save(update_fields=["content_capture"])
        api_key = api_key_create(org=org, name="simulate")
        return stack.enter_context(local_app_server()), api_key


def _start(value: str) -> datetime:
    if value == "now":
        return datetime.now(timezone.utc).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--start: {exc}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _responder(options: dict):
    chosen = [name for name in ("model_url", "policy", "reference") if options[name]]
    if len(chosen) > 1:
        raise CommandError("choose one of --model-url, --policy, --reference")
    sampling = {"max_new_tokens": int(options["max_new_tokens"]), "temperature": float(options["temperature"])}
    try:
        if options["model_url"]:
            return HttpPolicyResponder(str(options["model_url"]), api_key=options["model_api_key"], **sampling)
        if options["policy"]:
            return LocalPolicyResponder(dict(_policy_arg(arg) for arg in options["policy"]), **sampling)
        default = Path(settings.VAR_DIR) / "policies" / "v0"
        if not options["reference"] and (default / "config.json").is_file():
            return LocalPolicyResponder({policy_version_name(default): default}, **sampling)
    except (OSError, RuntimeError) as exc:
        raise CommandError(str(exc)) from exc
    return ReferenceResponder()


def _policy_arg(arg: str) -> tuple[str, Path]:
    name, sep, path = arg.partition("=")
    if sep and name and "/" not in name:
        return name, Path(path)
    return policy_version_name(arg), Path(arg)
