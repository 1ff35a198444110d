"""The shop's settings models (one row each) can be added once and never deleted from the dashboard."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from aftersales.finance.models import RefundSettings
from returns.models import ReturnSettings
from tests import factories
from warranty.models import WarrantySettings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [RefundSettings, ReturnSettings, WarrantySettings])
def test_a_settings_row_is_added_once_and_never_deleted(model):
    request = RequestFactory().get("/")
    request.user = factories.StaffFactory(is_superuser=True)
    model_admin = admin.site._registry[model]
    assert model_admin.has_add_permission(request)
    row = model.current()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request, row)
