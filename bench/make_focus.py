"""Writes an N-line FOCUS 1.0 CSV, deterministically, shaped like a month of a few Kubernetes clusters."""

from __future__ import annotations

import argparse
import csv
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

HEADER = [
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription",
    "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory",
    "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice", "EffectiveCost",
    "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit",
    "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType",
    "ServiceCategory", "ServiceName", "SkuId", "SkuPriceId", "SubAccountId", "SubAccountName", "Tags",
    "x_Discounts",
]  # fmt: skip
PERIOD_START = datetime(2026, 9, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 10, 1, tzinfo=UTC)
CLUSTERS = ["prod-eu", "prod-us", "staging", "batch"]
NODES_PER_CLUSTER = 40


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def rows(count: int, seed: int = 7):
    """Yield `count` rows: node-hours (tagged, ResourceId = instance id), cluster disks and load balancers
    (tagged), and untagged lines outside Kubernetes."""
    rng = random.Random(seed)
    nodes = [
        (cluster, f"i-{rng.getrandbits(68):017x}", rng.choice(["m5.xlarge", "m5.2xlarge", "c5.4xlarge"]))
        for cluster in CLUSTERS
        for _ in range(NODES_PER_CLUSTER)
    ]
    prices = {"m5.xlarge": "0.192", "m5.2xlarge": "0.384", "c5.4xlarge": "0.68"}
    hours = int((PERIOD_END - PERIOD_START).total_seconds() // 3600)
    for index in range(count):
        hour = PERIOD_START + timedelta(hours=index % hours)
        kind = rng.random()
        if kind < 0.6:
            cluster, resource, instance_type = nodes[rng.randrange(len(nodes))]
            tags = {"kubernetes.io/cluster/" + cluster: "owned", "aws:eks:cluster-name": cluster}
            price = prices[instance_type]
            category, service, unit, quantity = "Compute", "Amazon Elastic Compute Cloud", "Hours", "1"
        elif kind < 0.85:
            cluster = CLUSTERS[rng.randrange(len(CLUSTERS))]
            resource = f"arn:aws:ec2:eu-west-1:123456789012:volume/vol-{rng.getrandbits(68):017x}"
            tags = {"aws:eks:cluster-name": cluster, "team": rng.choice(["web", "data", "ml"])}
            price, category, service, unit = "0.000111", "Storage", "Amazon Elastic Compute Cloud", "GB-Hours"
            quantity = str(rng.randint(10, 500))
        else:
            resource = f"arn:aws:s3:::bucket-{rng.randrange(5000)}"
            tags = {"team": rng.choice(["web", "data", "ml"])} if rng.random() < 0.5 else None
            price, category, unit = "0.000032", "Storage", "GB-Hours"
            service = "Amazon Simple Storage Service"
            quantity = str(rng.randint(1, 2000))
        cost = f"{float(price) * float(quantity) * (1 + rng.random() / 10):.10f}"
        effective = f"{float(cost) * 0.8:.10f}" if rng.random() < 0.3 else cost
        yield [
            "NULL",
            cost,
            "123456789012",
            "Bench",
            "USD",
            _stamp(PERIOD_END),
            _stamp(PERIOD_START),
            "Usage",
            "NULL",
            f"{service} {unit}",
            "Usage-Based",
            _stamp(hour + timedelta(hours=1)),
            _stamp(hour),
            "NULL",
            "NULL",
            "NULL",
            "NULL",
            "NULL",
            quantity,
            unit,
            cost,
            price,
            effective,
            "Amazon Web Services, Inc.",
            cost,
            price,
            "Standard",
            quantity,
            unit,
            "AWS",
            "Amazon Web Services, Inc.",
            "eu-west-1",
            "EU (Ireland)",
            resource,
            "NULL",
            "NULL",
            category,
            service,
            "SKU" + str(index % 97),
            "NULL",
            "123456789012",
            "bench",
            json.dumps(tags) if tags else "NULL",
            "",
        ]


def write(path: Path, count: int, seed: int = 7) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows(count, seed))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    write(args.path, args.lines, args.seed)


if __name__ == "__main__":
    main()
