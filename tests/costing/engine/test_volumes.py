"""Who pays a persistent volume's disk, by hand (costing/engine/volumes.py).

A 100 GB EVS disk at 0.00014 a GB-hour costs 0.014 an hour (1,400,000 units of 1e-8), 0.336 a day.
Samples every 10 minutes (600 s, six an hour). Its claim shop/data:
  hours 0-7   mounted by pod A                       -> A 8 x 0.014 = 0.112
  hour 8      A for three samples, then B for three  -> A 0.007, B 0.007
  hours 9-15  mounted by pod B                       -> B 7 x 0.014 = 0.098
  hours 16-23 bound, mounted by nobody               -> shop's unmounted storage 0.112
A 0.119 + B 0.105 + unmounted 0.112 = 0.336.
"""

from __future__ import annotations

import pytest

from costing.engine._validate import EngineInputError
from costing.engine.volumes import IDLE, POD, UNMOUNTED, VolumeSeen, split_volume_day, split_volume_hour

HOUR = 1_400_000  # 0.014 in 1e-8 units


def mounted(*pods: str, n: int = 6) -> list[VolumeSeen]:
    return [VolumeSeen(600, True, "shop", tuple(pods)) for _ in range(n)]


def test_a_volume_mounted_by_two_pods_in_turn_and_then_unmounted():
    hours = [(HOUR, mounted("A")) for _ in range(8)]
    hours.append((HOUR, mounted("A", n=3) + mounted("B", n=3)))
    hours += [(HOUR, mounted("B")) for _ in range(7)]
    hours += [(HOUR, mounted()) for _ in range(8)]
    day = split_volume_day(hours)
    assert day == {(POD, "A"): 11_900_000, (POD, "B"): 10_500_000, (UNMOUNTED, "shop"): 11_200_000}
    assert sum(day.values()) == 24 * HOUR == 33_600_000  # 0.336


def test_an_unbound_or_released_volume_is_storage_idle():
    available = [VolumeSeen(600, False) for _ in range(6)]
    released = [VolumeSeen(600, False, "old") for _ in range(6)]  # keeps its claimRef, no longer bound
    assert split_volume_day([(HOUR, available)] * 24) == {(IDLE, ""): 24 * HOUR}
    assert split_volume_hour(HOUR, released) == {(IDLE, ""): HOUR}
    # Released at half past: three samples bound and mounted, three not.
    half = mounted("A", n=3) + [VolumeSeen(600, False, "shop") for _ in range(3)]
    assert split_volume_hour(HOUR, half) == {(POD, "A"): 700_000, (IDLE, ""): 700_000}


def test_pods_mounting_at_once_share_and_units_add_up_exactly():
    # 7 units; six samples: two A alone, one A and B together, three B alone.
    # A 2.5/6 x 7 = 2.9167, B 3.5/6 x 7 = 4.0833: floors 2 and 4, the missing unit to A's larger remainder.
    seen = mounted("A", n=2) + mounted("A", "B", n=1) + mounted("B", n=3)
    assert split_volume_hour(7, seen) == {(POD, "A"): 3, (POD, "B"): 4}
    # A credit (negative cost) is divided the same way and still adds up.
    assert sum(split_volume_hour(-7, seen).values()) == -7


def test_the_observed_time_is_divided_and_an_unseen_hour_is_idle():
    # Only half the hour sampled, all of it mounted by A: A pays the hour, as pods pay a half-sampled node-hour.
    assert split_volume_hour(HOUR, mounted("A", n=3)) == {(POD, "A"): HOUR}
    assert split_volume_hour(HOUR, []) == {(IDLE, ""): HOUR}
    with pytest.raises(EngineInputError, match="seconds must be positive"):
        split_volume_hour(HOUR, [VolumeSeen(0, True, "shop")])


def test_a_recorded_hour_is_divided_as_its_samples_are():
    from costing.engine.volumes import RecordedHour, split_recorded_hour

    # Hour 8 above as the recorder keeps it: 3600 s seen and bound, A and B 1800 s each.
    eight = RecordedHour(3600, 3600, 0, "shop", {"A": 1800.0, "B": 1800.0})
    assert split_recorded_hour(HOUR, eight) == split_volume_hour(HOUR, mounted("A", n=3) + mounted("B", n=3))
    # Two samples A and B at once (share 600 each), four A alone; then one sample released.
    seen = mounted("A", "B", n=2) + mounted("A", n=3) + [VolumeSeen(600, False, "shop")]
    recorded = RecordedHour(3600, 3000, 0, "shop", {"A": 600.0 + 1800.0, "B": 600.0})
    assert split_recorded_hour(7, recorded) == split_volume_hour(7, seen)
    # Unmounted seconds go to the claim's namespace; an hour nobody saw is idle.
    assert split_recorded_hour(HOUR, RecordedHour(3600, 3600, 3600, "shop")) == {(UNMOUNTED, "shop"): HOUR}
    assert split_recorded_hour(HOUR, None) == {(IDLE, ""): HOUR}
    with pytest.raises(EngineInputError, match="do not nest"):
        split_recorded_hour(HOUR, RecordedHour(600, 1200))
