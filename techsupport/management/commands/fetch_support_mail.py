"""File the support mailbox's unread mail once (what beat does every SUPPORT_MAIL_INTERVAL_SECONDS)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from techsupport.mail import fetch_mailbox


class Command(BaseCommand):
    help = (
        "Read the support mailbox (SUPPORT_IMAP_URL): new mail opens tickets, replies land on their "
        "ticket. Prints how many messages went where."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", help="Another mailbox URL than SUPPORT_IMAP_URL (same form).")

    def handle(self, *args, url=None, **options):
        if not (url or settings.SUPPORT_IMAP_URL):
            raise CommandError("SUPPORT_IMAP_URL is empty: the support mailbox intake is off.")
        result = fetch_mailbox(url=url)
        self.stdout.write(str(result))
        if result.error:
            raise CommandError(result.error)
