import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from telemetry.consumer import ConsumerConfig, consume

logger = logging.getLogger("flywheel.telemetry.consumer")


class Command(BaseCommand):
    help = "Consume telemetry from Kafka into the database until SIGTERM/SIGINT."

    def add_arguments(self, parser):
        parser.add_argument("--max-records", type=int, default=1000, help="Largest batch per transaction")
        parser.add_argument("--group", default=None, help="Consumer group (default: TELEMETRY_CONSUMER_GROUP)")

    def handle(self, *args, max_records: int, group: str | None, **options):
        if not settings.KAFKA_BOOTSTRAP_SERVERS:
            raise CommandError("KAFKA_BOOTSTRAP_SERVERS is not set: the embedded bus stores events in-process, no consumer needed.")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        config = ConsumerConfig(
            bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
            topic=settings.TELEMETRY_TOPIC,
            dlq_topic=settings.TELEMETRY_DLQ_TOPIC,
            group_id=group or settings.TELEMETRY_CONSUMER_GROUP,
            max_records=max_records,
        )
        stored = {"inserted": 0, "duplicates": 0, "dead": 0}

        def on_batch(result):
            stored["inserted"] += result.inserted
            stored["duplicates"] += result.duplicates
            stored["dead"] += len(result.dead_letters)

        self.stdout.write(f"Consuming {config.topic} as group {config.group_id}", ending="\n")
        self.stdout.flush()
        consume(config, stop=stop, on_batch=on_batch)
        self.stdout.write(
            f"Stopped cleanly: {stored['inserted']} stored, {stored['duplicates']} duplicates skipped, {stored['dead']} dead-lettered."
        )
