"""``manage.py serve``: the embedded default's server, in the foreground, for local clients.

The same server the demo and the simulator use (``telemetry.local_app``): Django's threaded
WSGI server with static files and chunked request bodies read in full, so agent CLIs can
export OTLP to it. For a deployment run ``bash scripts/serve.sh`` (gunicorn) instead.
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from telemetry.local_app import local_server


class Command(BaseCommand):
    help = "Serve Flywheel on the embedded default's server (chunked OTLP bodies included) until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: object, host: str, port: int, **options: object) -> None:
        server = local_server(host, port)
        self.stdout.write(f"Flywheel serving on http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
