"""The hand-computed scenario (tests/costing/scenario.py) computed for its day and the next, and those days
as periods, for the tests of the page queries."""

from __future__ import annotations

import pytest

from costing.compute import recompute_day
from reports.periods import parse_period
from tests.costing import scenario

DAY = scenario.DAY  # 2025-03-10
ON_DAY = parse_period("2025-03-10")
NEXT_DAY = parse_period("2025-03-11")  # only the second half of the control plane line: 2.40 of overhead


@pytest.fixture
def computed(settings):
    settings.FINOPS_HOURLY_RETENTION_DAYS = 100_000  # the scenario's node-hours are kept
    objects = scenario.build()
    recompute_day(ON_DAY.start)
    recompute_day(NEXT_DAY.start)
    return objects
