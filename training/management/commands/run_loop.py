"""``manage.py run_loop``: the whole feedback loop, N cycles (thin adapter over ``training.services.loop``)."""
from __future__ import annotations

import json

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from training.release.gate import GateConfig
from training.services.loop import HEADLINE, LoopConfig, before_after_table, loop_run


class Command(BaseCommand):
    help = (
        "Serve the policy through the vLLM-API server, send simulated IDE traffic through the real ingestion, mine "
        "preferences, train a reward model, run RL, gate, canary via /api/v1/assignment, promote or roll back "
        "automatically, and print the before/after headline metrics (--json: one JSON object on the last line)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        d = LoopConfig()
        parser.add_argument("--cycles", type=int, default=d.cycles)
        parser.add_argument("--seed", type=int, default=d.seed, help="population seed of the simulated users")
        parser.add_argument("--org", default=d.org_slug, help="organization slug (default: a fresh one per run)")
        parser.add_argument("--policy", default=d.policy_dir, help="base policy v0 directory (default var/policies/v0; bootstrapped if missing)")
        parser.add_argument("--v0-steps", type=int, default=d.v0_steps, help="bootstrap steps when v0 is created")
        parser.add_argument("--traffic-sessions", type=int, default=d.traffic_sessions)
        parser.add_argument("--canary-sessions", type=int, default=d.canary_sessions, help="sessions per canary round")
        parser.add_argument("--canary-max-rounds", type=int, default=d.canary_max_rounds)
        parser.add_argument("--after-sessions", type=int, default=d.after_sessions)
        parser.add_argument("--canary-share", type=float, default=d.canary_share)
        parser.add_argument("--min-sessions-per-arm", type=int, default=d.min_sessions_per_arm)
        parser.add_argument("--canary-max-duration", type=float, default=d.canary_max_duration_s, help="seconds")
        parser.add_argument("--backend", default=d.backend, choices=["local", "vllm"])
        parser.add_argument("--reward-model", default=d.reward_model_kind, choices=["baseline", "bradley_terry"])
        parser.add_argument("--rl-steps", type=int, default=d.rl_steps)
        parser.add_argument("--rl-learning-rate", type=float, default=d.rl_learning_rate)
        parser.add_argument("--rl-group-size", type=int, default=d.rl_group_size)
        parser.add_argument("--rl-prompts-per-step", type=int, default=d.rl_prompts_per_step)
        parser.add_argument("--eval-samples", type=int, default=d.eval_samples,
                            help="answers per held-out task in the gate, at the serving temperature (1: greedy)")
        parser.add_argument("--gate-margin", type=float, default=d.gate.margin, help="success points the candidate must beat")
        parser.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: object, **o: object) -> None:
        try:
            config = LoopConfig(
                cycles=int(o["cycles"]), seed=int(o["seed"]), org_slug=str(o["org"]), policy_dir=str(o["policy"]),
                v0_steps=int(o["v0_steps"]), traffic_sessions=int(o["traffic_sessions"]),
                canary_sessions=int(o["canary_sessions"]), canary_max_rounds=int(o["canary_max_rounds"]),
                after_sessions=int(o["after_sessions"]), canary_share=float(o["canary_share"]),
                min_sessions_per_arm=int(o["min_sessions_per_arm"]), canary_max_duration_s=float(o["canary_max_duration"]),
                backend=str(o["backend"]), reward_model_kind=str(o["reward_model"]), rl_steps=int(o["rl_steps"]),
                rl_learning_rate=float(o["rl_learning_rate"]), rl_group_size=int(o["rl_group_size"]),
                rl_prompts_per_step=int(o["rl_prompts_per_step"]), gate=GateConfig(margin=float(o["gate_margin"])),
                eval_samples=int(o["eval_samples"]),
                progress=not o["no_progress"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        call_command("migrate", verbosity=0)

        def say(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        result = loop_run(config, say=say)
        say("\nBefore/after, from Flywheel's own telemetry (GET /api/v1/metrics/summary; 95% intervals from the same rollups):")
        say(before_after_table(result["cycles"]))
        dashboard = result["dashboard"]
        say(
            f"\nDashboard: `python manage.py runserver` and open http://127.0.0.1:8000{dashboard['url']} "
            f"(log in as {dashboard['username']} / {dashboard['password']}); the Overview and Compare pages "
            f"show every version's metrics side by side. Finished in {result['elapsed_s']:.0f}s."
        )
        if o["json"]:
            self.stdout.write(json.dumps({k: v for k, v in result.items() if k != "dashboard"} | {
                "dashboard": {"url": dashboard["url"], "username": dashboard["username"]},
                "headline_metrics": [key for key, _ in HEADLINE],
            }, sort_keys=True, default=str))
