"""``manage.py serve_policy``: the local vLLM stand-in for a policy (thin adapter)."""
from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandParser

from training.serving.local_server import policy_server_create


class Command(BaseCommand):
    help = "Serve a policy over vLLM's OpenAI-compatible HTTP API (health, models, completions, chat, LoRA load/unload)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--policy", required=True, help="Hugging Face checkpoint directory")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
        parser.add_argument("--served-model-name", default=None, help="name of the base model (default: the path)")
        parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer <key>' on /v1/*")

    def handle(self, *args: object, **options: object) -> None:
        logging.getLogger("flywheel.serving").setLevel(logging.INFO)
        server = policy_server_create(
            options["policy"],
            host=str(options["host"]),
            port=int(options["port"]),
            served_model_name=options["served_model_name"],
            api_key=options["api_key"],
        )
        self.stdout.write(f"serving {server.base_model_name} at {server.url} (Ctrl-C to stop)")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
