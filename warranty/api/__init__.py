"""Warranty over the API (DOMAIN §3). Thin: parse → call a selector or service → render.

- `coverage`: each order line's coverage and remedies, serial numbers (customers, staff, the storefront);
- `claims`: filing a claim, and a claim as its customer and the shop see it;
- `steps`: one endpoint per step of a repair.

Who may take a step is the services' decision (403); a claim or order the user may not see is a 404,
checked before the body is read."""
