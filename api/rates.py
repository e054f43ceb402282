"""Exchange rates of the API: the dated rates that convert bills in another currency (docs/api.md)."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from costing.models import ExchangeRate

from .pagination import Pagination
from .permissions import ReadEverythingWriteAdmin


class ExchangeRateSerializer(serializers.ModelSerializer):
    """One dated rate; currencies are read in any case and stored in capitals."""

    class Meta:
        model = ExchangeRate
        fields = ["id", "from_currency", "to_currency", "rate", "valid_from", "note", "created_at"]
        read_only_fields = ["created_at"]

    def to_internal_value(self, data):
        if hasattr(data, "copy"):
            data = data.copy()
            for name in ("from_currency", "to_currency"):
                if isinstance(data.get(name), str):
                    data[name] = data[name].strip().upper()
        return super().to_internal_value(data)

    def validate(self, attrs):
        source = attrs.get("from_currency", getattr(self.instance, "from_currency", None))
        target = attrs.get("to_currency", getattr(self.instance, "to_currency", None))
        if source and source == target:
            raise serializers.ValidationError(
                {"to_currency": ["a rate converts between two different currencies"]}
            )
        rate = attrs.get("rate")
        if rate is not None and rate <= 0:
            raise serializers.ValidationError({"rate": ["a rate is greater than 0"]})
        return attrs


class ExchangeRateViewSet(viewsets.ModelViewSet):
    """Dated exchange rates: read by admins and viewers, written by FinOps admins.

    A bill line in another currency is converted at the rate in force on the start day (UTC) of its charge
    period. A rate added or changed applies to the imports that follow: upload the bill again to reconvert it.
    Filters: ?from_currency=USD&to_currency=EUR.
    """

    serializer_class = ExchangeRateSerializer
    permission_classes = [ReadEverythingWriteAdmin]
    pagination_class = Pagination
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        rates = ExchangeRate.objects.all()
        for name in ("from_currency", "to_currency"):
            value = self.request.query_params.get(name)
            if value:
                rates = rates.filter(**{name: value.strip().upper()})
        return rates
