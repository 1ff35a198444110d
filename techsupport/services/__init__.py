"""Writes of technical support: `tickets` (every step of a ticket) and `clock` (its SLA clock)."""
