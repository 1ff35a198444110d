"""`manage.py totp_code EMAIL`: the current two-factor code of a demo staff login (seed_demo gives them
the published demo key). Refuses any other device: it is no way around a real account's second factor."""

import time

from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from aftersales.accounts.demo import DEMO_TOTP_KEY, current_code


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo staff login (the published demo key only)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        device = TOTPDevice.objects.filter(user__email__iexact=email, confirmed=True, key=DEMO_TOTP_KEY).first()
        if device is None:
            raise CommandError(f"{email} has no demo TOTP device (only seed_demo's staff logins do).")
        now = time.time()
        left = int(device.step - (now - device.t0) % device.step)
        self.stdout.write(current_code(device, at=now))
        self.stderr.write(f"(valid for {left} more seconds; each code works once)")
