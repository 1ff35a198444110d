from django.contrib.auth.models import Group, Permission

from .roles import sync_roles


def resync_roles(sender, **kwargs):
    sync_roles(Group, Permission)
