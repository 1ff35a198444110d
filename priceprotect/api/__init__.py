"""Price protection over the API (DOMAIN §4). Thin: parse → call a selector or service → render.

- `orders`: what a claim on one of your orders would yield now, line by line, or the rule refusing it;
- `claims`: the one-click claim, your claims, and an agent's approval or rejection (R-PP-7);
- `exposure`: what a planned price cut would cost in price protection (staff).

An order or claim the user may not see is a 404, checked before the body is read; refusals are 400
with the `rule` (R-PP-…)."""
