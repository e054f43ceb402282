"""The usage buckets: VPA's layout, edges computed by hand, histograms that add up."""

from __future__ import annotations

import numpy as np
import pytest

from costing.histograms import CPU, MEMORY, Buckets, merged, parsed


def test_layout_is_vpas():
    # 10 millicores first, each bucket 5% wider: start(i) = 0.01 x (1.05^i - 1) / 0.05, up to 1,000 cores.
    assert CPU.count == MEMORY.count == 175
    assert CPU.start(1) == pytest.approx(0.01)
    assert CPU.end(1) == pytest.approx(0.0205)
    assert CPU.start(16) == pytest.approx(0.2 * (1.05**16 - 1))
    assert MEMORY.start(10) == pytest.approx(2e8 * (1.05**10 - 1))
    assert CPU.end(CPU.count - 1) >= 1000


def test_a_value_lands_in_the_bucket_whose_edges_hold_it_even_on_an_edge():
    edges = CPU.starts[:-1]
    assert (CPU.index(edges) == np.arange(CPU.count)).all()
    assert (CPU.index(np.nextafter(edges[1:], 0)) == np.arange(CPU.count - 1)).all()
    assert CPU.index([0.0, -1.0, 0.25, 0.30, 1e6]).tolist() == [0, 0, 16, 18, CPU.count - 1]


def test_histograms_add_up_key_by_key():
    assert parsed('{"3": 60, "5": 120}') == {3: 60, 5: 120}
    assert parsed(None) == parsed("") == {}
    assert merged([{"3": 60}, '{"3": 30, "4": 10}', {}]) == {3: 90, 4: 10}


def test_a_layout_of_other_sizes():
    buckets = Buckets(first=1.0, ratio=2.0, largest=7.0)  # edges 0, 1, 3, 7
    assert buckets.count == 3
    assert buckets.index([0.5, 1, 2.9, 3, 100]).tolist() == [0, 1, 1, 2, 2]
