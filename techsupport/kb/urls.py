"""Portal pages of the knowledge base and downloads (R-SUP-5)."""

from django.urls import path

from . import views

app_name = "kb"

urlpatterns = [
    path("support/help/", views.help_centre, name="help"),
    path("support/help/answered/<int:pk>/", views.answered, name="answered"),
    path("support/help/<str:slug>/", views.article, name="article"),
    path("support/help/<str:slug>/vote/", views.vote, name="vote"),
    path("support/downloads/", views.downloads, name="downloads"),
    path("support/downloads/<int:product_id>/", views.product_downloads, name="product-downloads"),
    path("support/downloads/release/<int:pk>/file", views.release_file, name="release-file"),
]
