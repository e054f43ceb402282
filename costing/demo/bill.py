"""The demo cluster's cloud bill: a FOCUS 1.0 CSV whose node lines match the simulator's node-hours."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from os import PathLike

from costing.demo.simulator import INSTANCE_TYPES, POOLS, REGION, DemoCluster

# FOCUS 1.0 columns, in the order of the FinOps Foundation's sample data.
FOCUS_COLUMNS = [
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
]

CLUSTER_TAG_KEY = "CCE-Cluster-ID"
PROVIDER = "Huawei Cloud"
REGION_NAME = "EU-Dublin"
ECS_SERVICE = "Elastic Cloud Server"

# On-demand prices are built from a price per core-hour and per GiB-hour (8 : 1, close to AWS's 9 : 1)
# and, on GPU instances, per GPU-hour (48 core-hours: a p2s.4xlarge.8's two V100 are 3/4 of its price,
# the share the demo policy gives them), so the fallback price sheet reproduces them exactly.
CPU_CORE_HOUR = Decimal("0.040")
MEMORY_GIB_HOUR = Decimal("0.005")
GPU_HOUR = Decimal("1.92")
# Spot prices move every hour between these fractions of the on-demand price.
SPOT_MIN_FRACTION = Decimal("0.30")
SPOT_MAX_FRACTION = Decimal("0.40")

CONTROL_PLANE_HOUR = Decimal("0.20")
EVS_GB_HOUR = Decimal("0.00014")
ELB_HOUR = Decimal("0.030")
EIP_HOUR = Decimal("0.005")
OBS_GB_HOUR = Decimal("0.000027")
OBS_BUCKET_GB = 2048

# Demo bill amounts carry 10 places, as real FOCUS exports do; stored units (costing.money) are 8.
_BILL_AMOUNT_STEP = Decimal("0.0000000001")
_QTY = Decimal("0.000001")
_PRICE = Decimal("0.000001")


def on_demand_hourly_price(instance_type: str) -> Decimal:
    t = INSTANCE_TYPES[instance_type]
    return CPU_CORE_HOUR * t.cpu_cores + MEMORY_GIB_HOUR * t.memory_gib + GPU_HOUR * t.gpus


def spot_hourly_price(instance_type: str, hour: datetime) -> Decimal:
    """The spot market price of the hour starting at `hour`: the same for every cluster."""
    h = int.from_bytes(
        hashlib.blake2b(f"spot|{instance_type}|{hour:%Y%m%d%H}".encode(), digest_size=8).digest()
    )
    steps = int((SPOT_MAX_FRACTION - SPOT_MIN_FRACTION) * 10000)
    fraction = SPOT_MIN_FRACTION + Decimal(h % (steps + 1)) / 10000
    return (on_demand_hourly_price(instance_type) * fraction).quantize(_BILL_AMOUNT_STEP)


def demo_price_sheet() -> dict:
    """Fallback prices for node-hours the bill does not cover yet, close to what the demo bill charges.

    {"currency", "cpu_core_hour", "memory_gib_hour", "gpu_hour", "instance_types": {type: {"cpu_core_hour",
    "memory_gib_hour", "gpu_hour"}}}; Decimal amounts per hour. Spot types carry the middle of the spot
    range.
    """
    spot_types = {p.instance_type for p in POOLS if p.spot}
    middle = (SPOT_MIN_FRACTION + SPOT_MAX_FRACTION) / 2
    return {
        "currency": "EUR",
        "cpu_core_hour": CPU_CORE_HOUR,
        "memory_gib_hour": MEMORY_GIB_HOUR,
        "gpu_hour": GPU_HOUR,
        "instance_types": {
            name: {
                "cpu_core_hour": (CPU_CORE_HOUR * (middle if name in spot_types else 1)).quantize(_PRICE),
                "memory_gib_hour": (MEMORY_GIB_HOUR * (middle if name in spot_types else 1)).quantize(_PRICE),
                "gpu_hour": (GPU_HOUR * (middle if name in spot_types else 1)).quantize(_PRICE),
            }
            for name in INSTANCE_TYPES
        },
    }


@dataclass(frozen=True)
class _Charge:
    service: str
    category: str
    resource_id: str
    resource_name: str
    resource_type: str
    sku: str
    description: str
    unit: str
    quantity: Decimal
    list_unit_price: Decimal
    unit_price: Decimal
    start: datetime
    end: datetime
    tags: dict[str, str]
    pricing_category: str = "Standard"
    zone: str = ""


def write_demo_focus_bill(
    cluster: DemoCluster,
    start: date,
    end: date,
    path: str | PathLike,
    *,
    billing_account_id: str = "demo-account",
    currency: str = "EUR",
    cluster_tag: tuple[str, str] | None = None,
) -> int:
    """Write the demo bill of the days [start, end) (end excluded) to `path`; returns the number of lines.

    Lines: one per node and hour it existed (ResourceId = the node's instance id, spot pools at the
    hour's spot price); the cluster's control-plane fee per hour; its EVS disks, load balancer and
    elastic IPs per day, all tagged with `cluster_tag` (default: CCE-Cluster-ID = cluster.cluster_id);
    and one daily object-storage line without the cluster tag, which is cost outside Kubernetes.
    """
    if end <= start:
        raise ValueError(f"demo bill: end {end} must be after start {start}")
    tag_key, tag_value = cluster_tag or (CLUSTER_TAG_KEY, cluster.cluster_id)
    t0 = datetime(start.year, start.month, start.day, tzinfo=UTC)
    t1 = datetime(end.year, end.month, end.day, tzinfo=UTC)
    charges = [
        *_node_charges(cluster, t0, t1, tag_key, tag_value),
        *_overhead_charges(cluster, t0, t1, tag_key, tag_value),
    ]
    charges.sort(key=lambda c: (c.start, c.service, c.resource_id))
    account = {
        "BillingAccountId": billing_account_id,
        "BillingAccountName": "Demo Organisation",
        "BillingCurrency": currency,
        "InvoiceIssuerName": PROVIDER,
        "ProviderName": PROVIDER,
        "PublisherName": PROVIDER,
        "RegionId": REGION,
        "RegionName": REGION_NAME,
        "SubAccountId": _resource_uuid(cluster, "project"),
        "SubAccountName": f"finops-{cluster.name}",
    }
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FOCUS_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for c in charges:
            writer.writerow({**dict.fromkeys(FOCUS_COLUMNS, ""), **account, **_focus_row(c)})
    return len(charges)


def _focus_row(c: _Charge) -> dict[str, str]:
    cost = (c.unit_price * c.quantity).quantize(_BILL_AMOUNT_STEP)
    list_cost = (c.list_unit_price * c.quantity).quantize(_BILL_AMOUNT_STEP)
    month = c.start.replace(day=1, hour=0, minute=0, second=0)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return {
        "AvailabilityZone": c.zone,
        "BilledCost": _num(cost),
        "BillingPeriodEnd": _ts(next_month),
        "BillingPeriodStart": _ts(month),
        "ChargeCategory": "Usage",
        "ChargeDescription": c.description,
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodEnd": _ts(c.end),
        "ChargePeriodStart": _ts(c.start),
        "ConsumedQuantity": _num(c.quantity),
        "ConsumedUnit": c.unit,
        "ContractedCost": _num(cost),
        "ContractedUnitPrice": _num(c.unit_price),
        "EffectiveCost": _num(cost),
        "ListCost": _num(list_cost),
        "ListUnitPrice": _num(c.list_unit_price),
        "PricingCategory": c.pricing_category,
        "PricingQuantity": _num(c.quantity),
        "PricingUnit": c.unit,
        "ResourceId": c.resource_id,
        "ResourceName": c.resource_name,
        "ResourceType": c.resource_type,
        "ServiceCategory": c.category,
        "ServiceName": c.service,
        "SkuId": c.sku,
        "SkuPriceId": f"{c.sku}:{c.pricing_category.lower()}:{REGION}",
        "Tags": json.dumps(c.tags, sort_keys=True),
    }


def _node_charges(cluster: DemoCluster, t0: datetime, t1: datetime, tag_key: str, tag_value: str):
    lives = cluster.node_lifetimes(t0, t1)
    for life in lives.itertuples(index=False):
        a, b = life.start.to_pydatetime(), life.end.to_pydatetime()
        hour = a.replace(minute=0, second=0, microsecond=0)
        list_price = on_demand_hourly_price(life.instance_type)
        while hour < b:
            nxt = hour + timedelta(hours=1)
            seconds = (min(b, nxt) - max(a, hour)).total_seconds()
            quantity = (Decimal(int(seconds)) / 3600).quantize(_QTY)
            price = spot_hourly_price(life.instance_type, hour) if life.spot else list_price
            kind = "spot" if life.spot else "pay-per-use"
            yield _Charge(
                service=ECS_SERVICE,
                category="Compute",
                resource_id=life.instance_id,
                resource_name=life.node,
                resource_type="Virtual Machine",
                sku=life.instance_type,
                description=f"{life.instance_type} Linux {kind} instance, per hour",
                unit="Hours",
                quantity=quantity,
                list_unit_price=list_price,
                unit_price=price,
                start=hour,
                end=nxt,
                tags={tag_key: tag_value, "cce.cloud.com/cce-nodepool": life.node_pool},
                pricing_category="Dynamic" if life.spot else "Standard",
                zone=life.zone,
            )
            hour = nxt


def _overhead_charges(cluster: DemoCluster, t0: datetime, t1: datetime, tag_key: str, tag_value: str):
    cluster_tags = {tag_key: tag_value}
    hour = t0
    while hour < t1:
        yield _Charge(
            service="Cloud Container Engine",
            category="Compute",
            resource_id=cluster.cluster_id,
            resource_name=cluster.name,
            resource_type="Cluster",
            sku="cce.s2.small",
            description="CCE cluster management (HA, up to 50 nodes), per hour",
            unit="Hours",
            quantity=Decimal(1),
            list_unit_price=CONTROL_PLANE_HOUR,
            unit_price=CONTROL_PLANE_HOUR,
            start=hour,
            end=hour + timedelta(hours=1),
            tags=cluster_tags,
        )
        hour += timedelta(hours=1)

    labels = {ns.name: ns.labels for ns in cluster.namespaces()}
    day = t0
    while day < t1:
        nxt = day + timedelta(days=1)
        for i, (namespace, claim, size_gb) in enumerate(cluster.persistent_volumes()):
            tags = {
                **cluster_tags,
                "kubernetes.io/created-for/pvc/namespace": namespace,
                "kubernetes.io/created-for/pvc/name": claim,
            }
            if "department" in labels[namespace]:
                tags["department"] = labels[namespace]["department"]
            yield _Charge(
                service="Elastic Volume Service",
                category="Storage",
                resource_id=_resource_uuid(cluster, "evs", claim),
                resource_name=cluster.volume_name(claim),
                resource_type="Disk",
                sku="SSD",
                description="Ultra-high I/O (SSD) disk, per GB-hour",
                unit="GB-Hours",
                quantity=Decimal(size_gb * 24),
                list_unit_price=EVS_GB_HOUR,
                unit_price=EVS_GB_HOUR,
                start=day,
                end=nxt,
                tags=tags,
                zone=f"{REGION}{'abc'[i % 3]}",
            )
        yield _Charge(
            service="Elastic Load Balance",
            category="Networking",
            resource_id=_resource_uuid(cluster, "elb", "ingress"),
            resource_name=f"{cluster.name}-ingress-elb",
            resource_type="Load Balancer",
            sku="elb.dedicated.small",
            description="Dedicated load balancer, small, per hour",
            unit="Hours",
            quantity=Decimal(24),
            list_unit_price=ELB_HOUR,
            unit_price=ELB_HOUR,
            start=day,
            end=nxt,
            tags={**cluster_tags, "kubernetes.io/service-name": "ingress-nginx/ingress-nginx-controller"},
        )
        for purpose in ("ingress", "nat-gateway"):
            yield _Charge(
                service="Elastic IP",
                category="Networking",
                resource_id=_resource_uuid(cluster, "eip", purpose),
                resource_name=f"{cluster.name}-{purpose}-eip",
                resource_type="Elastic IP",
                sku="5_bgp",
                description="Dynamic BGP elastic IP, per hour",
                unit="Hours",
                quantity=Decimal(24),
                list_unit_price=EIP_HOUR,
                unit_price=EIP_HOUR,
                start=day,
                end=nxt,
                tags=cluster_tags,
            )
        # Not part of any cluster: shows that cost outside Kubernetes stays out of its figures.
        yield _Charge(
            service="Object Storage Service",
            category="Storage",
            resource_id=f"{cluster.name}-datalake",
            resource_name=f"{cluster.name}-datalake",
            resource_type="Bucket",
            sku="obs.standard",
            description="Standard storage, per GB-hour",
            unit="GB-Hours",
            quantity=Decimal(OBS_BUCKET_GB * 24),
            list_unit_price=OBS_GB_HOUR,
            unit_price=OBS_GB_HOUR,
            start=day,
            end=nxt,
            tags={"department": "data-platform"},
        )
        day = nxt


def _resource_uuid(cluster: DemoCluster, *parts: object) -> str:
    return cluster.resource_uuid(*parts)


def _ts(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(d: Decimal) -> str:
    return format(d.normalize(), "f") if d != 0 else "0"
