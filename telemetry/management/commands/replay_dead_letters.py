from django.core.management.base import BaseCommand

from telemetry.services import dead_letters_replay


class Command(BaseCommand):
    help = "Replay the telemetry dead-letter queue (Kafka topic or embedded table) into the pipeline."

    def handle(self, *args, **options):
        replayed = dead_letters_replay()
        self.stdout.write(f"Replayed {replayed} dead-lettered message(s).")
