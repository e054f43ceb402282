"""What the API views share: parsing the query, turning a query's error into a 400, a period as JSON."""

from __future__ import annotations

import re

from rest_framework.exceptions import ValidationError

from reports.queries.common import QueryError

ID = r"[0-9]{1,18}"  # ids in URLs: anything longer is no row of ours (and would overflow SQLite)


def query_error(exc: QueryError) -> ValidationError:
    """QueryError messages start with the parameter they are about ("by: ...", "cluster: ...")."""
    field, sep, message = str(exc).partition(": ")
    if not sep or not re.fullmatch(r"[a-z_]+", field):
        field, message = "non_field_errors", str(exc)
    return ValidationError({field: [message]})


def query_params(serializer_class, request):
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def period_json(period) -> dict:
    return {
        "key": period.key,
        "kind": period.kind,
        "label": period.label,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }
