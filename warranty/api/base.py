"""What every warranty endpoint shares: parsing, JSON-or-multipart bodies, limits."""

from rest_framework import serializers

from aftersales.common.api import multipart_json

from ..models import MONEY

TEXT_MAX = 4000


def money(**kwargs):
    return serializers.DecimalField(**MONEY, **kwargs)


def body_and_photos(request) -> tuple[dict, list]:
    """JSON, or multipart/form-data with the JSON object as a string in `data` and images as `photos`."""
    if not request.content_type.startswith("multipart/"):
        return request.data, []
    body = multipart_json(request)
    return body, request.FILES.getlist("photos")


class WarrantyMultipartInput(serializers.Serializer):
    data = serializers.CharField(help_text="The JSON request body, as a string.")
    photos = serializers.ListField(child=serializers.ImageField(), required=False)
