"""Strings of Django's admin that Django's own Simplified Chinese catalogue lacks (5.2), listed so that
makemessages copies them into ours: Django reads LOCALE_PATHS first, so the dashboard shows ours.
tests/test_i18n.py fails when a Django upgrade adds another one."""

from django.utils.translation import gettext_noop

MISSING_FROM_DJANGO_ZH_HANS = [
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
    gettext_noop("Error:"),
    gettext_noop("Forgotten your login credentials?"),
    gettext_noop("In case you’ve forgotten, you are:"),
]
