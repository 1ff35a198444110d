"""manage.py verify_books: check the cases, refunds and ledger of this database (aftersales.common.books);
exit status 1 when anything is wrong."""

import sys

from django.core.management.base import BaseCommand

from aftersales.common.books import verify_books


class Command(BaseCommand):
    help = "Check every case's status and audit trail, every refund's, and the ledger; exit 1 on any problem."

    def add_arguments(self, parser):
        parser.add_argument(
            "--gateway-executed",
            type=int,
            default=None,
            help="How many refunds the payment gateway says moved money (compared with the refunds paid there).",
        )

    def handle(self, *args, gateway_executed=None, **options):
        problems, checked = verify_books(gateway_executed=gateway_executed)
        for label, count in checked.items():
            self.stdout.write(f"{label:<60} {count:>10,}")
        for problem in problems:
            self.stderr.write(f"PROBLEM {problem}")
        if problems:
            self.stderr.write(f"verify_books: {len(problems)} problem(s)")
            sys.exit(1)
        self.stdout.write("verify_books: no problem found")
