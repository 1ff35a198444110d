"""The workflow engine: each case kind declares its statuses, transitions and deadline actions once
(in its app's workflow.py) and registers them here at start-up. The core never imports feature
apps; it only looks kinds up in this registry."""

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module

from django.apps import AppConfig


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    # Who may ask for it: "customer" (the case's own customer), "system" (services and sweepers
    # only) or a Django permission ("cases.change_case").
    allowed: str = "cases.change_case"
    label: str = ""  # translatable button text; defaults to the name

    @property
    def display(self) -> str:
        return str(self.label) if self.label else self.name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class DeadlineAction:
    """What the sweeper does when a case's deadline passes: either apply `transition`, or call
    `handler(cases, now)` for anything a transition cannot express (reminders, escalations)."""

    name: str
    transition: str = ""
    handler: Callable | None = None
    note: str = ""
    label: str = ""  # translatable: what staff read for it on a case ("remind the customer to ship")


@dataclass
class Workflow:
    kind: str
    initial: str
    statuses: dict[str, str]  # value → translatable label
    final: frozenset[str]
    transitions: dict[str, Transition] = field(default_factory=dict)
    deadline_actions: dict[str, DeadlineAction] = field(default_factory=dict)
    # R-FB-1: entering one of these statuses invites the customer to rate the case.
    feedback_on: frozenset[str] = frozenset()
    # Where staff take this kind's steps when its app's services do more than move the status
    # (deadlines, refunds, checks): `staff_steps_url(case)`. Generic staff moves (the case page's
    # buttons, the cases API) are then refused, so no rule is skipped; customers' own steps stay.
    staff_steps_url: Callable | None = None
    # Customer steps whose services do more than move the status (record an amount or a text, check
    # an offer, open another case): the kind's own portal forms take them, never the generic buttons.
    own_customer_steps: frozenset[str] = frozenset()
    # R-FB-1: what a low rating does to a case of this kind: `on_low_rating(case=, feedback=)`, called
    # inside the rating's transaction (e.g. a ticket reopens). Without it, a supervisor follow-up task
    # is opened instead (`aftersales.cases.followups`).
    on_low_rating: Callable | None = None
    # Messages on this kind's cases are written through its own forms (a ticket's run its SLA clock):
    # the case page's generic message form and `POST /api/v1/cases/{number}/notes/` refuse them.
    own_messages: bool = False

    def __post_init__(self):
        known = set(self.statuses)
        assert self.initial in known and self.final <= known, f"{self.kind}: unknown status"
        assert self.feedback_on <= self.final, f"{self.kind}: feedback is asked for closed cases only"
        for t in self.transitions.values():
            assert t.sources <= known and t.target in known, f"{self.kind}.{t.name}: unknown status"
        for a in self.deadline_actions.values():
            assert bool(a.transition) != bool(a.handler), f"{self.kind}.{a.name}: transition xor handler"
            assert not a.transition or a.transition in self.transitions, f"{self.kind}.{a.name}"
            # The sweeper moves transition actions in bulk, without the invitation to rate: a
            # deadline that closes a case for feedback is a handler calling the kind's service.
            assert not a.transition or self.transitions[a.transition].target not in self.feedback_on, a.name
        for name in self.own_customer_steps:
            assert self.transitions.get(name) and self.transitions[name].allowed == "customer", f"{self.kind}.{name}"


_registry: dict[str, Workflow] = {}


def register(workflow: Workflow) -> None:
    _registry[workflow.kind] = workflow


def get(kind: str) -> Workflow:
    try:
        return _registry[kind]
    except KeyError:
        raise LookupError(f"No workflow registered for case kind {kind!r}") from None


def registered_kinds() -> list[str]:
    return sorted(_registry)


def generic_move_allowed(flow: Workflow, t: Transition) -> bool:
    """May `t` be taken through the generic case buttons and API (not the kind's own steps)?"""
    if t.name in flow.own_customer_steps:
        return False
    return flow.staff_steps_url is None or t.allowed == "customer"


def status_label(kind: str, status: str) -> str:
    workflow = _registry.get(kind)
    return str(workflow.statuses.get(status, status)) if workflow else status


def deadline_action_label(kind: str, name: str) -> str:
    workflow = _registry.get(kind)
    action = workflow.deadline_actions.get(name) if workflow else None
    return str(action.label or name) if action else name


class FeatureAppConfig(AppConfig):
    """Base for feature apps: at start-up, register the workflows their `workflow.py` declares, so
    the core can drive their cases without importing them."""

    def ready(self):
        for flow in import_module(f"{self.name}.workflow").workflows():
            register(flow)
