"""Load balancers: which cloud load balancer a Service of type LoadBalancer is, named as the bill names it.

A bill line of a load balancer carries its id in ResourceId (a Huawei ELB uuid, an AWS ELB ARN, an Azure
public IP URI), sometimes the Service in a tag (`kubernetes.io/service-name: <namespace>/<name>`, what
Huawei CCE and the AWS cloud provider write). A Service carries the load balancer in its annotations
(Huawei CCE `kubernetes.io/elb.id`, Azure `service.beta.kubernetes.io/azure-pip-name`) and in
status.loadBalancer.ingress (an AWS hostname, an IP). service_ids() reads the Service's ids and
normalise_lb_id() brings both sides to one form, so that they compare equal.
"""

from __future__ import annotations

from collections.abc import Mapping

# The bill tag naming the Service a load balancer was made for.
SERVICE_NAME_TAG = "kubernetes.io/service-name"
# Annotations that name the cloud load balancer (or the public IP an Azure Service gets).
ID_ANNOTATIONS = (
    "kubernetes.io/elb.id",  # Huawei CCE: the ELB the Service uses (created or given)
    "service.beta.kubernetes.io/azure-pip-name",  # Azure: the public IP resource's name
    "service.beta.kubernetes.io/aws-load-balancer-name",  # AWS Load Balancer Controller: the ELB's name
)
_AWS_ELB_HOST = ".elb."  # <name>-<hash>.elb.<region>.amazonaws.com, <name>-<hash>.<region>.elb.amazonaws.com


def normalise_lb_id(text: str) -> str:
    """One form for a load balancer's id, from a Service or from a bill's ResourceId.

    AWS: an ELB ARN (`arn:aws:elasticloadbalancing:...:loadbalancer/[net/|app/]<name>[/<hash>]`) and an
    ELB hostname (`<name>-<hash>.elb.<region>.amazonaws.com`) are `<name>`. Azure: a resource URI
    (`/subscriptions/.../publicIPAddresses/<name>`) is `<name>`. Everything is lower-cased (ELB ids,
    hostnames and Azure names are case-insensitive); anything else (a Huawei ELB uuid, an IP) is kept as
    written otherwise.
    """
    text = (text or "").strip().lower()
    if text.startswith("arn:aws") and ":loadbalancer/" in text:
        parts = text.split(":loadbalancer/", 1)[1].split("/")
        return parts[1] if parts[0] in ("net", "app", "gwy") and len(parts) > 1 else parts[0]
    if _AWS_ELB_HOST in text and text.endswith(".amazonaws.com"):
        return text.split(".", 1)[0].rsplit("-", 1)[0]
    if text.startswith("/subscriptions/"):
        return text.rstrip("/").rsplit("/", 1)[-1]
    return text


def service_ids(item: Mapping) -> tuple[str, str, str, tuple[str, ...]]:
    """(cloud id, hostname, ip, every id in normalise_lb_id's form) of a Service's JSON.

    The cloud id is the first id annotation found ("" when none); hostname and ip are those of the first
    status.loadBalancer.ingress entry ("" while the cloud has not provisioned it). The ids are all of
    them, normalised, without repeats and sorted."""
    annotations = (item.get("metadata") or {}).get("annotations") or {}
    cloud_id = next((str(annotations[key]) for key in ID_ANNOTATIONS if annotations.get(key)), "")
    ingress = ((item.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    hostname = next((str(entry["hostname"]) for entry in ingress if entry.get("hostname")), "")
    ip = next((str(entry["ip"]) for entry in ingress if entry.get("ip")), "")
    ids = {normalise_lb_id(str(annotations[key])) for key in ID_ANNOTATIONS if annotations.get(key)}
    ids |= {normalise_lb_id(str(entry[k])) for entry in ingress for k in ("hostname", "ip") if entry.get(k)}
    return cloud_id, hostname, ip, tuple(sorted(i for i in ids if i))


def resource_keys(resource_id) -> tuple[str, ...]:
    """The forms of a bill line's ResourceId that may name a load balancer: the whole id and its last path
    segment (Huawei resource paths), normalised."""
    if not isinstance(resource_id, str) or not resource_id.strip():
        return ()
    whole = normalise_lb_id(resource_id)
    last = normalise_lb_id(resource_id.rstrip("/").rsplit("/", 1)[-1]) if "/" in resource_id else whole
    return (whole,) if last == whole else (whole, last)
