"""Staff insight (R-FB-2): figures over a period — volumes, reasons, return rates, time to resolution,
SLA compliance, refunds, price-protection compensation and satisfaction — as server-drawn SVG charts,
each with its numbers as CSV. A core package, not an app: it has no models; its one page hangs off the
admin site (`aftersales.common.admin_site`)."""
