from django.core.management.base import BaseCommand

from telemetry.services import api_key_create, organization_get_or_create


class Command(BaseCommand):
    help = "Create an API key for an organization (created if needed); the key is the last line printed."

    def add_arguments(self, parser):
        parser.add_argument("org_slug")
        parser.add_argument("--name", default="default", help="A label for the key")
        parser.add_argument("--content-capture", choices=["off", "hashed", "full"], help="Set the org's code capture mode")

    def handle(self, *args, org_slug: str, name: str, content_capture: str | None, **options):
        org = organization_get_or_create(slug=org_slug)
        if content_capture:
            org.content_capture = content_capture
            org.save(update_fields=["content_capture"])
        key = api_key_create(org=org, name=name)
        self.stdout.write(f"Created API key '{name}' for organization '{org.slug}'. Store it now; it is not shown again:")
        self.stdout.write(key)
