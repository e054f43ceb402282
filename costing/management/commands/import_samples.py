"""Import node and pod samples from CSV files (docs/import-formats.md, "Samples"); replaces the hours they touch."""

from __future__ import annotations

import sys

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from costing.choices import SECONDS_PER_HOUR, SampleSource
from costing.collectors.csv_files import SampleFileError, read_sample_files, read_volume_file
from costing.models import Cluster
from costing.recording import RecordResult, record_samples, replace_hours

DAY = 86400


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--cluster", required=True, help="name of the cluster the samples belong to")
        parser.add_argument("--nodes", required=True, help="nodes.csv")
        parser.add_argument("--pods", required=True, help="pods.csv")
        parser.add_argument("--namespaces", help="namespaces.csv (namespace labels)")
        parser.add_argument(
            "--volumes", help="volumes.csv (PersistentVolumes; pods.csv's claims column mounts them)"
        )
        parser.add_argument(
            "--interval", type=int, default=60, help="seconds each sample stands for (default 60)"
        )

    def handle(
        self,
        *args,
        cluster: str,
        nodes: str,
        pods: str,
        namespaces: str | None,
        interval: int,
        volumes: str | None = None,
        **options,
    ):
        target = Cluster.objects.filter(name=cluster).first()
        if target is None:
            raise CommandError(f"--cluster: no cluster named {cluster!r} (create it in the admin first)")
        if not 1 <= interval <= SECONDS_PER_HOUR:
            raise CommandError(f"--interval: must be 1..3600 seconds, not {interval}")
        try:
            node_frame, pod_frame, namespace_frame = read_sample_files(nodes, pods, namespaces)
            volume_frame = read_volume_file(volumes) if volumes else None
        except SampleFileError as error:
            raise CommandError(str(error)) from None
        result = import_frames(
            target,
            node_frame,
            pod_frame,
            namespace_frame,
            interval,
            progress=self._progress(),
            volumes=volume_frame,
        )
        self.stdout.write(
            f"Imported into {target.name}: {result.slots} slots, {result.pod_samples:,} pod samples, "
            f"{result.pod_hours:,} pod-hours; {len(result.days)} days marked for recompute."
        )

    def _progress(self):
        stream = getattr(self.stdout, "_out", sys.stdout)
        if not (hasattr(stream, "isatty") and stream.isatty()):
            return None
        from tqdm import tqdm

        return lambda total: tqdm(total=total, unit="day", desc="Recording", file=stream)


def import_frames(
    cluster, nodes, pods, namespaces, interval: int, *, progress=None, volumes=None
) -> RecordResult:
    """Record validated frames as the whole truth of every cluster-hour they touch, in one transaction.

    The hours' old pod-, node-, coverage-hours and slots are deleted first (see recording.replace_hours),
    then the samples are recorded one UTC day at a time (bounded memory per step, a progress bar).
    `volumes` (VOLUME_COLUMNS, optional) are recorded with the pods of their timestamps.
    """
    ts = np.union1d(
        nodes["timestamp"].astype("datetime64[s, UTC]").astype("int64").to_numpy(),
        pods["timestamp"].astype("datetime64[s, UTC]").astype("int64").to_numpy(),
    )
    result = RecordResult()
    if len(ts) == 0:
        return result
    node_day = nodes["timestamp"].astype("datetime64[s, UTC]").astype("int64").to_numpy() // DAY
    pod_day = pods["timestamp"].astype("datetime64[s, UTC]").astype("int64").to_numpy() // DAY
    volume_day = (
        volumes["timestamp"].astype("datetime64[s, UTC]").astype("int64").to_numpy() // DAY
        if volumes is not None
        else None
    )
    days = np.unique(ts // DAY)
    bar = progress(len(days)) if progress else None
    try:
        with transaction.atomic():
            result.days |= replace_hours(cluster, ts, interval)
            for day in days:
                one = len(days) == 1  # no copy of a one-day import
                result += record_samples(
                    cluster,
                    nodes if one else nodes[node_day == day],
                    pods if one else pods[pod_day == day],
                    namespaces,
                    interval=interval,
                    source=SampleSource.IMPORT,
                    volumes=None if volumes is None else volumes if one else volumes[volume_day == day],
                )
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return result
