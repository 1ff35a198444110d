"""Demo-data hooks: each feature app adds its own demo records to `manage.py seed_demo` through its
own services, registered at start-up, so the core seeder never imports a feature app."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from random import Random


@dataclass
class DemoContext:
    now: datetime
    rng: Random
    staff: dict  # role name → user (the demo logins)
    demo_orders: dict  # the demo customer's orders by scenario name ("phone", "kitchen", …)
    other_orders: list  # other customers' signed-for orders, newest first; take what you use
    backdate: Callable  # backdate(case, order): spread a case's timeline after its order's sign-for
    warn: Callable[[str], None]


_seeders: list[Callable[[DemoContext], None]] = []


def register(seeder: Callable[[DemoContext], None]) -> None:
    if seeder not in _seeders:
        _seeders.append(seeder)


def seeders() -> list[Callable[[DemoContext], None]]:
    return list(_seeders)
