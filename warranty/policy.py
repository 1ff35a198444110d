"""Warranty rules as pure functions (DOMAIN §3, R-WAR-1 … R-WAR-10): coverage, the remedies a claim may
pick on a given day, the documents a claim needs, exclusions, accessory prices and routing to a
service centre. Nothing here reads the database; `warranty.selectors` gathers the facts.

Rules this shop adds to DOMAIN's, from the 三包 regulations (each a knob in `WarrantySettings`):
- R-WAR-8 The warranty is extended by the days a unit spent in repair (received → shipped back).
- R-WAR-9 After N repairs (default 2) of the same fault within the warranty, a new claim for that fault
  opens a replacement or a refund instead of another repair.
- R-WAR-10 A repair not finished within N days (default 30) of the unit's arrival earns the customer a
  free replacement offer.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales.orders.guarantees import Remedy, day_number, local_day, quality_remedies, warranty_end

ZERO = Decimal("0.00")


class Fault(models.TextChoices):
    """What is wrong, in the customer's words: "the same fault" (R-WAR-9) compares these."""

    NO_POWER = "no_power", gettext_lazy("Does not switch on")
    DISPLAY = "display", gettext_lazy("Screen or picture")
    AUDIO = "audio", gettext_lazy("Sound")
    BATTERY = "battery", gettext_lazy("Battery or charging")
    CONNECTIVITY = "connectivity", gettext_lazy("Network, Wi-Fi or Bluetooth")
    CONTROLS = "controls", gettext_lazy("Buttons, keys or touch")
    NOISE_HEAT = "noise_heat", gettext_lazy("Noise, vibration or overheating")
    SOFTWARE = "software", gettext_lazy("Software or firmware")
    MECHANICAL = "mechanical", gettext_lazy("Mechanical part")
    OTHER = "other", gettext_lazy("Something else")


class Document(models.TextChoices):
    """R-WAR-4: what a claim should come with."""

    ORIGINAL_INVOICE = "original_invoice", gettext_lazy("Original invoice (a copy is not valid)")
    WARRANTY_CARD = "warranty_card", gettext_lazy("Warranty card")
    ACCESSORIES = "accessories", gettext_lazy("All accessories")
    PACKAGING = "packaging", gettext_lazy("Original packaging")
    MANUAL = "manual", gettext_lazy("Manual")


class Exclusion(models.TextChoices):
    """R-WAR-3: why a fault is not covered, decided at diagnosis."""

    UNAUTHORISED_REPAIR = "unauthorised_repair", gettext_lazy("Repaired or opened by an unauthorised party")
    MISUSE = "misuse", gettext_lazy("Used other than as the manual says")
    NEGLIGENCE = "negligence", gettext_lazy("Not looked after as the manual says")
    ABUSE = "abuse", gettext_lazy("Deliberate damage")
    ACCIDENT = "accident", gettext_lazy("Accidental damage (a drop, a liquid)")
    MODIFICATION = "modification", gettext_lazy("Modified")
    IMPROPER_INSTALLATION = "improper_installation", gettext_lazy("Installed other than as the manual says")


class Diagnosis(models.TextChoices):
    COVERED = "covered", gettext_lazy("Covered: free repair")
    EXCLUDED = "excluded", gettext_lazy("Not covered (exclusion)")
    IRREPARABLE = "irreparable", gettext_lazy("Cannot be repaired")


# R-WAR-6: besides the three guarantees' remedies (`guarantees.Remedy`), a claim may ask for an accessory
# or spare part of the product's category instead of a repair; no unit travels.
ACCESSORY = "accessory"
ACCESSORY_LABEL = gettext_lazy("An accessory or spare part instead of a repair")


class ServiceMode(models.TextChoices):
    SHIP_IN = "ship_in", gettext_lazy("I send the unit in")
    ON_SITE = "on_site", gettext_lazy("A technician visits me")


@dataclass(frozen=True)
class Refusal:
    rule: str
    message: str


@dataclass(frozen=True)
class Coverage:
    """R-WAR-1 / R-WAR-8: the unit's warranty, from sign-for, extended by its days in repair."""

    starts_at: datetime
    base_ends_at: datetime
    extension_days: int
    ends_at: datetime

    def covers(self, moment: datetime) -> bool:
        return self.starts_at <= moment <= self.ends_at


@dataclass(frozen=True)
class RemedyOption:
    remedy: str  # guarantees.Remedy
    open_until: datetime
    rule: str  # R-WAR-2 (the ladder) or R-WAR-9 (repeated repairs of one fault)


@dataclass(frozen=True)
class ClaimVerdict:
    coverage: Coverage | None
    remedies: tuple[RemedyOption, ...] = ()
    refusal: Refusal | None = None
    day: int | None = None

    def remedy(self, remedy: str) -> RemedyOption | None:
        return next((r for r in self.remedies if r.remedy == remedy), None)


@dataclass(frozen=True)
class Knobs:
    """The shop's warranty settings, as plain values (see `WarrantySettings`)."""

    extend_by_repair_days: bool = True
    repairs_before_replacement: int = 2
    long_repair_days: int = 30
    blocking_documents: frozenset[str] = field(default_factory=lambda: frozenset({Document.ORIGINAL_INVOICE}))


def coverage(
    *, signed_for_at: datetime | None, warranty_months: int, repair_days: int, knobs: Knobs
) -> Coverage | None:
    """R-WAR-1: None until the unit is signed for (coverage starts then)."""
    if signed_for_at is None:
        return None
    base = warranty_end(signed_for_at, warranty_months)
    extension = repair_days if knobs.extend_by_repair_days else 0
    return Coverage(
        starts_at=signed_for_at,
        base_ends_at=base,
        extension_days=extension,
        ends_at=base + timedelta(days=extension),
    )


def claim_verdict(
    *,
    signed_for_at: datetime | None,
    now: datetime,
    warranty_months: int,
    repair_days: int,
    repairs_of_fault: int,
    knobs: Knobs,
) -> ClaimVerdict:
    """R-WAR-2: the remedies a performance fault opens today — the three-guarantees ladder (return /
    exchange / repair to day 7, exchange / repair to day 15, then repair while covered) — plus R-WAR-9:
    after `repairs_before_replacement` repairs of this fault, replacement or refund while covered.
    R-WAR-8 extends the repair step's end by the days already spent in repair."""
    cover = coverage(signed_for_at=signed_for_at, warranty_months=warranty_months, repair_days=repair_days, knobs=knobs)
    if cover is None:
        return ClaimVerdict(
            coverage=None,
            refusal=Refusal(
                "R-WAR-1", _("The warranty starts when you sign for the goods; they are not signed for yet.")
            ),
        )
    day = day_number(signed_for_at, now)
    remedies = []
    for step in quality_remedies(signed_for_at=signed_for_at, now=now, warranty_months=warranty_months):
        if step.remedy != Remedy.REPAIR:
            remedies.append(RemedyOption(step.remedy, step.open_until, "R-WAR-2"))
    if cover.covers(now):
        if repairs_of_fault >= knobs.repairs_before_replacement:
            for remedy in (Remedy.RETURN, Remedy.EXCHANGE):
                if not any(r.remedy == remedy for r in remedies):
                    remedies.append(RemedyOption(remedy, cover.ends_at, "R-WAR-9"))
        remedies.append(RemedyOption(Remedy.REPAIR, cover.ends_at, "R-WAR-2"))
    if not remedies:
        return ClaimVerdict(
            coverage=cover,
            day=day,
            refusal=Refusal(
                "R-WAR-2",
                _("The warranty ended on %(date)s; we can offer a paid repair instead.")
                % {"date": local_day(cover.ends_at).isoformat()},
            ),
        )
    order = [Remedy.RETURN, Remedy.EXCHANGE, Remedy.REPAIR]
    remedies.sort(key=lambda r: order.index(r.remedy))
    return ClaimVerdict(coverage=cover, remedies=tuple(remedies), day=day)


def missing_documents(declared: dict[str, bool]) -> list[str]:
    """R-WAR-4: the documents the customer does not have, in the checklist's order."""
    return [doc for doc in Document.values if not declared.get(doc, False)]


def document_refusal(missing: Iterable[str], knobs: Knobs) -> Refusal | None:
    """R-WAR-4: a missing document the shop requires blocks the claim; the others are recorded for the
    technician (they may delay it)."""
    blocking = [doc for doc in missing if doc in knobs.blocking_documents]
    if not blocking:
        return None
    names = ", ".join(str(Document(doc).label) for doc in blocking)
    return Refusal("R-WAR-4", _("A warranty claim needs: %(documents)s.") % {"documents": names})


def accessory_price(*, price: Decimal, wearing_part: bool, covered: bool) -> Decimal:
    """R-WAR-6: a wearing part is free while the unit is covered; otherwise the part is sold at its price."""
    return ZERO if (covered and wearing_part) else price


def accessory_price_reason(*, price: Decimal, wearing_part: bool, covered: bool) -> str:
    """R-WAR-6: why an accessory costs what `accessory_price` says, in a sentence for the customer."""
    if accessory_price(price=price, wearing_part=wearing_part, covered=covered) == ZERO:
        if covered and wearing_part:
            return _("A wearing part is free while the unit is under warranty.")
        return _("This part is free.")
    if wearing_part:
        return _("The warranty has ended, so the wearing part is sold at its price.")
    return _("Only wearing parts are free under the warranty; this part is sold at its price.")


def days_in_repair(received_at: datetime, returned_at: datetime) -> int:
    """R-WAR-8: calendar days the unit was away, counting the day it arrived and not the day it left."""
    return max((local_day(returned_at) - local_day(received_at)).days, 0)


def long_repair_at(received_at: datetime, knobs: Knobs) -> datetime:
    """R-WAR-10: when a repair still unfinished earns a free replacement offer."""
    return received_at + timedelta(days=knobs.long_repair_days)


@dataclass(frozen=True)
class CentreFacts:
    pk: int
    brand_ids: frozenset[int]
    regions: frozenset[str]
    on_site: bool


def route(centres: Sequence[CentreFacts], *, brand_id: int, region: str, mode: str) -> int | None:
    """R-WAR-7: the centre for a claim: one serving the brand in the customer's region, else one serving
    the brand anywhere (the unit travels), else None (the shop's own workshop). A centre's region
    covers every region that starts with it ("广东省" serves "广东省深圳市"). An on-site visit needs a
    centre in the region that visits. Ties go to the lowest id, so routing is stable."""
    region = (region or "").strip().casefold()
    serving = sorted((c for c in centres if brand_id in c.brand_ids), key=lambda c: c.pk)
    local = [c for c in serving if region and any(region.startswith(r.strip().casefold()) for r in c.regions if r)]
    if mode == ServiceMode.ON_SITE:
        visiting = [c for c in local if c.on_site]
        return visiting[0].pk if visiting else None
    if local:
        return local[0].pk
    return serving[0].pk if serving else None


def expiry_reminder_due(ends_at: datetime, now: datetime, days_before: int) -> bool:
    """Whether `now` is inside the reminder window before coverage ends."""
    return now <= ends_at and local_day(ends_at) - local_day(now) <= timedelta(days=days_before)


def local_date(moment: datetime) -> date:
    return local_day(moment)
