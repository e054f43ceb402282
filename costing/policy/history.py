"""The history of policy changes: one audit log entry per change, holding the policy file before and after.

Every write of a policy (admin, API, load_policy, a deletion) records one django-auditlog LogEntry on the
Policy row: who, when, the file before and after (changes={"yaml": [before, after]}, None where the
policy did not exist) and a unified diff (changes_text). From these entries the policies stored at any
past moment are rebuilt exactly (`dump_policy --at`).
"""

from __future__ import annotations

import difflib
from datetime import date, datetime

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from costing.models import Policy
from costing.policy.spec import PolicySpec
from costing.policy.yamlfile import dump_policy, load_policy


def policy_text(policy: Policy | None) -> str | None:
    """The policy file of a stored policy as it is now (None for no policy)."""
    from costing.policy.store import spec_from_policy

    return None if policy is None else dump_policy(spec_from_policy(policy))


def yaml_diff(before: str | None, after: str | None, *, name: str = "policy.yaml") -> str:
    """A unified diff of two policy files; a missing side is an empty file."""
    return "".join(
        difflib.unified_diff(
            (before or "").splitlines(keepends=True),
            (after or "").splitlines(keepends=True),
            fromfile=f"a/{name}" if before is not None else "/dev/null",
            tofile=f"b/{name}" if after is not None else "/dev/null",
        )
    )


def record_policy_change(policy: Policy, before: str | None, after: str | None, user=None) -> LogEntry | None:
    """Log one change of `policy` (before/after: its files; None where it did not exist). Nothing when the
    file did not change. The actor is `user`, else the signed-in user of the request (AuditlogMiddleware)."""
    if before == after:
        return None
    if before is None:
        action = LogEntry.Action.CREATE
    elif after is None:
        action = LogEntry.Action.DELETE
    else:
        action = LogEntry.Action.UPDATE
    actor = user if getattr(user, "is_authenticated", False) else None
    return LogEntry.objects.log_create(
        policy,
        action=action,
        changes={"yaml": [before, after]},
        changes_text=yaml_diff(before, after),
        actor=actor,
        actor_email=getattr(actor, "email", None) or None,
        additional_data={"effective_from": policy.effective_from.isoformat()},
    )


def policy_entries():
    """Every recorded policy change, oldest first."""
    return LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Policy)).order_by(
        "timestamp", "pk"
    )


def texts_at(moment: datetime) -> list[str]:
    """The files of the policies that were stored at `moment`, rebuilt from the history.

    A policy changed since `moment` is what its last change up to `moment` left (or, if its first recorded
    change came later, what that change found); a policy never changed is taken as it is, if it existed.
    """
    by_policy: dict[str, list[LogEntry]] = {}
    for entry in policy_entries():
        by_policy.setdefault(entry.object_pk, []).append(entry)
    texts = []
    for entries in by_policy.values():
        past = [e for e in entries if e.timestamp <= moment]
        text = past[-1].changes["yaml"][1] if past else entries[0].changes["yaml"][0]
        if text is not None:
            texts.append(text)
    for policy in Policy.objects.exclude(pk__in=[int(pk) for pk in by_policy]).filter(created_at__lte=moment):
        texts.append(policy_text(policy))
    return texts


def spec_at(day: date, moment: datetime) -> PolicySpec | None:
    """The policy in force on `day` as the database held it at `moment` (None: no policy then)."""
    specs = [load_policy(text, source=f"policy history at {moment.isoformat()}") for text in texts_at(moment)]
    in_force = [s for s in specs if s.effective_from <= day]
    return max(in_force, key=lambda s: s.effective_from) if in_force else None
