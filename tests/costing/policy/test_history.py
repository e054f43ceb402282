"""costing.policy.history and `dump_policy --at`: the history of policy edits, and the past rebuilt from it."""

import io
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command

from costing.models import Policy
from costing.policy import PoolSpec, dump_policy
from costing.policy.history import policy_entries, spec_at, texts_at
from costing.policy.store import save_spec
from tests.costing import scenario

pytestmark = pytest.mark.django_db

FIRST = scenario.POLICY
SECOND = replace(FIRST, pools={**FIRST.pools, "overhead": PoolSpec("weights", "cluster")})
THIRD = replace(SECOND, shared_namespaces=["kube-system", "monitoring"])
T = [datetime(2025, 2, d, 9, 0, tzinfo=UTC) for d in (1, 2, 3)]


def dump(*args) -> str:
    out = io.StringIO()
    call_command("dump_policy", *args, stdout=out)
    return out.getvalue()


def dated(entry: LogEntry, moment: datetime) -> None:
    LogEntry.objects.filter(pk=entry.pk).update(timestamp=moment)


@pytest.fixture
def two_edits(django_user_model):
    alice = django_user_model.objects.create_user("alice", "alice@example.com")
    bob = django_user_model.objects.create_user("bob")
    save_spec(FIRST, user=alice)
    save_spec(SECOND, user=bob)
    save_spec(THIRD, user=alice)
    for entry, moment in zip(policy_entries(), T, strict=True):
        dated(entry, moment)
    return alice, bob


def test_each_change_is_one_entry_with_who_when_and_the_diff(two_edits):
    alice, bob = two_edits
    entries = list(policy_entries())
    assert [(e.action, e.actor, e.timestamp) for e in entries] == [
        (LogEntry.Action.CREATE, alice, T[0]),
        (LogEntry.Action.UPDATE, bob, T[1]),
        (LogEntry.Action.UPDATE, alice, T[2]),
    ]
    assert entries[0].changes["yaml"] == [None, dump_policy(FIRST)]
    assert entries[1].changes["yaml"] == [dump_policy(FIRST), dump_policy(SECOND)]
    minus_plus = [line for line in entries[1].changes_text.splitlines() if line[:1] in "+-"]
    assert minus_plus == [
        "--- a/policy.yaml",
        "+++ b/policy.yaml",
        "-  overhead: {method: even, scope: cluster}",
        "+  overhead: {method: weights, scope: cluster}",
    ]
    assert "+shared_namespaces: [kube-system, monitoring]" in entries[2].changes_text
    assert {e.object_pk for e in entries} == {str(Policy.objects.get().pk)}


def test_saving_the_same_policy_again_records_nothing(two_edits):
    save_spec(THIRD)
    assert policy_entries().count() == 3


def test_dump_policy_at_reproduces_each_version(two_edits):
    assert dump("--at", "2025-02-01T09:00") == dump_policy(FIRST)
    assert dump("--at", "2025-02-02T08:59:59") == dump_policy(FIRST)
    assert dump("--at", "2025-02-02", "--date", "2025-03-10") == dump_policy(SECOND)
    assert dump("--at", "2025-02-03") == dump("--date", "2025-03-10") == dump_policy(THIRD)
    with pytest.raises(CommandError, match="no policy was in force on 2025-03-10 as stored at 2025-01-31"):
        dump("--at", "2025-01-31", "--date", "2025-03-10")
    with pytest.raises(CommandError, match="--at: 'yesterday' is not a date"):
        dump("--at", "yesterday")


def test_the_past_of_a_moved_policy_and_of_one_never_changed(two_edits):
    policy = Policy.objects.get()
    later = replace(THIRD, effective_from=date(2025, 3, 1))
    save_spec(later, policy=policy)  # moves the policy from 2025-01-01 to 2025-03-01
    dated(policy_entries().last(), datetime(2025, 2, 4, tzinfo=UTC))
    assert spec_at(date(2025, 2, 15), datetime(2025, 2, 5, tzinfo=UTC)) is None
    assert spec_at(date(2025, 2, 15), datetime(2025, 2, 3, 12, tzinfo=UTC)) == THIRD

    # A policy stored before the history began (no entry) is what it is now, from its creation on.
    older = save_spec(replace(FIRST, effective_from=date(2024, 6, 1)))
    LogEntry.objects.filter(object_pk=str(older.pk)).delete()
    Policy.objects.filter(pk=older.pk).update(created_at=datetime(2025, 1, 15, tzinfo=UTC))
    assert texts_at(datetime(2025, 1, 14, tzinfo=UTC)) == []
    assert texts_at(datetime(2025, 1, 16, tzinfo=UTC)) == [
        dump_policy(replace(FIRST, effective_from=date(2024, 6, 1)))
    ]
