"""The policy's GPU fields: the gpu section and a fallback row's gpu_hour, read, checked, dumped and stored."""

from datetime import date
from decimal import Decimal

import pytest

from costing.policy import GpuResource, GpuRule, GpuSpec, dump_policy, load_policy
from costing.policy.store import gpu_resources_for_day, save_spec, spec_from_policy
from costing.policy.yamlfile import FileError, PolicyFileError

D = Decimal

OLD = """\
effective_from: 2026-01-01
split:
  method: cost_share
  cpu_share: 0.6
fallback_prices:
  - cpu_core_hour: 0.04
    mem_gib_hour: 0.005
"""

WITH_GPUS = """\
effective_from: 2026-01-01
fallback_prices:
  - cpu_core_hour: 0.04
    mem_gib_hour: 0.005
    gpu_hour: 2.5
gpu:
  price_ratio: 28
  instance_types:
    - instance_type: p4d.24xlarge
      share: 0.8
    - instance_type: g5.xlarge
      price_ratio: 40
  resources:
    - name: amd.com/gpu
    - name: nvidia.com/mig-1g.6gb
      devices: 0.25
"""


def test_an_old_file_loads_unchanged_and_dumps_without_a_gpu_section():
    spec = load_policy(OLD)
    assert spec.gpu == GpuSpec() and spec.gpu.price_ratio == 30
    assert spec.fallback_prices[0].gpu_hour is None
    text = dump_policy(spec)
    assert "gpu" not in text
    assert load_policy(text) == spec


def test_the_gpu_section_is_read_exactly_and_dumped_back_equal():
    spec = load_policy(WITH_GPUS)
    assert spec.fallback_prices[0].gpu_hour == D("2.5")
    assert spec.gpu == GpuSpec(
        price_ratio=D(28),
        instance_types=[
            GpuRule(instance_type="p4d.24xlarge", share=D("0.8")),
            GpuRule(instance_type="g5.xlarge", price_ratio=D(40)),
        ],
        resources=[GpuResource("amd.com/gpu", D(1)), GpuResource("nvidia.com/mig-1g.6gb", D("0.25"))],
    )
    assert spec.gpu.rule_for("p4d.24xlarge") == (0.8, 28.0)
    assert spec.gpu.rule_for("g5.xlarge") == (None, 40.0)
    assert spec.gpu.rule_for("m5.xlarge") == (None, 28.0)
    assert load_policy(dump_policy(spec)) == spec


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ("      share: 0.8", "      share: 1.8", FileError(10, "gpu.instance_types[0].share", "must be a number between 0 and 1, not 1.8")),
        ("      share: 0.8", "      share: 0.8\n      price_ratio: 3", FileError(9, "gpu.instance_types[0]", "must give exactly one of share and price_ratio")),
        ("    - name: amd.com/gpu", "    - name: nvidia.com/gpu", FileError(14, "gpu.resources[0].name", "nvidia.com/gpu is always one GPU per unit; leave it out")),
        ("      devices: 0.25", "      devices: 0", FileError(16, "gpu.resources[1].devices", "must be a number above 0, not 0")),
        ("    gpu_hour: 2.5", "    gpu_hour: -1", FileError(5, "fallback_prices[0].gpu_hour", "must be a number of 0 or more, not -1")),
    ],
)  # fmt: skip
def test_bad_gpu_fields_name_their_line(old, new, error):
    with pytest.raises(PolicyFileError) as caught:
        load_policy(WITH_GPUS.replace(old, new))
    assert caught.value.errors == [error]


@pytest.mark.django_db
def test_a_stored_policy_keeps_its_gpu_fields_and_the_collector_reads_the_resources():
    spec = load_policy(WITH_GPUS)
    policy = save_spec(spec)
    assert spec_from_policy(policy) == spec
    assert gpu_resources_for_day(date(2026, 2, 1)) == {"amd.com/gpu": 1.0, "nvidia.com/mig-1g.6gb": 0.25}
    assert gpu_resources_for_day(date(2025, 12, 31)) == {}
    old = save_spec(load_policy(OLD.replace("2026-01-01", "2026-03-01")))
    assert spec_from_policy(old).gpu == GpuSpec()
