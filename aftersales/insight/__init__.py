"""Staff insight (R-FB-2): figures over a period — volumes, reasons, return rates, time to resolution,
SLA compliance, refunds, price-protection compensation and satisfaction — as server-drawn SVG charts,
each with its numbers as CSV, and the same headline figures e-mailed to supervisors every week. Its
page hangs off the admin site (`aftersales.common.admin_site`); its one model records the e-mails sent
and carries the two permissions."""
