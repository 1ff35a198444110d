"""Every write on a return request (DOMAIN §2). `submit` opens one; `steps` moves it on."""

from ..workflow import EXPIRE_UNSHIPPED, INSPECTION_OVERDUE, REMIND_UNSHIPPED
from .entitled import open_entitled
from .steps import (
    approve,
    cancel,
    close_without_refund,
    confirm_receipt,
    difference_unpaid,
    enter_tracking,
    inspect,
    receive,
    record_difference_paid,
    refund_due,
    refund_paid,
    refund_rejected,
    reject,
    requeue_refund,
    send_back,
    ship_replacement,
)
from .submit import resolve_lines, submit_request

__all__ = [
    "EXPIRE_UNSHIPPED",
    "INSPECTION_OVERDUE",
    "REMIND_UNSHIPPED",
    "approve",
    "cancel",
    "close_without_refund",
    "confirm_receipt",
    "difference_unpaid",
    "enter_tracking",
    "inspect",
    "open_entitled",
    "receive",
    "record_difference_paid",
    "refund_due",
    "refund_paid",
    "refund_rejected",
    "reject",
    "requeue_refund",
    "resolve_lines",
    "send_back",
    "ship_replacement",
    "submit_request",
]
