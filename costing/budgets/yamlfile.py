"""The budgets as a YAML file: read as a whole with every error located by line and field, dumped back."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from yaml.nodes import Node

from costing.choices import DEFAULT_THRESHOLDS, BudgetPeriod, SubjectKind
from costing.policy.yamlfile import (
    FORMAT_VERSION,
    FileError,
    PolicyFileError,
    _emit,
    _Reader,
    _str,
    compose_file,
)

BUDGET_SUBJECTS = (
    SubjectKind.ORGANISATION,
    SubjectKind.DEPARTMENT,
    SubjectKind.NAMESPACE,
    SubjectKind.CLUSTER,
)
# A threshold above ten times the budget is a typo (1000 for 100), not a plan.
MAX_THRESHOLD = Decimal(1000)


class BudgetFileError(PolicyFileError):
    """The budget file cannot be imported; `.errors` holds every error of the file."""

    def __init__(self, errors: list[FileError], source: str = "<budgets>"):
        super().__init__(errors, source)


@dataclass(frozen=True)
class BudgetSpec:
    subject_kind: str
    subject: str
    period: str
    amount: Decimal
    thresholds: tuple[Decimal, ...] = tuple(Decimal(t) for t in DEFAULT_THRESHOLDS)


@dataclass(frozen=True)
class BudgetPlanSpec:
    effective_from: date
    budgets: list[BudgetSpec] = field(default_factory=list)
    comment: str = ""


def read_budgets(
    text: str,
    *,
    source: str = "<budgets>",
    departments: Iterable[str] = (),
    clusters: Iterable[str] = (),
) -> BudgetPlanSpec:
    """The plan the YAML text describes; BudgetFileError listing every error of the file.

    A department or cluster budget must name a known department or cluster: a misspelt name would
    otherwise be a budget nothing is ever measured against."""
    root = compose_file(text, source, BudgetFileError, "a budget file needs effective_from and budgets")
    reader = _BudgetReader(set(departments), set(clusters))
    plan = reader.plan(root)
    if reader.errors or plan is None:
        raise BudgetFileError(reader.errors, source)
    return plan


class _BudgetReader(_Reader):
    def __init__(self, departments: set[str], clusters: set[str]):
        super().__init__()
        self.known = {SubjectKind.DEPARTMENT: departments, SubjectKind.CLUSTER: clusters}

    def plan(self, root: Node) -> BudgetPlanSpec | None:
        self.lines[""] = root.start_mark.line + 1
        top = self.mapping(
            root,
            "",
            ("version", "effective_from", "comment", "thresholds", "budgets"),
            required=("effective_from", "budgets"),
        )
        if top is None:
            return None
        self.version(top)
        effective_from = self.date(top.get("effective_from"), "effective_from")
        if "effective_from" in top and not isinstance(effective_from, date):
            self.error(top["effective_from"], "effective_from", "must be a date, YYYY-MM-DD")
        defaults = tuple(Decimal(t) for t in DEFAULT_THRESHOLDS)
        if "thresholds" in top:
            defaults = self.thresholds(top["thresholds"], "thresholds")
        budgets = []
        seen: dict[tuple, str] = {}
        for path, item in self.sequence(top.get("budgets"), "budgets"):
            budget = self.budget(item, path, defaults)
            if budget is None:
                continue
            key = (budget.subject_kind, budget.subject, budget.period)
            if key in seen:
                self.error(item, path, f"repeats the {budget.period} budget of {seen[key]}")
                continue
            seen[key] = path
            budgets.append(budget)
        comment = self.text(top.get("comment"), "comment", default="")
        return BudgetPlanSpec(effective_from=effective_from, budgets=budgets, comment=comment or "")

    def thresholds(self, node: Node, path: str) -> tuple[Decimal, ...]:
        values = []
        for item_path, item in self.sequence(node, path):
            value = self.number(item, item_path)
            if not isinstance(value, Decimal) or not 0 < value <= MAX_THRESHOLD:
                self.error(
                    item, item_path, f"must be a percent of the budget, above 0 and at most {MAX_THRESHOLD}"
                )
            else:
                values.append(value)
        if len(set(values)) != len(values):
            self.error(node, path, "names a threshold twice")
        return tuple(sorted(set(values)))

    def budget(self, node: Node, path: str, defaults: tuple[Decimal, ...]) -> BudgetSpec | None:
        fields = self.mapping(
            node, path, ("subject", "name", "period", "amount", "thresholds"), ("subject", "amount")
        )
        if fields is None:
            return None
        errors_before = len(self.errors)
        kind = self.text(fields.get("subject"), f"{path}.subject")
        if kind is not None and kind not in BUDGET_SUBJECTS:
            self.error(fields["subject"], f"{path}.subject", f"must be one of {', '.join(BUDGET_SUBJECTS)}")
        name = self.text(fields.get("name"), f"{path}.name", default="")
        name_node = fields.get("name", node)
        if kind == SubjectKind.ORGANISATION and name:
            self.error(name_node, f"{path}.name", "must be left out for the organisation")
        elif kind in BUDGET_SUBJECTS and kind != SubjectKind.ORGANISATION:
            if not name:
                self.error(name_node, f"{path}.name", f"is required for a {kind} budget")
            elif kind in self.known and name not in self.known[kind]:
                self.error(name_node, f"{path}.name", f"no {kind} is named {name!r}")
        period = self.text(fields.get("period"), f"{path}.period", default=BudgetPeriod.MONTH.value)
        if period is not None and period not in BudgetPeriod.values:
            self.error(fields["period"], f"{path}.period", f"must be one of {', '.join(BudgetPeriod.values)}")
        amount = self.number(fields.get("amount"), f"{path}.amount")
        if "amount" in fields and not (isinstance(amount, Decimal) and amount >= 0):
            self.error(fields["amount"], f"{path}.amount", "must be a number, 0 or more")
        elif isinstance(amount, Decimal) and amount != amount.quantize(Decimal("0.01")):
            self.error(fields["amount"], f"{path}.amount", "must have at most 2 decimal places")
        thresholds = defaults
        if "thresholds" in fields:
            thresholds = self.thresholds(fields["thresholds"], f"{path}.thresholds")
        if len(self.errors) > errors_before:
            return None
        return BudgetSpec(kind, name or "", period, amount, thresholds)


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


def dump_budgets(plan: BudgetPlanSpec) -> str:
    """The plan as commented YAML that read_budgets reads back equal."""
    out = [
        "# Budgets: what each subject may spend per period. Format: docs/budgets.md.",
        f"version: {FORMAT_VERSION}",
        "",
        "# In force from this day (UTC) until the next budget file's effective date.",
        f"effective_from: {plan.effective_from.isoformat()}",
        f"comment: {_str(plan.comment)}",
        "",
        "# subject: organisation (no name), department, namespace or cluster; period: month, quarter, year;",
        "# thresholds: percents of the amount at which actual or forecast cost raises an alert.",
    ]
    if not plan.budgets:
        out.append("budgets: []")
    else:
        out.append("budgets:")
    for budget in plan.budgets:
        out.append(f"  - subject: {budget.subject_kind}")
        if budget.subject:
            out.append(f"    name: {_str(budget.subject)}")
        out += [
            f"    period: {budget.period}",
            f"    amount: {_num(budget.amount)}",
            f"    thresholds: {_emit([int(t) if t == t.to_integral() else float(t) for t in budget.thresholds])}",
        ]
    return "\n".join(out) + "\n"
