"""Writes on users: creating customers and staff with their role."""

from django.contrib.auth.models import Group
from django.db import transaction

from . import roles
from .models import User


@transaction.atomic
def user_create(*, email: str, password: str | None, role: str, full_name: str = "", **extra) -> User:
    """Create a user in one role; staff roles get `is_staff` so they can use the dashboard."""
    if role not in roles.ROLES:
        raise ValueError(f"Unknown role {role!r}")
    user = User.objects.create_user(
        email=email, password=password, full_name=full_name, is_staff=role in roles.STAFF_ROLES, **extra
    )
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    return user
