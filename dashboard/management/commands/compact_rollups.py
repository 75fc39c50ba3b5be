from django.core.management.base import BaseCommand

from dashboard.compaction import rollups_compact_all


class Command(BaseCommand):
    help = "Compact complete days of the hourly rollups into the dashboard's daily tables (idempotent)."

    def handle(self, *args, **options):
        for result in rollups_compact_all():
            self.stdout.write(
                f"{result.org}: compacted until {result.compacted_until:%Y-%m-%d}, "
                f"{result.days_rebuilt} of {result.days_checked} day(s) rebuilt"
            )
