"""Who pays a persistent volume's disk, hour by hour, in exact 1e-8 units (issue #18, persistent volumes).

A volume-hour's cost (its disk's bill line spread over the hour) is divided by the time of the samples
that saw the volume in that hour (each sample stands for its interval, as for pods):
  - bound to a claim and mounted by pods: that time goes to those pods, in equal parts when several
    mount it at once (a ReadWriteMany volume, or a rollout's two pods on one node);
  - bound to a claim that no pod mounts: to the claim's namespace, as "unmounted storage";
  - not bound (Available, Released, Failed: its claim is gone or never came): storage idle.
An hour in which no sample saw the volume is all idle, as a billed node-hour never sampled. The parts
add up to the hour's cost exactly: shares are floored and the units still missing go one each to the
largest remainders (ties by key order).

The recorder keeps a volume's hour as sums (costing.models.VolumeHour and VolumeMountHour): seconds seen,
bound, bound but unmounted, and each pod's share of the seconds it mounted the volume; split_recorded_hour
applies the same rule to those sums (costing/storage.py calls it for every billed volume-hour).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from costing.engine._validate import EngineInputError

POD, UNMOUNTED, IDLE = "pod", "unmounted", "idle"
Key = tuple[str, str]  # (POD, pod uid) | (UNMOUNTED, namespace) | (IDLE, "")


@dataclass(frozen=True, slots=True)
class VolumeSeen:
    """One sample of one volume: the seconds it stands for in the hour, and what it saw."""

    seconds: int
    bound: bool  # phase Bound; a Released PV keeps its claimRef but is no longer bound
    claim_namespace: str = ""
    pods: tuple[str, ...] = ()  # uids of the claim namespace's pods that mount the claim


def split_volume_hour(cost_units: int, seen: Sequence[VolumeSeen]) -> dict[Key, int]:
    """The hour's `cost_units` divided among pods, unmounted storage and idle; the parts sum to it."""
    weights: dict[Key, Fraction] = {}
    for i, s in enumerate(seen):
        if s.seconds <= 0:
            raise EngineInputError(f"volume sample {i}: seconds must be positive, not {s.seconds!r}")
        if not s.bound:
            keys: tuple[Key, ...] = ((IDLE, ""),)
        elif s.pods:
            keys = tuple((POD, uid) for uid in dict.fromkeys(s.pods))
        else:
            keys = ((UNMOUNTED, s.claim_namespace),)
        for key in keys:
            weights[key] = weights.get(key, Fraction(0)) + Fraction(s.seconds, len(keys))
    return _divide(cost_units, weights)


@dataclass(frozen=True, slots=True)
class RecordedHour:
    """One volume-hour as recorded: seconds of the samples that saw it, of them bound, and bound with no pod
    mounting it; the claim's namespace; each pod's share of the seconds (seconds / pods mounting at once)."""

    seconds: int
    bound_seconds: int = 0
    unmounted_seconds: int = 0
    claim_namespace: object = ""
    pod_shares: Mapping[object, float] = field(default_factory=dict)


def split_recorded_hour(cost_units: int, seen: RecordedHour | None) -> dict[Key, int]:
    """split_volume_hour on a recorded hour's sums (None: no sample saw the volume, all idle)."""
    weights: dict[Key, Fraction] = {}
    if seen is not None and seen.seconds > 0:
        if seen.bound_seconds > seen.seconds or seen.unmounted_seconds > seen.bound_seconds:
            raise EngineInputError(
                f"volume hour: seconds {seen.seconds}, bound {seen.bound_seconds}, "
                f"unmounted {seen.unmounted_seconds} do not nest"
            )
        if seen.seconds > seen.bound_seconds:
            weights[(IDLE, "")] = Fraction(seen.seconds - seen.bound_seconds)
        if seen.unmounted_seconds:
            weights[(UNMOUNTED, seen.claim_namespace)] = Fraction(seen.unmounted_seconds)
        for pod, share in seen.pod_shares.items():
            if share > 0:
                weights[(POD, pod)] = Fraction(share)
    return _divide(cost_units, weights)


def _divide(cost_units: int, weights: dict[Key, Fraction]) -> dict[Key, int]:
    """cost_units in parts proportional to weights, floored, the missing units to the largest remainders."""
    if not weights:
        return {(IDLE, ""): cost_units}
    total = sum(weights.values())
    exact = {key: cost_units * w / total for key, w in weights.items()}
    parts = {key: value.numerator // value.denominator for key, value in exact.items()}
    missing = cost_units - sum(parts.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - parts[k]), k))[:missing]:
        parts[key] += 1
    return parts


def split_volume_day(hours: Iterable[tuple[int, Sequence[VolumeSeen]]]) -> dict[Key, int]:
    """The sum of split_volume_hour over a day's (cost units, samples) hours; parts without money left out."""
    out: Counter[Key] = Counter()
    for cost_units, seen in hours:
        out.update(split_volume_hour(cost_units, seen))
    return {key: units for key, units in out.items() if units}
