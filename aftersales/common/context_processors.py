from django.conf import settings


def shop(request):
    unread = 0
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from aftersales.cases.selectors import unread_notifications

        unread = unread_notifications(user).count()
    return {"SHOP_NAME": settings.SHOP_NAME, "SHOP_CURRENCY": settings.SHOP_CURRENCY, "unread_notifications": unread}
