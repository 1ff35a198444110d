"""The five roles and the Django permissions each one carries.

Groups are created by a data migration and re-synced after every `migrate` (post_migrate), so
permissions of models added by later migrations reach the roles without another data migration.
"""

CUSTOMER = "customer"
AGENT = "agent"
TECHNICIAN = "technician"
FINANCE = "finance"
SUPERVISOR = "supervisor"
ROLES = (CUSTOMER, AGENT, TECHNICIAN, FINANCE, SUPERVISOR)
STAFF_ROLES = (AGENT, TECHNICIAN, FINANCE, SUPERVISOR)

_CASE_WORK = [
    "cases.view_case",
    "cases.change_case",
    "cases.view_caseevent",
    "cases.add_caseevent",
    "cases.view_attachment",
    "cases.add_attachment",
    "cases.view_feedback",
    "cases.view_notification",
    "returns.view_returnrequest",
    "returns.view_returnline",
    "warranty.view_claim",
    "warranty.view_unit",
    "warranty.view_partused",
    "warranty.view_servicecentre",
    "warranty.view_accessory",
    "priceprotect.view_claim",
    "priceprotect.view_claimline",
    "priceprotect.view_revocation",
    "priceprotect.review_claim",
    "techsupport.view_ticket",
    "techsupport.work_ticket",
    "techsupport.escalate_ticket",
    "techsupport.view_team",
    "techsupport.view_slapolicy",
    "techsupport.view_slaalert",
    "techsupport.view_cannedreply",
    "techsupport.view_mailmessage",
    "techsupport.view_article",
    "techsupport.view_release",
    "techsupport.view_deflection",
]
_ORDER_READ = [
    "orders.view_order",
    "orders.view_orderline",
    "orders.view_parcel",
    "orders.view_product",
    "orders.view_category",
    "orders.view_brand",
    "orders.view_pricechange",
    "accounts.view_user",
]
_LEDGER_READ = ["finance.view_balanceentry", "finance.view_pointsentry", "finance.view_coupon"]

# "app_label.codename"; codenames not (yet) in the database are skipped quietly.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    CUSTOMER: [],
    # R-FB-1: agents log follow-up calls; supervisors also complete and hand over follow-ups.
    AGENT: _ORDER_READ + _CASE_WORK + ["cases.view_followup", "cases.add_followup"],
    TECHNICIAN: _ORDER_READ + _CASE_WORK + ["warranty.repair_claim", "warranty.add_partused"],
    FINANCE: [
        *_ORDER_READ,
        "cases.view_case",
        "cases.view_caseevent",
        "cases.view_attachment",
        "finance.view_refund",
        "finance.approve_refund",
        "finance.view_refundapproval",
        "finance.view_refundevent",
        "finance.view_refundsettings",
        "finance.change_refundsettings",
        *_LEDGER_READ,
        "insight.view_insight",
    ],
    SUPERVISOR: _ORDER_READ
    + _CASE_WORK
    + [
        "orders.change_category",
        "orders.add_category",
        "orders.change_product",
        "orders.change_brand",
        "orders.add_brand",
        "orders.change_pricechange",
        "orders.view_storefront",
        # Webhook deliveries to storefronts; "change" only allows the "retry now" action (rows are read-only).
        "orders.view_webhookdelivery",
        "orders.change_webhookdelivery",
        "cases.view_businessday",
        "cases.add_businessday",
        "cases.change_businessday",
        "cases.delete_businessday",
        "accounts.change_user",
        # Failed logins (django-axes): deleting an (account, IP) row unlocks it.
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "finance.view_refund",
        "finance.view_refundevent",
        "finance.view_refundsettings",
        *_LEDGER_READ,
        "returns.view_returnsettings",
        "returns.change_returnsettings",
        "warranty.repair_claim",
        "warranty.decide_appeal",
        "warranty.view_warrantysettings",
        "warranty.change_warrantysettings",
        "warranty.add_servicecentre",
        "warranty.change_servicecentre",
        "warranty.view_centreclosure",
        "warranty.add_centreclosure",
        "warranty.change_centreclosure",
        "warranty.delete_centreclosure",
        "warranty.add_accessory",
        "warranty.change_accessory",
        "priceprotect.view_pricedropoffer",
        "priceprotect.view_priceprotectionsettings",
        "priceprotect.change_priceprotectionsettings",
        "techsupport.add_team",
        "techsupport.change_team",
        "techsupport.add_slapolicy",
        "techsupport.change_slapolicy",
        "techsupport.add_cannedreply",
        "techsupport.change_cannedreply",
        "techsupport.view_supportsettings",
        "techsupport.change_supportsettings",
        "techsupport.add_article",
        "techsupport.change_article",
        "techsupport.add_release",
        "techsupport.change_release",
        "cases.view_followup",
        "cases.add_followup",
        "cases.change_followup",
        "insight.view_insight",
        "insight.receive_weekly_summary",
    ],
}


def sync_roles(group_model, permission_model) -> None:
    """Create the role groups and give each exactly its listed permissions."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            wanted += list(permission_model.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)
