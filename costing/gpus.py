"""GPUs in Kubernetes resource lists: whole devices, MIG slices and extended resources, as GPU devices."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from costing.quantity import parse_quantity

NVIDIA_GPU = "nvidia.com/gpu"
# A MIG device is named by its profile: nvidia.com/mig-<g>g.<memory>gb (mixed strategy), optionally a
# compute instance <c>c.<g>g.<memory>gb and a +me / +gfx suffix. <g> is the number of GPU slices.
MIG_RESOURCE = re.compile(r"nvidia\.com/mig-(?:(?P<c>\d+)c\.)?(?P<g>\d+)g\.\d+gb(?:\+\w+)?")
# The compute slices of one device: A100, H100, H200 and B200 have 7 (an A30 has 4: name its
# profiles in the policy's gpu.resources to override).
MIG_SLICES_PER_DEVICE = 7


def mig_fraction(name: str) -> Decimal | None:
    """The share of one GPU a MIG device stands for (1g.10gb -> 1/7), None if `name` is no MIG resource."""
    match = MIG_RESOURCE.fullmatch(name)
    if match is None:
        return None
    slices = int(match.group("c") or match.group("g"))
    return Decimal(slices) / Decimal(MIG_SLICES_PER_DEVICE)


def gpu_devices(
    resources: Mapping[str, object], extra: Mapping[str, float] | None = None, *, what: str = ""
) -> Decimal:
    """GPU devices in a resource list (a container's requests, a node's capacity).

    nvidia.com/gpu counts whole devices; nvidia.com/mig-* counts each slice as its fraction of a
    device (mig_fraction); a resource named in `extra` (the policy's gpu.resources: name -> devices
    per unit) counts that many devices per unit and overrides the two rules above. Other resources
    are not GPUs. A quantity that is not a Kubernetes quantity raises QuantityError naming `what`.
    """
    extra = extra or {}
    total = Decimal(0)
    for name, value in resources.items():
        if name in extra:
            per_unit = Decimal(str(extra[name]))
        elif name == NVIDIA_GPU:
            per_unit = Decimal(1)
        else:
            per_unit = mig_fraction(name)
            if per_unit is None:
                continue
        total += parse_quantity(value, what=f"{what} {name}".strip()) * per_unit
    return total
