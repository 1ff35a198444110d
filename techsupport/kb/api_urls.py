"""API of the knowledge base and downloads (R-SUP-5)."""

from django.urls import path

from . import api

urlpatterns = [
    path("kb/articles/", api.Articles.as_view(), name="api-kb-articles"),
    path("kb/articles/<str:slug>/", api.ArticleDetail.as_view(), name="api-kb-article"),
    path("kb/articles/<str:slug>/vote/", api.Vote.as_view(), name="api-kb-vote"),
    path("kb/suggest/", api.Suggest.as_view(), name="api-kb-suggest"),
    path("kb/deflections/<int:pk>/resolved/", api.DeflectionResolved.as_view(), name="api-kb-resolved"),
    path("kb/releases/", api.Releases.as_view(), name="api-kb-releases"),
]
