from django.core.management import call_command
from django.core.management.base import BaseCommand

from telemetry.demo import DemoConfig, demo_run, summary_table


class Command(BaseCommand):
    help = "Run the main job on the embedded default: serve the app, send telemetry over HTTP, print metrics."

    def add_arguments(self, parser):
        parser.add_argument("--sessions", type=int, default=DemoConfig.sessions)
        parser.add_argument("--seed", type=int, default=DemoConfig.seed)

    def handle(self, *args, sessions: int, seed: int, **options):
        call_command("migrate", verbosity=0)
        result = demo_run(DemoConfig(sessions=sessions, seed=seed))
        self.stdout.write(f"\nSent {result['sent']} events, {result['accepted']} accepted.\n")
        self.stdout.write(f"Headline metrics for organization '{result['summary']['organization']}':\n")
        self.stdout.write(summary_table(result["summary"]))
