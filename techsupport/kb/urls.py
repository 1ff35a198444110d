"""Portal pages of the knowledge base and downloads (R-SUP-5)."""

urlpatterns: list = []
