"""/allocation's answer written column by column (opencost.sets_json) is the text DRF writes of the dicts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rest_framework.renderers import JSONRenderer

from api import opencost
from reports.queries.frames import load_balancer_frame, node_idle_frame, pod_cost_groups
from tests.api.conftest import DAY, NEXT
from tests.api.test_allocation import WINDOW

END = NEXT + (NEXT - DAY)


def test_rounding_is_pythons_round_to_the_last_bit():
    rng = np.random.default_rng(20)
    values = np.concatenate(
        [
            rng.random(5_000) * 100,
            rng.random(1_000) * 1e-5,
            -rng.random(1_000) * 1e4,
            rng.random(1_000) * 1e12,  # beyond the vectorised range: Python rounds them
            np.arange(-2_000, 2_000) / 2e6,  # halves of the sixth decimal: ties and near-ties
            np.round(rng.random(1_000), 6) + 5e-7,
            [0.0, -0.0, 2.675, 1.0000005, 0.0000005, 4.5e9, 8.6e9, 1e9, 1e9 - 1e-7],
        ]
    )
    got = opencost._rounded(values)
    expected = [round(v, 6) for v in values.tolist()]
    assert [float.__repr__(v) for v in got.tolist()] == [float.__repr__(v) for v in expected]
    assert all(math.isnan(v) for v in opencost._rounded([math.nan]).tolist())


def test_json_numbers_are_json_dumps_text():
    values = np.array([0.0, 1.5, 1e-7, 123456789012.25, 3.0, 1.5, 2.0 / 3, 5e-324] * 20)
    assert opencost._json_numbers(values) == [float.__repr__(v) for v in values.tolist()]


def _sets(aggregate, as_json, **options):
    pod_filter = options.get("pod_filter")
    load_balancers = load_balancer_frame(DAY, END)
    pods = pod_cost_groups(
        DAY,
        END,
        opencost.grouping(aggregate, pod_filter),
        by_day=opencost.by_day(
            options.get("accumulate", True),
            options.get("share_idle", False),
            pod_filter,
            not load_balancers.empty,
        ),
    )
    windows = opencost.set_windows(DAY, END, 1, options.pop("accumulate", True))
    return opencost.allocation_sets(
        pods,
        node_idle_frame(DAY, END),
        windows,
        aggregate,
        load_balancers=load_balancers,
        as_json=as_json,
        **options,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "aggregate", [[], ["pod"], ["namespace"], ["controller"], ["label:team"], ["cluster", "namespace"]]
)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"accumulate": False},
        {"share_idle": True, "include_idle": True},
        {"include_idle": True, "pod_filter": 'namespace:"payments","kube-system"'},
    ],
)
def test_the_written_answer_is_drfs_text_of_the_dicts(prod, aggregate, options):
    options = dict(options)
    if "pod_filter" in options:
        options["pod_filter"] = opencost.parse_filter(options["pod_filter"])
    dicts = _sets(aggregate, False, **dict(options))
    written = opencost.sets_json(_sets(aggregate, True, **dict(options)))
    assert dicts and any(dicts)
    assert written == JSONRenderer().render({"code": 200, "data": dicts}).decode()


@pytest.mark.django_db
def test_json_and_browsable_answers_agree(prod, client_as):
    client = client_as("admin")
    params = {"window": WINDOW, "accumulate": "true", "aggregate": "pod"}
    plain = client.get("/allocation", params)
    assert plain.status_code == 200 and plain["Content-Type"] == "application/json"
    browsable = client.get("/allocation", {**params, "format": "api"}, HTTP_ACCEPT="text/html")
    assert browsable.status_code == 200 and "text/html" in browsable["Content-Type"]
    # The browsable page shows the dicts' JSON, HTML-escaped.
    assert "&quot;pay-1&quot;" in browsable.content.decode()
    assert plain.json()["data"][0]["pay-1"]["name"] == "pay-1"
