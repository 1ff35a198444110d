from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests import factories

SH = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    """A moment on the shop's clock (Asia/Shanghai)."""
    return datetime(*args, tzinfo=SH)


@pytest.fixture
def technician(db):
    return factories.StaffFactory(role="technician")


@pytest.fixture
def lead(db):
    return factories.StaffFactory(role="agent", full_name="Team Lead")


@pytest.fixture
def teams(db, agent, technician, lead):
    """First line (its lead, and the agent) and technical support (the technician, same lead)."""
    from techsupport.models import Team

    first = Team.objects.create(code="first-line", name="First line", tier=1, lead=lead)
    first.members.add(agent)
    technical = Team.objects.create(code="technical", name="Technical support", tier=2, lead=lead)
    technical.members.add(technician)
    return first, technical


@pytest.fixture
def open_ticket(customer, teams):
    """Open a ticket as the customer at the current (travelled) time."""
    from techsupport.services import tickets

    def make(**kwargs):
        values = {"customer": customer, "actor": customer, "subject": "App will not pair", "body": "It fails."}
        values.setdefault("category", kwargs.pop("category", "usage"))
        return tickets.open_ticket(**{**values, **kwargs})

    return make
