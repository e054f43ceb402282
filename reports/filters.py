"""The text filter of the pages' tables (django-filter), over the rows a view computed rather than a queryset."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from django_filters.constants import EMPTY_VALUES

MAX_QUERY = 200


class Rows(list):
    """A list of rows that a FilterSet can take as its queryset (it asks for .model and .all())."""

    model = None

    def all(self):
        return Rows(self)


class TableFilter(django_filters.FilterSet):
    """?NAME-q=words: the rows whose cells (as the CSV has them) contain every word, case-insensitively."""

    q = django_filters.CharFilter(label=_("Filter"), method="contains", max_length=MAX_QUERY)

    def __init__(self, data, *, rows, text, prefix):
        self.text = text
        super().__init__(data, queryset=Rows(rows), prefix=prefix)

    def contains(self, rows, name, value):
        words = value.casefold().split()
        return Rows(r for r in rows if all(w in self.text(r).casefold() for w in words))

    def filter_queryset(self, queryset):
        # FilterSet.filter_queryset insists on a QuerySet; these are rows already computed by the view.
        for name, value in self.form.cleaned_data.items():
            if value not in EMPTY_VALUES:
                queryset = self.filters[name].filter(queryset, value)
        return queryset
