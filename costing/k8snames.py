"""Kubernetes object-name rules (RFC 1123 labels and subdomains) as the API server applies them."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["first_problem", "kind_problem", "name_problem", "owner_problem", "workload_name_problem"]

# k8s.io/apimachinery/pkg/util/validation: IsDNS1123Label, IsDNS1123Subdomain, IsDNS1035Label.
_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL = re.compile(_LABEL)
DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
DNS1035_LABEL = re.compile(r"[a-z](?:[-a-z0-9]*[a-z0-9])?")
LABEL_MAX = 63
SUBDOMAIN_MAX = 253

LABEL_RULE = (
    "an RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit"
)
SUBDOMAIN_RULE = (
    "an RFC 1123 subdomain: lowercase letters, digits, '-' and '.', "
    "each part between dots starting and ending with a letter or digit"
)

# What each kind of object's name must be (apis/core/validation, apis/apps/validation, apis/batch/validation).
# A Job's name is also the value of its pods' job-name label, hence 63; a CronJob's Jobs are named
# <cronjob>-<11 characters>, hence 52. Any other owner (ReplicaSet, Rollout, a custom resource) is a subdomain.
_NAMES = {"namespace": (DNS1123_LABEL, LABEL_MAX), "pod": (DNS1123_SUBDOMAIN, SUBDOMAIN_MAX)}
_NAMES["node"] = _NAMES["pod"]
_NAMES["container"] = _NAMES["namespace"]  # a container's name is a label too (apis/core/validation)
_WORKLOAD_MAX = {"Job": LABEL_MAX, "CronJob": 52}


def _problem(name: str, what: str, pattern: re.Pattern, longest: int) -> str | None:
    rule = LABEL_RULE if pattern is DNS1123_LABEL else SUBDOMAIN_RULE
    if len(name) > longest:
        return f"{what} name {_short(name)} is {len(name)} characters; Kubernetes allows at most {longest}"
    if not pattern.fullmatch(name):
        return f"{what} name {name!r} is not one Kubernetes accepts ({rule})"
    return None


def _short(name: str) -> str:
    return repr(name if len(name) <= 40 else name[:37] + "...")


def name_problem(what: str, name: str) -> str | None:
    """Why Kubernetes would refuse `name` for a namespace, pod or node (`what`), or None if it is valid.

    A namespace is an RFC 1123 label (63 characters at most), a pod or a node an RFC 1123 subdomain (253).
    """
    pattern, longest = _NAMES[what]
    return _problem(name, what, pattern, longest)


def workload_name_problem(kind: str, name: str) -> str | None:
    """Why Kubernetes would refuse `name` for an object of `kind` that owns pods, or None."""
    return _problem(name, kind, DNS1123_SUBDOMAIN, _WORKLOAD_MAX.get(kind, SUBDOMAIN_MAX))


def kind_problem(kind: str) -> str | None:
    """Why `kind` cannot be a Kubernetes kind (a custom resource's kind lowercased is an RFC 1035 label)."""
    if len(kind) > LABEL_MAX or not DNS1035_LABEL.fullmatch(kind.lower()):
        return f"{_short(kind)} is not a Kubernetes kind (a name such as Deployment, StatefulSet or Rollout)"
    return None


def owner_problem(kind: str, name: str) -> str | None:
    """Why a pod's owner (kind, name) cannot be real, or None; a pod with either empty is bare."""
    if kind and (why := kind_problem(kind)):
        return why
    if kind and name:
        return workload_name_problem(kind, name)
    return None


def first_problem(what: str, names: Iterable[str]) -> str | None:
    """The problem of the first name Kubernetes would refuse among distinct `names` of `what`, or None."""
    return next((why for name in names if (why := name_problem(what, name))), None)
