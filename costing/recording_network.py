"""Records load balancers (Services of type LoadBalancer) per slot and hour, for costing/recording.py.

Called inside record_samples' transaction for the slots it has just claimed, so a slot already recorded
adds nothing here either, and a re-import (replace) empties the hours first (clear_load_balancer_hours).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from costing import bulk_write as bulk
from costing.collectors.snapshot import LOAD_BALANCER_COLUMNS, Snapshot
from costing.load_balancers import normalise_lb_id
from costing.models import LoadBalancer, LoadBalancerHour, Namespace


class LoadBalancerRecordingError(ValueError):
    """Load balancer rows that cannot be recorded as given (names the row and the field)."""


def snapshot_load_balancer_frame(snapshot: Snapshot, at: datetime) -> pd.DataFrame | None:
    """LOAD_BALANCER_COLUMNS rows of a snapshot's load balancers, stamped `at`; None if it has not seen them."""
    if snapshot.load_balancers is None:
        return None
    frame = pd.DataFrame(
        [
            (lb.namespace, lb.name, lb.cloud_id, lb.hostname, lb.ip, lb.ids, lb.selector)
            for lb in snapshot.load_balancers
        ],
        columns=LOAD_BALANCER_COLUMNS[1:],
    )
    stamp = pd.Timestamp(at)
    frame.insert(0, "timestamp", stamp.tz_convert(UTC) if stamp.tzinfo else stamp.tz_localize(UTC))
    return frame


def prepare_load_balancers(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """The frame checked, with `ts` (epoch seconds) and ids as sorted tuples in normalise_lb_id's form."""
    if frame is None:
        return None
    missing = [c for c in ("timestamp", "namespace", "service") if c not in frame.columns]
    if missing:
        raise LoadBalancerRecordingError(f"load balancers: missing column(s) {', '.join(missing)}")
    frame = frame.reset_index(drop=True).copy()
    for column in ("cloud_id", "hostname", "ip"):
        frame[column] = frame[column].fillna("").astype(str) if column in frame.columns else ""
    for i, (namespace, service) in enumerate(zip(frame["namespace"], frame["service"], strict=True)):
        for field, value in (("namespace", namespace), ("service", service)):
            if not isinstance(value, str) or not value:
                raise LoadBalancerRecordingError(f"load balancers: row {i}, field {field}: empty")
    if "selector" not in frame.columns:
        frame["selector"] = [{} for _ in range(len(frame))]
    frame["selector"] = [s if isinstance(s, dict) else {} for s in frame["selector"]]
    given = frame["ids"] if "ids" in frame.columns else pd.Series([()] * len(frame), index=frame.index)
    frame["ids"] = [
        tuple(sorted({normalise_lb_id(str(v)) for v in (*(ids or ()), cid, host, ip) if v} - {""}))
        for ids, cid, host, ip in zip(given, frame["cloud_id"], frame["hostname"], frame["ip"], strict=True)
    ]
    stamps = pd.to_datetime(frame["timestamp"], utc=True)
    frame["ts"] = stamps.dt.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64)
    return frame


def record_load_balancers(cluster_id: int, frame: pd.DataFrame, interval: int, split_seconds) -> int:
    """Upsert the frame's load balancers and add their seconds per hour; returns the hourly rows touched.

    `frame` holds only the slots just claimed (prepare_load_balancers' form); `split_seconds` is the
    recorder's split of slots into hours, so a slot spanning two hours counts in both."""
    if frame is None or frame.empty:
        return 0
    ids = _upsert(cluster_id, frame)
    hour, seconds, index = split_seconds(frame["ts"].to_numpy(np.int64), interval)
    keys = [(ns, svc) for ns, svc in zip(frame["namespace"], frame["service"], strict=True)]
    hourly = pd.DataFrame(
        {
            "load_balancer_id": np.array([ids[keys[i]] for i in index.tolist()], dtype=np.int64),
            "hour": hour,
            "samples": 1,
            "seconds": seconds,
        }
    )
    # A slot spilling into the next hour counts its sample once, in the hour it starts.
    hourly.loc[len(frame) :, "samples"] = 0
    sums = hourly.groupby(["load_balancer_id", "hour"], sort=True).sum().reset_index()
    sums.insert(0, "cluster_id", cluster_id)
    sums["hour"] = bulk.stamps(sums["hour"].to_numpy())
    columns = list(sums.columns)
    bulk.upsert(
        LoadBalancerHour,
        columns,
        [
            (cluster_id, int(lb), hour, int(samples), int(secs))
            for _, lb, hour, samples, secs in sums.itertuples(index=False, name=None)
        ],
        conflict=["load_balancer_id", "hour"],
        update=bulk.added(LoadBalancerHour, ["samples", "seconds"]),
    )
    return len(sums)


def clear_load_balancer_hours(cluster_id: int, start: datetime, end: datetime) -> None:
    LoadBalancerHour.objects.filter(cluster_id=cluster_id, hour__gte=start, hour__lt=end).delete()


def _upsert(cluster_id: int, frame: pd.DataFrame) -> dict[tuple[str, str], int]:
    """(namespace, service) -> LoadBalancer pk; attributes from the latest row, ids accumulated."""
    names = sorted(set(frame["namespace"]))
    first_at = _at(int(frame["ts"].min()))
    Namespace.objects.bulk_create(
        [Namespace(cluster_id=cluster_id, name=n, first_seen=first_at, last_seen=first_at) for n in names],
        ignore_conflicts=True,
    )
    namespaces = dict(
        Namespace.objects.filter(cluster_id=cluster_id, name__in=names).values_list("name", "pk")
    )
    latest = frame.sort_values("ts", kind="stable").groupby(["namespace", "service"], sort=True)
    existing = {
        (lb.namespace.name, lb.name): lb
        for lb in LoadBalancer.objects.filter(
            cluster_id=cluster_id, namespace__name__in=names
        ).select_related("namespace")
    }
    result = {}
    for (namespace, service), rows in latest:
        last = rows.iloc[-1]
        seen_ids = sorted({i for ids in rows["ids"] for i in ids})
        first, last_at = _at(int(rows["ts"].min())), _at(int(rows["ts"].max()))
        lb = existing.get((namespace, service))
        if lb is None:
            lb = LoadBalancer.objects.create(
                cluster_id=cluster_id,
                namespace_id=namespaces[namespace],
                name=service,
                cloud_id=last["cloud_id"],
                hostname=last["hostname"],
                ip=last["ip"],
                ids=seen_ids,
                selector=last["selector"],
                first_seen=first,
                last_seen=last_at,
            )
        else:
            newer = last_at >= lb.last_seen
            lb.ids = sorted(set(lb.ids or ()) | set(seen_ids))
            lb.first_seen = min(lb.first_seen, first)
            if newer:
                lb.last_seen = last_at
                lb.cloud_id, lb.hostname, lb.ip = last["cloud_id"], last["hostname"], last["ip"]
                lb.selector = last["selector"]
            lb.save(
                update_fields=["ids", "first_seen", "last_seen", "cloud_id", "hostname", "ip", "selector"]
            )
        result[(namespace, service)] = lb.pk
    return result


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
