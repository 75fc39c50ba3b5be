from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from telemetry.models import Membership
from telemetry.services import organization_get_or_create


class Command(BaseCommand):
    help = "Create (or update) a dashboard login with access to one organization's data."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--org", required=True, help="organization slug (created if missing)")
        parser.add_argument("--password", required=True)
        parser.add_argument("--staff", action="store_true", help="may replay the dead-letter queue")

    def handle(self, *args, username: str, org: str, password: str, staff: bool, **options):
        organization = organization_get_or_create(slug=org)
        user, created = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.is_staff = user.is_staff or staff
        user.save()
        Membership.objects.get_or_create(user=user, org=organization)
        self.stdout.write(f"{'Created' if created else 'Updated'} user {username} with access to {organization.slug}; log in at /accounts/login/")
