from django.urls import path

from . import api

urlpatterns = [
    path("orders/", api.OrderList.as_view(), name="api-order-list"),
    path("orders/<str:number>/", api.OrderDetail.as_view(), name="api-order-detail"),
    path("storefront/orders/<str:number>", api.StorefrontOrderUpsert.as_view(), name="api-storefront-order"),
    path(
        "storefront/orders/<str:number>/milestones",
        api.StorefrontOrderMilestones.as_view(),
        name="api-storefront-order-milestones",
    ),
    path("storefront/products/<str:sku>", api.StorefrontProductUpsert.as_view(), name="api-storefront-product"),
    path(
        "storefront/products/<str:sku>/price-changes",
        api.StorefrontPriceChanges.as_view(),
        name="api-storefront-price-changes",
    ),
]
