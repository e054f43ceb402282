"""OpenCost's /allocation API over our stored pod days: its window, step and aggregate grammar, its JSON shape.

Pure functions (no database): the view reads the pod days and node idle days (reports.queries) and
hands them here. Our finest grain is the UTC day, so every window is widened to whole UTC days.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
from django.utils.translation import gettext

from costing.choices import GIB, OwnerKind
from costing.engine.allocation import GPU_QUANTITIES, POD_QUANTITIES, efficiency
from costing.money import UNITS_PER_CURRENCY

IDLE = "__idle__"
UNALLOCATED = "__unallocated__"
# OpenCost's name for what no running pod holds: a namespace's claims no pod mounted
# (reports.queries.common.UNMOUNTED), a load balancer whose Service selects no pod that day.
UNMOUNTED = "__unmounted__"
# The resources priced: each has a cost, an idle cost and, under shareIdle, a share of idle.
RESOURCES = ("cpu", "mem", "gpu")
IDLE_COLUMNS = [f"{r}_idle" for r in RESOURCES]
# The properties `aggregate` accepts (OpenCost's names, matched case-insensitively as OpenCost does), plus
# `department`, which here is the namespace's owner under the policy (OpenCost reads it from a label).
PROPERTIES = {
    "cluster": "cluster",
    "node": "node",
    "namespace": "namespace",
    "controllerkind": "controllerKind",
    "controller": "controller",
    "pod": "pod",
    "department": "department",
}
DEFAULT_AGGREGATE = ["cluster", "node", "namespace", "pod"]

_DURATION = re.compile(r"^(\d{1,9})(m|h|d|w)$")
_DURATION_OFFSET = re.compile(r"^(\d{1,9})(m|h|d|w) offset (\d{1,9})(m|h|d|w)$")
_TIMESTAMPS = re.compile(r"^(\d{1,12})[,-](\d{1,12})$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class ParameterError(ValueError):
    """A query parameter OpenCost's grammar does not accept (or that our day grain cannot honour)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class Window:
    """A window as asked (`requested_*`, UTC) and widened to whole UTC days [start, end)."""

    requested_start: datetime
    requested_end: datetime
    start: date
    end: date


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time(), tzinfo=UTC)


def _truncate(moment: datetime, unit: timedelta) -> datetime:
    seconds = int(unit.total_seconds())
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def _rfc3339_errors(what: str) -> tuple[str, str]:
    """The two errors of a window's start or end, in the request's language (whole sentences to translate)."""
    if what == "start":
        return (
            gettext("the window's start %(text)s is not an RFC3339 time"),
            gettext("the window's start %(text)s has no time zone (e.g. ...Z)"),
        )
    return (
        gettext("the window's end %(text)s is not an RFC3339 time"),
        gettext("the window's end %(text)s has no time zone (e.g. ...Z)"),
    )


def _rfc3339(text: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ParameterError("window", _rfc3339_errors(what)[0] % {"text": repr(text.strip())}) from None
    if moment.tzinfo is None:
        raise ParameterError("window", _rfc3339_errors(what)[1] % {"text": repr(text.strip())})
    return moment.astimezone(UTC)


def _named_window(text: str, now: datetime, today: datetime) -> tuple[datetime, datetime] | None:
    """The window a name (today, week, lastmonth...) stands for, or None if `text` is not one of them."""
    since_sunday = (today.weekday() + 1) % 7  # Go's Weekday: Sunday is 0
    if text == "today":
        return today, today + timedelta(days=1)
    if text == "yesterday":
        return today - timedelta(days=1), today
    if text == "week":
        return today - timedelta(days=since_sunday), now
    if text == "lastweek":
        start = today - timedelta(days=since_sunday + 7)
        return start, start + timedelta(days=7)
    if text == "month":
        return today.replace(day=1), now
    if text == "lastmonth":
        end = today.replace(day=1)
        return (end - timedelta(days=1)).replace(day=1), end
    return None


def _numeric_window(text: str, now: datetime, today: datetime) -> tuple[datetime, datetime] | None:
    """The window a duration (24h, 2w, 3d offset 1d) or a unix seconds pair stands for, else None."""
    match = _DURATION.match(text)
    if match:
        count, unit = int(match[1]), _UNITS[match[2]]
        if match[2] == "w":
            # "the past N weeks" ends with today, like OpenCost.
            end = today + timedelta(days=1)
            return _midnight(now - count * unit) + timedelta(days=1), end
        end = _truncate(now, unit) + unit
        return end - count * unit, end
    match = _DURATION_OFFSET.match(text)
    if match:
        end = now - int(match[3]) * _UNITS[match[4]]
        return end - int(match[1]) * _UNITS[match[2]], end
    match = _TIMESTAMPS.match(text)
    if match:
        return (
            datetime.fromtimestamp(int(match[1]), tz=UTC),
            datetime.fromtimestamp(int(match[2]), tz=UTC),
        )
    return None


def requested_window(text: str, now: datetime) -> tuple[datetime, datetime]:
    """OpenCost's window grammar (core/pkg/opencost/window.go) relative to `now`, in UTC."""
    text = (text or "").strip()
    now = now.astimezone(UTC)
    today = _midnight(now)
    try:
        window = _named_window(text, now, today) or _numeric_window(text, now, today)
    except (OverflowError, ValueError, OSError):
        raise ParameterError(
            "window", gettext("%(text)s reaches outside the calendar") % {"text": repr(text)}
        ) from None
    if window is not None:
        return window
    if text.count(",") == 1:
        first, last = text.split(",")
        return _rfc3339(first, "start"), _rfc3339(last, "end")
    raise ParameterError(
        "window",
        gettext(
            "%(text)s is not a window: use today, yesterday, week, month, lastweek, lastmonth, a duration "
            "(24h, 7d, 2w), an RFC3339 pair (2026-10-01T00:00:00Z,2026-11-01T00:00:00Z) or unix seconds "
            "(1790812800,1793491200)"
        )
        % {"text": repr(text)},
    )


def parse_window(text: str, now: datetime) -> Window:
    """The window, widened to whole UTC days: the start back to its midnight, the end on to the next."""
    start, end = requested_window(text, now)
    if end <= start:
        raise ParameterError(
            "window", gettext("%(text)s: the window must end after it starts") % {"text": repr(text)}
        )
    first = start.date()
    last = end.date() if end == _midnight(end) else end.date() + timedelta(days=1)
    return Window(start, end, first, last)


def parse_step(text: str | None) -> int:
    """The step in whole days (default 1d): OpenCost's duration grammar, our day grain."""
    if text is None or text == "":
        return 1
    match = _DURATION.match(text.strip())
    if not match:
        raise ParameterError(
            "step", gettext("%(text)s is not a duration such as 1d, 7d, 1w or 24h") % {"text": repr(text)}
        )
    length = int(match[1]) * _UNITS[match[2]]
    if length < timedelta(days=1) or length % timedelta(days=1):
        raise ParameterError(
            "step",
            gettext("%(text)s: costs are kept per UTC day, so the step must be a whole number of days")
            % {"text": repr(text)},
        )
    return length.days


def parse_bool(text: str | None, field: str, default: bool) -> bool:
    """Go's strconv.ParseBool, which OpenCost uses; anything else is an error here, not the default."""
    if text is None or text == "":
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ParameterError(field, gettext("%(text)s is not a boolean (true or false)") % {"text": repr(text)})


def parse_aggregate(text: str | None) -> list[str]:
    """The aggregation properties: comma-separated, each one of PROPERTIES or label:KEY."""
    if text is None or not text.strip():
        return []
    out: list[str] = []
    for part in text.split(","):
        part = part.strip()
        if part.lower().startswith("label:"):
            key = part[len("label:") :].strip()
            if not key:
                raise ParameterError("aggregate", gettext("label: needs a label key, e.g. label:app"))
            prop = f"label:{key}"
        elif part.lower() in PROPERTIES:
            prop = PROPERTIES[part.lower()]
        else:
            raise ParameterError(
                "aggregate",
                gettext("%(part)s is not one of %(properties)s or label:KEY")
                % {"part": repr(part), "properties": ", ".join(PROPERTIES.values())},
            )
        if prop not in out:
            out.append(prop)
    return out


def set_windows(start: date, end: date, step_days: int, accumulate: bool) -> list[tuple[date, date]]:
    """The [start, end) day ranges of the sets: one when accumulating, else one per step (the last clipped)."""
    if accumulate:
        return [(start, end)]
    windows = []
    day = start
    while day < end:
        stop = min(day + timedelta(days=step_days), end)
        windows.append((day, stop))
        day = stop
    return windows


_BARE_POD = str(OwnerKind.POD.value)


def _kind(kind) -> str:
    # A bare pod has no controller. Not a string: several kinds in a pre-summed row, which only the
    # properties read (and skip); a key or filter on the kind groups by it.
    if not isinstance(kind, str) or kind == _BARE_POD:
        return ""
    return kind.lower()


def _key_parts(pods: pd.DataFrame, aggregate: list[str]) -> list[pd.Series]:
    parts = []
    kinds = pods["controller_kind"].map(_kind)
    for prop in aggregate:
        if prop == "controllerKind":
            parts.append(
                kinds.where(kinds != "", UNALLOCATED).where(pods["controller_kind"] != UNMOUNTED, UNMOUNTED)
            )
        elif prop == "controller":
            named = kinds + ":" + pods["controller"].astype(str)
            named = named.where(kinds != "", UNALLOCATED)
            # A namespace's claims no pod mounted (reports.queries.frames): OpenCost's __unmounted__.
            parts.append(named.where(pods["controller"] != UNMOUNTED, UNMOUNTED))
        elif prop.startswith("label:"):
            key = prop[len("label:") :]
            parts.append(
                pods["labels"].map(
                    lambda labels, key=key: (
                        str(labels[key]) if labels and labels.get(key) is not None else UNALLOCATED
                    )
                )
            )
        elif prop == "department":
            parts.append(pods["department"].where(~pods["shared"], "__shared__"))
        else:
            parts.append(pods[prop].astype(str))
    return parts


def _share_idle(pods: pd.DataFrame, idle: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each cluster-day's idle CPU cost divided by CPU cost, idle memory cost by memory cost and idle GPU
    cost by GPU cost, over all of its pods (OpenCost's weighted shareIdle, per day as our apportionment
    is). Returns the pods with cpu_idle_share / mem_idle_share / gpu_idle_share and the idle that had no
    pod cost to follow (it stays idle).
    """
    pods = pods.copy()
    for resource in RESOURCES:
        pods[f"{resource}_idle_share"] = 0.0
    if idle.empty:
        return pods, idle
    per_day = idle.groupby(["cluster", "day"])[IDLE_COLUMNS].sum()
    left = per_day.copy()
    if not pods.empty:
        basis = pods.groupby(["cluster", "day"])[[f"{r}_cost" for r in RESOURCES]].sum()
        index = pd.MultiIndex.from_frame(pods[["cluster", "day"]])
        for resource in RESOURCES:
            pool = per_day[f"{resource}_idle"].reindex(index).fillna(0).to_numpy(float)
            total = basis[f"{resource}_cost"].reindex(index).to_numpy(float)
            weight = np.divide(
                pods[f"{resource}_cost"].to_numpy(float), total, out=np.zeros(len(pods)), where=total > 0
            )
            pods[f"{resource}_idle_share"] = pool * weight
            shared = basis[f"{resource}_cost"].reindex(per_day.index).fillna(0) > 0
            left.loc[shared, f"{resource}_idle"] = 0
    left = left.reset_index()
    return pods, _nonzero_idle(left)


def _nonzero_idle(idle: pd.DataFrame) -> pd.DataFrame:
    return idle[(idle[IDLE_COLUMNS] != 0).any(axis=1)]


def _iso(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


# Below this magnitude x * 1e6 is within 2**51: an integer count of millionths held exactly by a float.
_MICROS_SAFE = 1e9


def _rounded(values) -> np.ndarray:
    """Each value rounded to 6 decimals exactly as Python's round(x, 6) (correctly rounded, half to even),
    vectorised: rint(x * 1e6) / 1e6 is that wherever the product cannot have crossed a half (Python rounds
    the few next to one, and the values too large or not finite)."""
    x = np.asarray(values, dtype=float)
    safe = np.abs(x) < _MICROS_SAFE  # False for NaN and infinities
    y = np.where(safe, x, 0.0) * 1e6
    near_half = np.abs(np.abs(y - np.trunc(y)) - 0.5) <= np.abs(y) * 1e-15 + 1e-12
    out = np.rint(y) / 1e6
    python = ~safe | near_half
    if python.any():
        out[python] = [round(v, 6) for v in x[python].tolist()]
    return out


def _json_numbers(values: np.ndarray) -> list[str]:
    """The JSON text of each float as json.dumps writes it (float.__repr__), each distinct value once."""
    v = np.asarray(values, dtype=float)
    if len(v) < 64:
        return list(map(float.__repr__, v.tolist()))
    distinct, at = np.unique(v, return_inverse=True)
    if len(distinct) > len(v) // 2:
        return list(map(float.__repr__, v.tolist()))
    return np.array(list(map(float.__repr__, distinct.tolist())), dtype=object)[at].tolist()


@dataclass
class _Properties:
    """The properties of allocations column by column: per property (in the order an allocation lists
    them) each allocation's value or None, and each allocation's labels ({} for none). Allocations that
    share a label set share its dict."""

    columns: dict[str, list]
    labels: list[dict]

    @classmethod
    def of(cls, properties: list[dict]) -> _Properties:
        keys = [k for k in (*_SINGLE, "labels") if any(k in p for p in properties)]
        columns = {k: [p.get(k) for p in properties] for k in keys if k != "labels"}
        return cls(columns, [p.get("labels") or {} for p in properties])

    def dicts(self) -> list[dict]:
        out = []
        for i, labels in enumerate(self.labels):
            props = {k: values[i] for k, values in self.columns.items() if values[i] is not None}
            if labels:
                props["labels"] = labels
            out.append(props)
        return out

    def json(self) -> list[str]:
        """Each allocation's properties as compact JSON text (json.dumps of dicts()), written column-wise."""
        encode = json.encoder.encode_basestring
        parts = [
            [None if v is None else f'"{k}":{encode(v)}' for v in values]
            for k, values in self.columns.items()
        ]
        texts: dict[int, tuple] = {}  # per labels dict: the dict and its text
        labels = []
        for common in self.labels:
            held = texts.get(id(common))
            if held is None or held[0] is not common:
                text = '"labels":' + json.dumps(common, ensure_ascii=False, separators=(",", ":"))
                held = texts[id(common)] = (common, text if common else None)
            labels.append(held[1])
        parts.append(labels)
        return ["{" + ",".join([p for p in row if p is not None]) + "}" for row in zip(*parts, strict=True)]


@dataclass
class _Allocations:
    """Allocations column by column (what _allocations computes): as dicts, or as JSON text per allocation
    written straight from the columns (one format a row, each distinct number formatted once)."""

    names: list[str]
    properties: _Properties
    window: dict
    starts: list[str]
    stops: list[str]
    columns: dict[str, np.ndarray]  # the figures in their order in an allocation, ZEROS before the last two

    def dicts(self) -> dict[str, dict]:
        out = {}
        properties = self.properties.dicts()
        columns = {key: values.tolist() for key, values in self.columns.items()}
        keys = list(columns)
        head, tail = keys[:-2], keys[-2:]
        for i, name in enumerate(self.names):
            allocation = {
                "name": name,
                "properties": properties[i],
                "window": dict(self.window),
                "start": self.starts[i],
                "end": self.stops[i],
            }
            allocation.update({key: columns[key][i] for key in head})
            allocation.update(ZEROS)
            allocation.update({key: columns[key][i] for key in tail})
            out[name] = allocation
        return out

    def json(self) -> dict[str, str]:
        """name -> the allocation as compact JSON (DRF's JSONRenderer's text of dicts())."""
        encode = json.encoder.encode_basestring
        keys = list(self.columns)
        window = json.dumps(self.window, separators=(",", ":"))
        zeros = ",".join(f"{encode(k)}:{float.__repr__(v)}" for k, v in ZEROS.items())
        fields = [f"{encode(k)}:%s" for k in keys[:-2]] + [zeros] + [f"{encode(k)}:%s" for k in keys[-2:]]
        template = '{"name":%s,"properties":%s,"window":' + window + ',"start":"%s","end":"%s",'
        template += ",".join(fields) + "}"
        names = [encode(n) for n in self.names]
        properties = self.properties.json()
        numbers = [_json_numbers(self.columns[k]) for k in keys]
        rows = zip(names, properties, self.starts, self.stops, *numbers, strict=True)
        return dict(zip(self.names, (template % row for row in rows), strict=True))


ZEROS = dict.fromkeys(("networkCost", "sharedCost", "externalCost"), 0.0)


def _allocations(names, properties, window, first, last, sums: pd.DataFrame) -> _Allocations:
    """The OpenCost allocations, one per row of `sums` (the _MEASURES summed per name), computed column
    by column. first, last: datetime64[D] arrays, [first, last) the days each name has costs on."""
    days = (last - first).astype(np.int64)
    hours = days * 24.0
    # Money in the frames is in units of 1e-8, idle shares too.
    col = {m: sums[m].to_numpy() for m in _MEASURES}
    cpu_cost = (col["cpu_cost"] + col["cpu_idle_share"]) / UNITS_PER_CURRENCY
    ram_cost = (col["mem_cost"] + col["mem_idle_share"]) / UNITS_PER_CURRENCY
    gpu_cost = (col["gpu_cost"] + col["gpu_idle_share"]) / UNITS_PER_CURRENCY
    # The persistent volumes the pods mounted, for the time they mounted them (costing/engine/volumes.py).
    pv_cost = col["storage_cost"] / UNITS_PER_CURRENCY
    cpu_eff = efficiency(col["cpu_usage_core_hours"], col["cpu_request_core_hours"])
    ram_eff = efficiency(col["mem_usage_gib_hours"], col["mem_request_gib_hours"])
    gpu_eff = efficiency(col["gpu_usage_hours"], col["gpu_request_hours"])
    lb_cost = col["lb_cost"] / UNITS_PER_CURRENCY
    total = cpu_cost + ram_cost + gpu_cost + pv_cost + lb_cost
    with np.errstate(divide="ignore", invalid="ignore"):
        per_hour = {
            m: np.where(hours > 0, col[m] / hours, 0.0)
            for m in (
                "cpu_billable_core_hours",
                "cpu_request_core_hours",
                "cpu_usage_core_hours",
                "gpu_billable_hours",
                "gpu_request_hours",
                "gpu_usage_hours",
            )
        }
        ram = {
            m: np.where(hours > 0, col[m] * GIB / hours, 0.0)
            for m in ("mem_billable_gib_hours", "mem_request_gib_hours", "mem_usage_gib_hours")
        }
        # Of the resources with an efficiency: volumes and load balancers have none.
        resources = cpu_cost + ram_cost + gpu_cost
        total_eff = np.where(
            resources != 0, (cpu_eff * cpu_cost + ram_eff * ram_cost + gpu_eff * gpu_cost) / resources, 0.0
        )
    ram_request = _rounded(ram["mem_request_gib_hours"])
    ram_usage = _rounded(ram["mem_usage_gib_hours"])
    columns = {
        "minutes": days * 1440.0,
        "cpuCores": _rounded(per_hour["cpu_billable_core_hours"]),
        "cpuCoreHours": _rounded(col["cpu_billable_core_hours"]),
        "cpuCoreRequestAverage": _rounded(per_hour["cpu_request_core_hours"]),
        "cpuCoreUsageAverage": _rounded(per_hour["cpu_usage_core_hours"]),
        "cpuCost": _rounded(cpu_cost),
        "cpuCostIdle": _rounded(col["cpu_idle_share"] / UNITS_PER_CURRENCY),
        "cpuEfficiency": _rounded(cpu_eff),
        "ramBytes": _rounded(ram["mem_billable_gib_hours"]),
        "ramByteHours": _rounded(col["mem_billable_gib_hours"] * GIB),
        # OpenCost's JSON says ramByte...; its Go fields (and some clients) say ramBytes...: both are given.
        "ramByteRequestAverage": ram_request,
        "ramBytesRequestAverage": ram_request,
        "ramByteUsageAverage": ram_usage,
        "ramBytesUsageAverage": ram_usage,
        "ramCost": _rounded(ram_cost),
        "ramCostIdle": _rounded(col["mem_idle_share"] / UNITS_PER_CURRENCY),
        "ramEfficiency": _rounded(ram_eff),
        "gpuCount": _rounded(per_hour["gpu_billable_hours"]),
        "gpuHours": _rounded(col["gpu_billable_hours"]),
        "gpuRequestAverage": _rounded(per_hour["gpu_request_hours"]),
        "gpuUsageAverage": _rounded(per_hour["gpu_usage_hours"]),
        "gpuCost": _rounded(gpu_cost),
        "gpuCostIdle": _rounded(col["gpu_idle_share"] / UNITS_PER_CURRENCY),
        "gpuEfficiency": _rounded(gpu_eff),
        "loadBalancerCost": _rounded(lb_cost),
    }
    columns["pvCost"] = _rounded(pv_cost)
    columns["totalCost"] = _rounded(total)
    columns["totalEfficiency"] = _rounded(total_eff)
    return _Allocations(
        list(names),
        properties,
        {"start": _iso(window[0]), "end": _iso(window[1])},
        _iso_days(first),
        _iso_days(last),
        columns,
    )


def _iso_days(days) -> list[str]:
    return [
        f"{d}T00:00:00Z" for d in np.datetime_as_string(np.asarray(days, dtype="datetime64[D]"), unit="D")
    ]


_MEASURES = [
    *POD_QUANTITIES,
    *GPU_QUANTITIES,
    "cpu_cost",
    "mem_cost",
    "gpu_cost",
    "storage_cost",
    "cpu_idle_share",
    "mem_idle_share",
    "gpu_idle_share",
    "lb_cost",
]
_SINGLE = {
    "cluster": "cluster",
    "node": "node",
    "namespace": "namespace",
    "controllerKind": "controller_kind",
    "controller": "controller",
    "pod": "pod",
    "department": "department",
}


def _common_labels(label_dicts) -> dict:
    labels = None
    for row_labels in label_dicts:
        row_labels = row_labels or {}
        labels = (
            dict(row_labels)
            if labels is None
            else {k: v for k, v in labels.items() if row_labels.get(k) == v}
        )
        if not labels:
            return {}
    return labels or {}


def _properties(frame: pd.DataFrame, codes: np.ndarray, count: int) -> _Properties:
    """Per allocation (group code 0..count-1 of each row of `frame`), the properties all its members share
    (OpenCost keeps the ones that match)."""
    columns = list(_SINGLE.values())
    if count == len(frame):  # one row an allocation (aggregate=pod over a day): its values as they are
        order = np.argsort(codes, kind="stable")
        values = {c: frame[c].to_numpy(dtype=object)[order].tolist() for c in columns}
        labels = frame["labels"].to_numpy(dtype=object)[order].tolist()
    else:
        grouped = frame[columns].groupby(codes, sort=True)
        # None: several values within one pre-summed row (reports.queries.frames.pod_cost_groups).
        distinct = grouped.nunique(dropna=False)
        first = grouped.first()
        values = {
            c: [
                v if one else None
                for v, one in zip(first[c].tolist(), distinct[c].to_numpy() == 1, strict=True)
            ]
            for c in columns
        }
        labels = _labels_per_group(frame["labels"].tolist(), codes, count)
    kinds: dict = {}  # each distinct controller kind as shown (few)
    kind = [
        None if _absent(v) else kinds[v] if v in kinds else kinds.setdefault(v, _kind(v))
        for v in values["controller_kind"]
    ]
    out = {}
    for prop, column in _SINGLE.items():
        if prop == "controllerKind":
            out[prop] = [k or None for k in kind]
        elif prop == "controller":
            out[prop] = [
                None if not k or _absent(v) else str(v) for k, v in zip(kind, values[column], strict=True)
            ]
        else:
            out[prop] = [None if _absent(v) else str(v) for v in values[column]]
    shown: dict[int, tuple] = {}  # the labels as shown, once per labels dict (rows share them)
    common_labels = []
    for common in labels:
        if not common:
            common_labels.append({})
            continue
        held = shown.get(id(common))
        if held is None or held[0] is not common:
            held = shown[id(common)] = (common, {k: str(v) for k, v in sorted(common.items())})
        common_labels.append(held[1])
    return _Properties(out, common_labels)


def _absent(value) -> bool:
    """None (several values within one allocation), NaN or empty: no such property."""
    return value is None or value != value or value == ""


def _labels_per_group(labels: list, codes: np.ndarray, count: int) -> list[dict]:
    """The labels every row of each group has with the same value (one pass over the rows)."""
    common: list[dict | None] = [None] * count
    for code, row_labels in zip(codes.tolist(), labels, strict=True):
        row_labels = row_labels or {}
        held = common[code]
        if held is None:
            common[code] = row_labels  # not copied: never changed, and rows share their label sets
        elif held and held is not row_labels:
            common[code] = {k: v for k, v in held.items() if row_labels.get(k) == v}
    return [c or {} for c in common]


# The columns (of reports.queries.frames.GROUPABLE) each aggregate property and filter field needs.
_GROUPING = {
    "node": {"node"},
    "controllerKind": {"controller_kind"},
    "controller": {"controller_kind", "controller"},
    "controllerName": {"controller_kind", "controller"},
    "pod": {"pod"},
}


def _filter_fields(node) -> set[str]:
    if node is None:
        return set()
    if isinstance(node, Group):
        return set().union(*(_filter_fields(operand) for operand in node.operands))
    return {node.field}


def grouping(aggregate: list[str], pod_filter) -> frozenset[str]:
    """What the pod days must be grouped by (reports.queries.frames.pod_cost_groups) for allocation_sets to
    give the same answer as over every pod day: the columns the aggregate and the filter read."""
    fields = set(aggregate or DEFAULT_AGGREGATE) | _filter_fields(pod_filter)
    return frozenset().union(*(_GROUPING.get(f, set()) for f in fields))


def by_day(accumulate: bool, share_idle: bool, pod_filter, load_balancers: bool = False) -> bool:
    """Whether allocation_sets needs the pod days per day: sets of days, idle divided per cluster-day, or
    load balancers spread over the pods of each day."""
    return not accumulate or share_idle or pod_filter is not None or load_balancers


def _pod_allocations(in_set: pd.DataFrame, keys: list[str], window) -> _Allocations:
    """The allocations of one set's pod rows, by the names their `keys` give them."""
    parts = _key_parts(in_set, keys)
    names = pd.Series(["/".join(p) for p in zip(*parts, strict=True)], index=in_set.index)
    codes, unique = pd.factorize(names, sort=True)
    measures = in_set[_MEASURES].groupby(codes, sort=True).sum()
    first = in_set["day"].to_numpy().astype("datetime64[D]")
    last = in_set["last_day" if "last_day" in in_set else "day"].to_numpy().astype("datetime64[D]")
    days = pd.DataFrame({"first": first.astype(np.int64), "last": last.astype(np.int64)})
    spans = days.groupby(codes, sort=True).agg({"first": "min", "last": "max"})
    return _allocations(
        unique.tolist(),
        _properties(in_set, codes, len(unique)),
        window,
        spans["first"].to_numpy().astype("datetime64[D]"),
        (spans["last"].to_numpy() + 1).astype("datetime64[D]"),
        measures,
    )


def _selects(selector, labels) -> bool:
    return bool(selector) and all((labels or {}).get(k) == v for k, v in selector.items())


def spread_load_balancers(pods: pd.DataFrame, load_balancers: pd.DataFrame | None) -> pd.DataFrame:
    """The pod rows with lb_cost (units): each load balancer's cost of a day spread over the pods its
    Service selects that day (same cluster and namespace, labels matching spec.selector) by their samples
    (the time they ran), as OpenCost spreads it by the hours each pod used it; a load balancer whose
    Service selects no pod that day becomes a row of pod __unmounted__ in the Service's namespace (OpenCost
    puts it in a namespace __unmounted__; here the namespace keeps its cost, as on the product's pages).

    load_balancers: day, cluster, namespace, department, shared, selector, lb_cost (units); pods must be
    per day (by_day) when there are any.
    """
    pods = pods.assign(lb_cost=0.0)
    if load_balancers is None or load_balancers.empty:
        return pods
    weights = pods["samples"].to_numpy(float) if "samples" in pods.columns else np.ones(len(pods))
    lb_cost = np.zeros(len(pods))
    by_key: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(pods["day"], pods["cluster"], pods["namespace"], strict=True)):
        by_key.setdefault(key, []).append(i)
    labels = pods["labels"].tolist()
    unmounted = []
    for row in load_balancers.itertuples(index=False):
        rows = [
            i
            for i in by_key.get((row.day, row.cluster, row.namespace), ())
            if _selects(row.selector, labels[i])
        ]
        weight = weights[rows].sum() if rows else 0.0
        if weight > 0:
            lb_cost[rows] += row.lb_cost * weights[rows] / weight
        else:
            unmounted.append(row)
    pods["lb_cost"] = lb_cost
    if not unmounted:
        return pods
    extra = pd.DataFrame(
        {
            "day": [r.day for r in unmounted],
            "last_day": [r.day for r in unmounted],
            "cluster": [r.cluster for r in unmounted],
            "namespace": [r.namespace for r in unmounted],
            "department": [r.department for r in unmounted],
            "shared": [bool(r.shared) for r in unmounted],
            "labels": [{} for _ in unmounted],
            "node": "",
            "controller_kind": OwnerKind.POD,
            "controller": "",
            "pod": UNMOUNTED,
            "lb_cost": [float(r.lb_cost) for r in unmounted],
        }
    )
    for column in pods.columns:
        if column not in extra.columns:
            extra[column] = 0
    return pd.concat([pods, extra[list(pods.columns)]], ignore_index=True)


def _with_gpu_columns(pods: pd.DataFrame, idle: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frames with their GPU columns, 0 where a caller's frame has none (no GPUs)."""
    missing = [c for c in (*GPU_QUANTITIES, "gpu_cost", "storage_cost") if c not in pods.columns]
    if missing:
        pods = pods.assign(**dict.fromkeys(missing, 0))
    if "gpu_idle" not in idle.columns:
        idle = idle.assign(gpu_idle=0)
    return pods, idle


def allocation_sets(
    pods: pd.DataFrame,
    idle: pd.DataFrame,
    windows: list[tuple[date, date]],
    aggregate: list[str],
    *,
    include_idle: bool = False,
    share_idle: bool = False,
    visible=None,
    pod_filter=None,
    load_balancers: pd.DataFrame | None = None,
    as_json: bool = False,
) -> list[dict[str, dict]] | list[dict[str, str]]:
    """One dict per window: allocation name -> OpenCost allocation (see _allocations), or with `as_json`
    the allocation as JSON text (sets_json writes the answer of them without a dict per allocation).

    pods: reports.queries.frames.pod_cost_frame, or pod_cost_groups grouped as grouping() and by_day() say;
    idle: reports.queries.frames.node_idle_frame. `visible(pods)` returns
    the boolean mask of the pod rows the caller may see (None: all, and idle too; else idle is hidden,
    as a department sees the idle pool only as its share). `pod_filter`: a parse_filter tree; as in OpenCost,
    idle is divided before filtering, so a pod's share of idle does not depend on the filter, and an
    unshared __idle__ keeps only what the pods kept would have received. `load_balancers`
    (reports.queries.frames.load_balancer_frame): spread over the pods as spread_load_balancers says, before
    any filter, into loadBalancerCost.
    """
    keys = aggregate or DEFAULT_AGGREGATE
    pods, idle = _with_gpu_columns(pods, idle)
    pods = spread_load_balancers(pods, load_balancers)
    out = []
    for first, last in windows:
        in_set = pods[(pods["day"] >= first) & (pods["day"] < last)] if len(pods) else pods
        idle_set = idle[(idle["day"] >= first) & (idle["day"] < last)] if len(idle) else idle
        kept = filter_mask(pod_filter, in_set)
        if share_idle:
            in_set, idle_left = _share_idle(in_set, idle_set)
        elif pod_filter is not None:
            # OpenCost's idle filtration coefficients: the idle of a cluster-day that pods filtered out
            # would have received leaves with them; idle no pod cost follows stays whole.
            shared, idle_left = _share_idle(in_set, idle_set)
            followed = (
                shared[kept]
                .groupby(["cluster", "day"])[[f"{r}_idle_share" for r in RESOURCES]]
                .sum()
                .reset_index()
                .rename(columns={f"{r}_idle_share": f"{r}_idle" for r in RESOURCES})
            )
            idle_left = pd.concat([idle_left, followed], ignore_index=True)
            idle_left = _nonzero_idle(idle_left)
            in_set = in_set.assign(**{f"{r}_idle_share": 0.0 for r in RESOURCES})
        else:
            in_set = in_set.assign(**{f"{r}_idle_share": 0.0 for r in RESOURCES})
            idle_left = (
                idle_set.groupby(["cluster", "day"])[IDLE_COLUMNS].sum().reset_index()
                if len(idle_set)
                else idle_set
            )
        if len(in_set):
            if visible is not None:
                kept = kept & visible(in_set).to_numpy(bool)
            in_set = in_set[kept]
        parts: list[_Allocations] = []
        if len(in_set):
            parts.append(_pod_allocations(in_set, keys, (first, last)))
        if include_idle and visible is None and len(idle_left):
            by_cluster = "cluster" in keys
            groups = idle_left.groupby("cluster") if by_cluster else [(None, idle_left)]
            for cluster, group in groups:
                name = f"{cluster}/{IDLE}" if by_cluster else IDLE
                sums = pd.DataFrame({m: [0.0] for m in _MEASURES})  # idle has no load balancer
                for resource in RESOURCES:
                    sums[f"{resource}_cost"] = group[f"{resource}_idle"].sum()
                parts.append(
                    _allocations(
                        [name],
                        _Properties.of([{"cluster": cluster} if cluster else {}]),
                        (first, last),
                        np.array([group["day"].min()], dtype="datetime64[D]"),
                        np.array([group["day"].max() + timedelta(days=1)], dtype="datetime64[D]"),
                        sums,
                    )
                )
        allocations = {}
        for part in parts:
            allocations.update(part.json() if as_json else part.dicts())
        out.append(dict(sorted(allocations.items())))
    return out


def sets_json(sets: list[dict[str, str]]) -> str:
    """The answer {"code": 200, "data": [...]} as JSON text from allocation_sets(..., as_json=True): what
    DRF's JSONRenderer writes of the same sets as dicts (compact, U+2028 and U+2029 escaped)."""
    encode = json.encoder.encode_basestring
    data = ",".join(
        "{" + ",".join(f"{encode(name)}:{text}" for name, text in one.items()) + "}" for one in sets
    )
    text = '{"code":200,"data":[' + data + "]}"
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# --- parameters ------------------------------------------------------------------------------------------

# What /allocation reads; `format` is DRF's renderer choice (?format=json|api).
PARAMETERS = ("window", "aggregate", "accumulate", "step", "shareIdle", "includeIdle", "filter")
_FRAMEWORK_PARAMETERS = ("format",)


def check_parameters(params: dict[str, list[str]]) -> None:
    """Refuse a parameter this /allocation does not honour, rather than answer as if it had not been given.

    `params`: each query parameter with its values. OpenCost's names are case-sensitive (Go's URL query).
    """
    for name, values in params.items():
        if name in PARAMETERS or name in _FRAMEWORK_PARAMETERS:
            if len(values) > 1:
                raise ParameterError(
                    name,
                    gettext("%(name)s is given %(count)s times; give it once")
                    % {"name": name, "count": len(values)},
                )
            continue
        if name == "resolution":
            reason = gettext(
                "costs are computed from the samples already recorded and kept per UTC day, so a query "
                "resolution does not apply here; leave it out"
            )
        elif name.startswith("filter"):
            reason = gettext(
                "%(name)s is not supported here: use filter= with OpenCost's filter language, "
                'e.g. filter=namespace:"cart"'
            ) % {"name": name}
        else:
            reason = gettext(
                "%(name)s is not a parameter /allocation supports here (it reads %(parameters)s)"
            ) % {
                "name": name,
                "parameters": ", ".join(PARAMETERS),
            }
        raise ParameterError(name, reason)


# --- filter ----------------------------------------------------------------------------------------------
# OpenCost's v2 filter language (core/pkg/filter/ast: lexer.go, parser.go), for the fields we keep:
#   filter   := element (op element)*   with one op per group: '+' (and) or '|' (or)
#   element  := '(' filter ')' | field cmp value (',' value)*
#   field    := cluster | node | namespace | controllerKind | controllerName | pod | department | label['[' key ']']
#   cmp      := ':' equals, '~:' contains, '<~:' starts with, '~>:' ends with; '!' before any negates
#   value    := '"' text '"'
# Several values of one comparison are ORed, or ANDed when negated (namespace!:"a","b": neither a nor b).
# A space between two comparisons is a '+' that a URL decoded (OpenCost would ignore all after the first).
# "__unallocated__" stands for the empty value (no controller, no such label). Label keys compare as
# Prometheus writes them ([^a-zA-Z0-9_] -> '_'), as OpenCost's labels come from Prometheus. `label`
# without a key tests the presence of a label key.

FILTER_FIELDS = (
    "cluster",
    "node",
    "namespace",
    "controllerKind",
    "controllerName",
    "pod",
    "department",
    "label",
)
# OpenCost fields whose data this product does not keep.
_OPENCOST_ONLY_FIELDS = (
    "container",
    "provider",
    "services",
    "annotation",
    "environment",
    "owner",
    "product",
    "team",
)
_COMPARATORS = {
    ":": ("equals", False),
    "!:": ("equals", True),
    "~:": ("contains", False),
    "!~:": ("contains", True),
    "<~:": ("prefix", False),
    "!<~:": ("prefix", True),
    "~>:": ("suffix", False),
    "!~>:": ("suffix", True),
}
_IDENTIFIER_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_")
_PROMETHEUS_INVALID = re.compile(r"[^a-zA-Z0-9_]")


@dataclass(frozen=True)
class Comparison:
    """field cmp "v1","v2"...: `key` for label[key] (None: any label key), `match` equals/contains/prefix/suffix."""

    field: str
    key: str | None
    match: str
    negated: bool
    values: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    """Operands joined by one operator: and ('+') or or ('|')."""

    op: str
    operands: tuple


@dataclass(frozen=True)
class _Token:
    kind: str  # op, ',', '+', '|', '(', ')', str, ident, key, end
    text: str
    position: int


def _filter_error(position: int, message: str) -> ParameterError:
    return ParameterError(
        "filter",
        gettext("at position %(position)s: %(message)s") % {"position": position, "message": message},
    )


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in " \t\r\n":
            start = i
            while i < len(text) and text[i] in " \t\r\n":
                i += 1
            # A '+' left unencoded in a URL arrives as a space: between two comparisons it can only be that.
            if (
                out
                and out[-1].kind in ("str", ")")
                and i < len(text)
                and (text[i] in _IDENTIFIER_CHARS or text[i] == "(")
            ):
                out.append(_Token("+", " ", start))
            continue
        if c in ",+|()":
            out.append(_Token(c, c, i))
            i += 1
            continue
        if c in ":!~<":
            op = next((o for o in sorted(_COMPARATORS, key=len, reverse=True) if text.startswith(o, i)), None)
            if op is None:
                raise _filter_error(
                    i,
                    gettext("unexpected %(character)s: comparisons are :, !:, ~:, !~:, <~:, !<~:, ~>:, !~>:")
                    % {"character": repr(c)},
                )
            out.append(_Token("op", op, i))
            i += len(op)
            continue
        if c in '"[':
            close = '"' if c == '"' else "]"
            end = text.find(close, i + 1)
            if end < 0:
                message = (
                    gettext("the string starting here is never closed with %(close)s")
                    if c == '"'
                    else gettext("the label key starting here is never closed with %(close)s")
                )
                raise _filter_error(i, message % {"close": close})
            out.append(_Token("str" if c == '"' else "key", text[i + 1 : end], i))
            i = end + 1
            continue
        if c in _IDENTIFIER_CHARS:
            start = i
            while i < len(text) and text[i] in _IDENTIFIER_CHARS:
                i += 1
            out.append(_Token("ident", text[start:i], start))
            continue
        raise _filter_error(i, gettext("unexpected character %(character)s") % {"character": repr(c)})
    out.append(_Token("end", "", len(text)))
    return out


class _FilterParser:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += token.kind != "end"
        return token

    def expected(self, what: str) -> ParameterError:
        token = self.peek()
        found = gettext("the end of the filter") if token.kind == "end" else repr(token.text)
        if token.kind == "str":
            found = f'"{token.text}"'
        elif token.kind == "key":
            found = f"[{token.text}]"
        return _filter_error(
            token.position, gettext("expected %(what)s, found %(found)s") % {"what": what, "found": found}
        )

    def filter(self):
        if self.peek().kind == "end":
            return None
        node = self.group(0)
        token = self.peek()
        if token.kind == ")":
            raise _filter_error(token.position, gettext("')' without a matching '('"))
        if token.kind != "end":
            raise self.expected(gettext("'+' (and) or '|' (or) between two comparisons"))
        return node

    def group(self, depth: int):
        operands = [self.element(depth)]
        op = None
        while self.peek().kind in ("+", "|"):
            token = self.take()
            if op is None:
                op = token.kind
            elif token.kind != op:
                raise _filter_error(
                    token.position,
                    gettext(
                        "%(operator)s after %(previous)s in the same group: group them with parentheses, e.g. "
                        'namespace:"a"+(pod:"b"|pod:"c")'
                    )
                    % {"operator": repr(token.kind), "previous": repr(op)},
                )
            operands.append(self.element(depth))
        if op is None:
            return operands[0]
        return Group("and" if op == "+" else "or", tuple(operands))

    def element(self, depth: int):
        if self.peek().kind == "(":
            opening = self.take()
            node = self.group(depth + 1)
            if self.peek().kind != ")":
                if self.peek().kind == "end":
                    raise _filter_error(opening.position, gettext("'(' without a matching ')'"))
                raise self.expected(gettext("')' or '+' or '|'"))
            self.take()
            return node
        return self.comparison()

    def comparison(self) -> Comparison:
        token = self.peek()
        if token.kind != "ident":
            raise self.expected(gettext("a filter field (%(fields)s)") % {"fields": ", ".join(FILTER_FIELDS)})
        self.take()
        field = token.text
        if field in _OPENCOST_ONLY_FIELDS:
            raise _filter_error(
                token.position,
                gettext("the field %(field)s is not kept here; filter on %(fields)s")
                % {"field": repr(field), "fields": ", ".join(FILTER_FIELDS)},
            )
        if field not in FILTER_FIELDS:
            raise _filter_error(
                token.position,
                gettext("%(field)s is not a filter field; use %(fields)s")
                % {"field": repr(field), "fields": ", ".join(FILTER_FIELDS)},
            )
        key = None
        if field == "label" and self.peek().kind == "key":
            key = _PROMETHEUS_INVALID.sub("_", self.take().text)
        if self.peek().kind != "op":
            raise self.expected(
                gettext("a comparison after %(field)s (:, !:, ~:, !~:, <~:, !<~:, ~>:, !~>:)")
                % {"field": field}
            )
        match, negated = _COMPARATORS[self.take().text]
        if self.peek().kind != "str":
            raise self.expected(gettext('a value in double quotes, e.g. "cart"'))
        values = [self.take().text]
        while self.peek().kind == ",":
            self.take()
            if self.peek().kind != "str":
                raise self.expected(gettext('a value in double quotes after ","'))
            values.append(self.take().text)
        values = ["" if v == UNALLOCATED else v for v in values]
        if field == "label" and key is None:
            # Without a key, ':' asks whether the pod has the label key (OpenCost's contains on a map).
            match = "contains" if match == "equals" else match
            values = [_PROMETHEUS_INVALID.sub("_", v) for v in values]
        return Comparison(field, key, match, negated, tuple(values))


def parse_filter(text: str | None):
    """OpenCost's `filter` parameter as a tree of Group and Comparison (None: no filter), or ParameterError
    naming the position (from 0, as OpenCost counts) and what was expected there."""
    if text is None or not text.strip():
        return None
    return _FilterParser(text).filter()


def _prometheus_labels(labels) -> dict[str, str]:
    if not labels:
        return {}
    return {_PROMETHEUS_INVALID.sub("_", str(k)): str(v) for k, v in sorted(labels.items())}


def _field_values(pods: pd.DataFrame, field: str, key: str | None, cache: dict) -> pd.Series:
    if field not in cache:
        kinds = pods["controller_kind"].map(_kind)
        if field == "controllerKind":
            cache[field] = kinds
        elif field == "controllerName":
            cache[field] = pods["controller"].astype(str).where(kinds != "", "")
        elif field == "department":
            cache[field] = pods["department"].astype(str).where(~pods["shared"], "__shared__")
        elif field == "label":
            cache[field] = pods["labels"].map(_prometheus_labels)
        else:
            cache[field] = pods[field].astype(str)
    values = cache[field]
    if field == "label" and key is not None:
        return values.map(lambda labels: labels.get(key, ""))
    return values


def _compare(strings: pd.Series, match: str, value: str) -> np.ndarray:
    if match == "equals":
        return (strings == value).to_numpy(bool)
    if match == "contains":
        return strings.str.contains(value, regex=False).to_numpy(bool)
    if match == "prefix":
        return strings.str.startswith(value).to_numpy(bool)
    return strings.str.endswith(value).to_numpy(bool)


def _key_test(labels: pd.Series, match: str, value: str) -> np.ndarray:
    """Whether each pod has a label key equal to (contains), starting with or ending with `value`."""
    if match == "contains":
        return labels.map(lambda keys: value in keys).to_numpy(bool)
    if match == "prefix":
        return labels.map(lambda keys: any(k.startswith(value) for k in keys)).to_numpy(bool)
    return labels.map(lambda keys: any(k.endswith(value) for k in keys)).to_numpy(bool)


def filter_mask(node, pods: pd.DataFrame, _cache: dict | None = None) -> np.ndarray:
    """The pod rows (reports.queries.pod_cost_frame) the parsed filter keeps."""
    cache = {} if _cache is None else _cache
    if node is None:
        return np.ones(len(pods), dtype=bool)
    if isinstance(node, Group):
        masks = [filter_mask(operand, pods, cache) for operand in node.operands]
        return np.logical_and.reduce(masks) if node.op == "and" else np.logical_or.reduce(masks)
    values = _field_values(pods, node.field, node.key, cache)
    test = _key_test if node.field == "label" and node.key is None else _compare
    hit = np.logical_or.reduce([test(values, node.match, v) for v in node.values])
    return ~hit if node.negated else hit
