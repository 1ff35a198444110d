"""manage.py create_storefront NAME: register a storefront and print its API token once."""

from django.core.management.base import BaseCommand, CommandError

from aftersales.common.errors import ValidationFailed
from aftersales.orders import services


class Command(BaseCommand):
    help = "Create a storefront and print its ingest API token (shown once; only its SHA-256 is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--token", help="Use this token instead of a random one (for demos and tests).")

    def handle(self, *args, name, token=None, **options):
        try:
            storefront, token = services.create_storefront(name=name, token=token)
        except ValidationFailed as error:
            messages = [str(m) for msgs in error.fields.values() for m in msgs] or [str(error.message)]
            raise CommandError(" ".join(messages)) from None
        self.stdout.write(f"Storefront {storefront.name!r} created. Its token (shown only this once):")
        self.stdout.write(token)
        self.stdout.write("Send it as the header:  Authorization: Storefront <token>")
