"""The demo shop's staff TOTP devices (STAFF_TWO_FACTOR): one published key for every demo staff
login, so anyone trying the demo can log in to the dashboard. Add DEMO_TOTP_KEY_BASE32 to an
authenticator app, or run `manage.py totp_code EMAIL`. Never use it for real accounts."""

from base64 import b32encode

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

DEMO_TOTP_KEY = "616674657273616c65732d64656d6f2d32666121"  # hex, as django-otp stores it
DEMO_TOTP_KEY_BASE32 = b32encode(bytes.fromhex(DEMO_TOTP_KEY)).decode()  # MFTHIZLSONQWYZLTFVSGK3LPFUZGMYJB
DEMO_DEVICE_NAME = "demo (published key)"


def ensure_demo_device(user) -> TOTPDevice:
    device, _ = TOTPDevice.objects.update_or_create(
        user=user, name=DEMO_DEVICE_NAME, defaults={"key": DEMO_TOTP_KEY, "confirmed": True}
    )
    return device


def current_code(device: TOTPDevice, *, at: float) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = at
    return f"{totp.token():0{device.digits}d}"
