"""The production WSGI application with the bench's URLs (bench/urls.py: the project's plus the baseline)."""

import os

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
django.setup(set_prefix=False)
settings.ROOT_URLCONF = "bench.urls"

from django.core.wsgi import get_wsgi_application  # noqa: E402  (after the URLconf is chosen)

application = get_wsgi_application()
