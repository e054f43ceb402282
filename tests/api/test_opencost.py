"""OpenCost's window, step and aggregate grammar (api/opencost.py), relative to a fixed now."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from api import opencost
from costing.engine.allocation import POD_QUANTITIES

NOW = datetime(2025, 3, 20, 12, 30, tzinfo=UTC)  # a Thursday; the Sunday before is 2025-03-16


def days(text):
    window = opencost.parse_window(text, NOW)
    return window.start, window.end


def unix(*args) -> int:
    return calendar.timegm(datetime(*args).timetuple())


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("today", date(2025, 3, 20), date(2025, 3, 21)),
        ("yesterday", date(2025, 3, 19), date(2025, 3, 20)),
        ("week", date(2025, 3, 16), date(2025, 3, 21)),  # Sunday to now, widened to the end of today
        ("lastweek", date(2025, 3, 9), date(2025, 3, 16)),
        ("month", date(2025, 3, 1), date(2025, 3, 21)),
        ("lastmonth", date(2025, 2, 1), date(2025, 3, 1)),
        ("7d", date(2025, 3, 14), date(2025, 3, 21)),  # today and the six days before
        ("1d", date(2025, 3, 20), date(2025, 3, 21)),
        ("2w", date(2025, 3, 7), date(2025, 3, 21)),
        # 24h is 13:00 yesterday to 13:00 today (the current hour included): two UTC days once widened.
        ("24h", date(2025, 3, 19), date(2025, 3, 21)),
        ("90m", date(2025, 3, 20), date(2025, 3, 21)),
        ("1d offset 1d", date(2025, 3, 18), date(2025, 3, 20)),
        ("2025-03-10T00:00:00Z,2025-03-11T00:00:00Z", date(2025, 3, 10), date(2025, 3, 11)),
        ("2025-03-10T06:00:00+02:00,2025-03-11T00:00:01Z", date(2025, 3, 10), date(2025, 3, 12)),
        (f"{unix(2025, 3, 10)},{unix(2025, 3, 11)}", date(2025, 3, 10), date(2025, 3, 11)),
        (f"{unix(2025, 3, 10, 23)}-{unix(2025, 3, 12, 1)}", date(2025, 3, 10), date(2025, 3, 13)),
    ],
)
def test_windows_widened_to_whole_utc_days(text, start, end):
    assert days(text) == (start, end)


def test_the_requested_window_is_kept_beside_the_days():
    window = opencost.parse_window("24h", NOW)
    assert window.requested_start == datetime(2025, 3, 19, 13, tzinfo=UTC)
    assert window.requested_end == datetime(2025, 3, 20, 13, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "fortnight",
        "7 d",
        "-7d",
        "2025-03-10,2025-03-11",  # dates without a time and zone are not RFC3339
        "2025-03-10T00:00:00,2025-03-11T00:00:00",
        "2025-03-11T00:00:00Z,2025-03-10T00:00:00Z",  # ends before it starts
        "2025-03-10T00:00:00Z",
        "999999999w",
        "99999999999,999999999999",
    ],
)
def test_bad_windows(text):
    with pytest.raises(opencost.ParameterError) as caught:
        opencost.parse_window(text, NOW)
    assert caught.value.field == "window"


@pytest.mark.parametrize(
    ("text", "expected"), [(None, 1), ("1d", 1), ("48h", 2), ("1w", 1 * 7), ("1440m", 1)]
)
def test_steps_in_whole_days(text, expected):
    assert opencost.parse_step(text) == expected


@pytest.mark.parametrize("text", ["12h", "36h", "90m", "0d", "day", "1d2"])
def test_steps_shorter_than_or_between_days_are_refused(text):
    with pytest.raises(opencost.ParameterError) as caught:
        opencost.parse_step(text)
    assert caught.value.field == "step"


def test_aggregate_properties():
    assert opencost.parse_aggregate(None) == []
    assert opencost.parse_aggregate("namespace") == ["namespace"]
    assert opencost.parse_aggregate("ControllerKind, label:app,namespace,namespace") == [
        "controllerKind",
        "label:app",
        "namespace",
    ]
    for bad in ("service", "label:", "namespace,,pod"):
        with pytest.raises(opencost.ParameterError):
            opencost.parse_aggregate(bad)


def test_booleans_as_go_reads_them():
    assert opencost.parse_bool("True", "x", False) is True
    assert opencost.parse_bool("0", "x", True) is False
    assert opencost.parse_bool(None, "x", True) is True
    with pytest.raises(opencost.ParameterError):
        opencost.parse_bool("yes", "x", False)


def test_set_windows():
    start, end = date(2025, 3, 1), date(2025, 3, 8)
    assert opencost.set_windows(start, end, 1, True) == [(start, end)]
    assert len(opencost.set_windows(start, end, 1, False)) == 7
    assert opencost.set_windows(start, end, 3, False) == [
        (date(2025, 3, 1), date(2025, 3, 4)),
        (date(2025, 3, 4), date(2025, 3, 7)),
        (date(2025, 3, 7), date(2025, 3, 8)),
    ]


# --- filter ------------------------------------------------------------------------------------------------

DAY1 = date(2025, 3, 10)
UNIT = 100_000_000  # money in the frames is in int64 units of 1e-8
# (cluster, node, namespace, kind, controller, pod, labels, department, cpu cost, memory cost)
HAND = [
    (
        "a",
        "a-1",
        "cart",
        "Deployment",
        "web",
        "web-1",
        {"app.kubernetes.io/name": "web", "tier": "f"},
        "Shop",
        6,
        2,
    ),
    ("a", "a-1", "cart", "Job", "nightly", "nightly-x", {"app": "batch"}, "Shop", 2, 2),
    ("a", "a-2", "kube-system", "DaemonSet", "proxy", "proxy-a", {}, "", 2, 0),
    ("b", "b-1", "search", "Pod", "solo", "solo", None, "Find", 4, 4),
]


def hand_pods() -> pd.DataFrame:
    rows = []
    for cluster, node, ns, kind, controller, pod, labels, dept, cpu, mem in HAND:
        rows.append(
            {
                "day": DAY1,
                "cluster": cluster,
                "node": node,
                "namespace": ns,
                "controller_kind": kind,
                "controller": controller,
                "pod": pod,
                "labels": labels,
                "department": dept,
                "shared": ns == "kube-system",
                **dict.fromkeys(POD_QUANTITIES, 1.0),
                "cpu_cost": cpu * UNIT,
                "mem_cost": mem * UNIT,
            }
        )
    return pd.DataFrame(rows)


def kept(text: str) -> list[str]:
    pods = hand_pods()
    return list(pods["pod"][opencost.filter_mask(opencost.parse_filter(text), pods)])


@pytest.mark.parametrize(
    ("text", "pods"),
    [
        ('namespace:"cart"', ["web-1", "nightly-x"]),
        ('namespace:"a","b"+label[app]:"web"', []),
        ('namespace:"cart","search"+label[app_kubernetes_io_name]:"web"', ["web-1"]),
        # Keys compare as Prometheus writes them, so the Kubernetes spelling works too.
        ('label[app.kubernetes.io/name]:"web"', ["web-1"]),
        ('namespace!:"cart","search"', ["proxy-a"]),  # neither: the values of a negation are ANDed
        ('cluster:"a"+controllerKind:"deployment","job"', ["web-1", "nightly-x"]),
        ('controllerKind:"__unallocated__"', ["solo"]),  # a bare pod has no controller
        ('controllerName:"solo"', []),
        ('controllerName:"proxy"|node:"b-1"', ["proxy-a", "solo"]),
        ('pod~:"ht"', ["nightly-x"]),
        ('pod!~:"-"', ["solo"]),
        ('node<~:"a-"', ["web-1", "nightly-x", "proxy-a"]),
        ('node!<~:"a-"', ["solo"]),
        ('pod~>:"-1"', ["web-1"]),
        ('pod!~>:"-1"', ["nightly-x", "proxy-a", "solo"]),
        ('label:"app"', ["nightly-x"]),  # the key, not a substring of it
        ('label!:"app"', ["web-1", "proxy-a", "solo"]),
        ('label<~:"app"', ["web-1", "nightly-x"]),
        ('label~>:"name"', ["web-1"]),
        ('label[tier]~:"f"', ["web-1"]),
        ('label[app]!:"batch"', ["web-1", "proxy-a", "solo"]),
        ('department:"Shop"|department:"__shared__"', ["web-1", "nightly-x", "proxy-a"]),
        ('(namespace:"cart"+pod:"web-1")|(cluster:"b")', ["web-1", "solo"]),
        ('namespace:"cart"+(pod:"web-1"|pod:"nightly-x")+cluster:"a"', ["web-1", "nightly-x"]),
        (' namespace : "cart" + pod : "web-1" ', ["web-1"]),
        # A '+' decoded from a URL into a space between two comparisons.
        ('namespace:"cart" label[tier]:"f"', ["web-1"]),
        ('namespace:"cart"  (pod:"web-1"|pod:"solo")', ["web-1"]),
        ("", ["web-1", "nightly-x", "proxy-a", "solo"]),
    ],
)
def test_filters_on_hand_built_pods(text, pods):
    assert kept(text) == pods


def test_parse_tree():
    assert opencost.parse_filter('namespace:"a","__unallocated__"+label[app.io/x]!~:"w"') == opencost.Group(
        "and",
        (
            opencost.Comparison("namespace", None, "equals", False, ("a", "")),
            opencost.Comparison("label", "app_io_x", "contains", True, ("w",)),
        ),
    )
    assert opencost.parse_filter("   ") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('namespace:"a"+', "at position 14: expected a filter field (cluster, node, namespace, controllerKind, "
         "controllerName, pod, department, label), found the end of the filter"),
        ('pod:"a"|pod:"b"+pod:"c"', "at position 15: '+' after '|' in the same group"),
        ('namespace[x]:"a"', "at position 9: expected a comparison after namespace"),
        ('namespace!"a"', "at position 9: unexpected '!'"),
        ('namespace:"a"|"b"', 'at position 14: expected a filter field (cluster, node, namespace, '
         'controllerKind, controllerName, pod, department, label), found "b"'),
        ("namespace:\"é\"+pod:é", "at position 18: unexpected character 'é'"),
        ('team:"x"', "at position 0: the field 'team' is not kept here"),
        ("((pod:\"a\")", "at position 0: '(' without a matching ')'"),
    ],
)  # fmt: skip
def test_bad_filters_name_the_position(text, message):
    with pytest.raises(opencost.ParameterError) as caught:
        opencost.parse_filter(text)
    assert caught.value.field == "filter" and str(caught.value).startswith(message)


def test_filtered_idle_keeps_the_part_the_kept_pods_would_have_received():
    pods = hand_pods()
    # Cluster a: idle CPU 4, memory 2; cluster c has idle and no pod at all.
    idle = pd.DataFrame(
        {
            "day": [DAY1, DAY1, DAY1],
            "cluster": ["a", "a", "c"],
            "node": ["a-1", "a-2", "c-1"],
            "cpu_idle": [3 * UNIT, 1 * UNIT, 5 * UNIT],
            "mem_idle": [2 * UNIT, 0, 1 * UNIT],
        }
    )
    windows = [(DAY1, DAY1 + timedelta(days=1))]
    where = opencost.parse_filter('pod:"web-1"')
    (plain,) = opencost.allocation_sets(pods, idle, windows, ["cluster"], include_idle=True, pod_filter=where)
    # web-1 has 6 of cluster a's 10 CPU cost and 2 of its 4 memory cost: 0.6 * 4 and 0.5 * 2 of its idle.
    assert (plain["a"]["cpuCost"], plain["a"]["ramCost"]) == (6.0, 2.0)
    assert (plain["a/__idle__"]["cpuCost"], plain["a/__idle__"]["ramCost"]) == (2.4, 1.0)
    # No pod cost for cluster c's idle to follow: OpenCost keeps it whole; cluster b has no idle.
    assert (plain["c/__idle__"]["cpuCost"], plain["c/__idle__"]["ramCost"]) == (5.0, 1.0)
    assert set(plain) == {"a", "a/__idle__", "c/__idle__"}
    (shared,) = opencost.allocation_sets(
        pods, idle, windows, ["cluster"], include_idle=True, share_idle=True, pod_filter=where
    )
    assert (shared["a"]["cpuCost"], shared["a"]["ramCost"]) == (6.0 + 2.4, 2.0 + 1.0)
    assert (shared["a"]["cpuCostIdle"], shared["a"]["ramCostIdle"]) == (2.4, 1.0)
    assert set(shared) == {"a", "c/__idle__"}


def test_check_parameters():
    opencost.check_parameters({"window": ["7d"], "filter": ['pod:"a"'], "format": ["json"]})
    for params, field in (
        ({"resolution": ["1m"]}, "resolution"),
        ({"Window": ["7d"]}, "Window"),  # OpenCost's names are case-sensitive
        ({"window": ["7d", "1d"]}, "window"),
    ):
        with pytest.raises(opencost.ParameterError) as caught:
            opencost.check_parameters(params)
        assert caught.value.field == field
