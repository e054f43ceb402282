"""Tests of the policy file: located errors, exact numbers, safe loading and the dump/load round trip."""

import io
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costing.policy.spec import (
    POOLS,
    RESERVED_DEPARTMENT_NAMES,
    ClusterRules,
    DepartmentSpec,
    FallbackPrice,
    PolicySpec,
    PoolSpec,
    SplitSpec,
    TagRule,
    validate,
)
from costing.policy.yamlfile import (
    MAX_POLICY_BYTES,
    FileError,
    PolicyFileError,
    dump_policy,
    load_policy,
    read_policy,
    read_policy_bytes,
)

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "costing" / "policy" / "example.yaml"
D = Decimal

GOOD = textwrap.dedent(
    """\
    effective_from: 2025-03-01
    currency: EUR
    namespace_label_key: department
    split:
      method: cost_share
      cpu_share: 0.65
    fallback_prices:
      - cpu_core_hour: 0.03
        mem_gib_hour: 0.004
    shared_namespaces: [kube-system, "istio-*"]
    departments:
      - name: Payments
        namespaces: [payments]
        patterns: ["pay-*"]
        weight: 60
      - name: Search
        namespaces: [search]
        label_value: search
        weight: 40
    pools:
      overhead: {method: weights, scope: global}
    """
)


def line_of(text: str, marker: str, nth: int = 1) -> int:
    """1-based number of the nth line of text that contains marker."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if marker in line]
    return hits[nth - 1]


def errors_of(text: str, **kwargs) -> list[FileError]:
    with pytest.raises(PolicyFileError) as caught:
        load_policy(text, **kwargs)
    return caught.value.errors


def test_a_good_file():
    spec = load_policy(GOOD)
    assert spec == PolicySpec(
        effective_from=date(2025, 3, 1),
        currency="EUR",
        split=SplitSpec("cost_share", D("0.65"), D("7.46")),
        fallback_prices=[FallbackPrice(cpu_core_hour=D("0.03"), mem_gib_hour=D("0.004"))],
        clusters=[],
        namespace_label_key="department",
        shared_namespaces=["kube-system", "istio-*"],
        departments=[
            DepartmentSpec("Payments", ["payments"], ["pay-*"], None, D(60)),
            DepartmentSpec("Search", ["search"], [], "search", D(40)),
        ],
        pools={"shared": PoolSpec(), "idle": PoolSpec(), "overhead": PoolSpec("weights", "global")},
    )


def test_the_example_file_loads_without_error_or_warning():
    read = read_policy(EXAMPLE.read_text(), source="example.yaml")
    assert read.warnings == []
    spec = read.spec
    assert [d.name for d in spec.departments] == ["Payments", "Search", "Data Platform", "Storefront"]
    assert {"kube-system", "monitoring", "ingress-nginx"} <= set(spec.shared_namespaces)
    assert sum(d.weight for d in spec.departments) == 100
    assert spec.split == SplitSpec("price_ratio", D("0.5"), D("7.46"))
    assert spec.pools["idle"] == PoolSpec("per_resource", "cluster")
    assert TagRule("kubernetes.io/cluster/staging", None) in spec.clusters[2].tag_rules
    assert validate(spec) == []


def test_the_documented_example_is_the_example_file():
    doc = (ROOT / "docs" / "policy.md").read_text()
    block = doc.split("## The complete example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert block == EXAMPLE.read_text()


def test_the_error_names_the_file_the_line_and_the_field():
    text = GOOD.replace("weight: 40", "weight: 140")
    with pytest.raises(PolicyFileError) as caught:
        load_policy(text, source="policy.yaml")
    # weight: 140 is on line 19 of GOOD (counted by hand)
    assert caught.value.errors == [
        FileError(19, "departments[1].weight", "must be a number between 0 and 100, not 140")
    ]
    assert str(caught.value) == (
        "policy.yaml, line 19, field departments[1].weight: must be a number between 0 and 100, not 140"
    )
    assert isinstance(caught.value, ValueError)
    line, field, message = caught.value.errors[0]  # a plain triple too
    assert (line, field, message[:9]) == (19, "departments[1].weight", "must be a")


def test_all_errors_of_the_file_are_reported_in_line_order():
    text = (
        GOOD.replace("currency: EUR", "currency: euro")
        .replace("cpu_share: 0.65", "cpu_shar: 0.65")
        .replace("name: Search", "name: Idle")
        .replace("{method: weights, scope: global}", "{method: weights, scope: planet}")
    )
    errors = errors_of(text, source="policy.yaml")
    assert [(e.line, e.field) for e in errors] == [
        (2, "currency"),
        (6, "split.cpu_shar"),
        (16, "departments[1].name"),
        (21, "pools.overhead.scope"),
    ]
    assert errors[1].message == "unknown field in split; the fields are method, cpu_share, price_ratio"
    assert len(str(PolicyFileError(errors, "policy.yaml")).splitlines()) == 4


def test_unknown_top_level_field():
    errors = errors_of(GOOD + "departements: []\n")
    assert errors == [FileError(line_of(GOOD, "overhead") + 1, "departements", errors[0].message)]
    assert errors[0].message.startswith(
        "unknown field at the top level; the fields are version, effective_from"
    )


def test_duplicate_key():
    text = GOOD.replace("    weight: 60\n", "    weight: 60\n    weight: 50\n")
    errors = errors_of(text)
    assert errors == [FileError(16, "departments[0].weight", "is given twice (first on line 15)")]


def test_missing_required_fields():
    text = textwrap.dedent(
        """\
        currency: EUR
        fallback_prices:
          - instance_type: m5.large
            cpu_core_hour: 0.03
        departments:
          - namespaces: [payments]
        clusters:
          - name: prod
            tag_rules:
              - value: abc
        """
    )
    assert errors_of(text) == [
        FileError(1, "effective_from", "is required"),
        FileError(3, "fallback_prices[0].mem_gib_hour", "is required"),
        FileError(6, "departments[0].name", "is required"),
        FileError(10, "clusters[0].tag_rules[0].key", "is required"),
    ]


def test_wrong_shapes_keep_later_items_on_their_own_line():
    text = textwrap.dedent(
        """\
        effective_from: 2025-03-01
        shared_namespaces: kube-system
        departments:
          - Payments
          - name: Overhead
            namespaces: {payments: 1}
        split: [cost_share]
        """
    )
    errors = errors_of(text)
    assert [(e.line, e.field) for e in errors] == [
        (2, "shared_namespaces"),
        (4, "departments[0]"),
        (5, "departments[1].name"),  # still departments[1], although departments[0] could not be read
        (6, "departments[1].namespaces"),
        (7, "split"),
    ]
    assert errors[0].message == "must be a list"
    assert errors[1].message == "must be a mapping of key: value"


def test_validation_errors_point_at_their_line():
    text = textwrap.dedent(
        """\
        effective_from: 2025-03-01
        shared_namespaces: [kube-system, monitoring]
        departments:
          - name: Payments
            namespaces: [payments, monitoring]
          - name: Search
            namespaces:
              - search
              - payments
        pools:
          shared:
            method: per_resource
          idle:
            scope: global
          overhead:
            method: weights
        """
    )
    assert errors_of(text) == [
        FileError(
            5, "departments[0].namespaces[1]", "namespace 'monitoring' is also shared (shared_namespaces[1])"
        ),
        FileError(
            9,
            "departments[1].namespaces[1]",
            "namespace 'payments' is already claimed by departments[0].namespaces[0]",
        ),
        FileError(12, "pools.shared.method", "per_resource is only for the idle pools (idle, gpu_idle)"),
        FileError(
            14,
            "pools.idle.scope",
            "idle cost is always divided within its own cluster: the scope must be cluster",
        ),
        FileError(
            16, "pools.overhead.method", "the weights method needs at least one department with a weight"
        ),
    ]


def test_bad_values_are_reported_once():
    text = GOOD.replace("2025-03-01", "2025-13-01").replace("weight: 60", "weight: sixty")
    errors = errors_of(text)
    assert [(e.line, e.field) for e in errors] == [(1, "effective_from"), (15, "departments[0].weight")]
    assert errors[0].message == "must be a date (YYYY-MM-DD), not '2025-13-01'"
    assert errors[1].message == "must be a number between 0 and 100, not 'sixty'"


def test_a_yaml_syntax_error_names_its_line():
    text = GOOD.replace("  - name: Search", "  - name: Search: Engine")
    errors = errors_of(text, source="policy.yaml")
    assert len(errors) == 1
    assert errors[0].line == 16 and errors[0].field == ""
    assert errors[0].message.startswith("invalid YAML: ")
    with pytest.raises(PolicyFileError, match=r"^policy\.yaml, line 16: invalid YAML: "):
        load_policy(text, source="policy.yaml")


def test_bad_indentation_is_a_syntax_error():
    text = "effective_from: 2025-03-01\ndepartments:\n  - name: A\n   weight: 3\n"
    assert errors_of(text)[0].line == 4


def test_an_empty_file():
    assert errors_of("# nothing but a comment\n") == [
        FileError(1, "", "the file is empty; a policy needs at least effective_from")
    ]


def test_a_file_that_is_not_a_mapping():
    assert errors_of("- a\n- b\n") == [FileError(1, "", "must be a mapping of key: value")]


def test_python_tags_are_refused_and_never_run(tmp_path):
    witness = tmp_path / "ran"
    text = f"effective_from: 2025-03-01\ncurrency: !!python/object/apply:os.system ['touch {witness}']\n"
    errors = errors_of(text)
    assert [(e.line, e.field) for e in errors] == [(2, "currency")]
    assert "python/object/apply" in errors[0].message
    assert not witness.exists()


def test_numbers_are_read_exactly_from_their_text():
    text = textwrap.dedent(
        """\
        effective_from: 2025-03-01
        split: {method: price_ratio, cpu_share: 0.1, price_ratio: "9"}
        fallback_prices:
          - {cpu_core_hour: 0.030000000000000000001, mem_gib_hour: 1.5e-3}
        departments:
          - {name: A, weight: 010}
          - {name: B, weight: 90.0}
        pools: {shared: {method: weights}}
        """
    )
    spec = load_policy(text)
    assert spec.split.cpu_share == D("0.1")  # not the float 0.1000000000000000055...
    assert spec.split.price_ratio == D(9)
    assert spec.fallback_prices[0].cpu_core_hour == D("0.030000000000000000001")
    assert spec.fallback_prices[0].mem_gib_hour == D("0.0015")
    assert spec.departments[0].weight == D(10)  # YAML 1.1 would read 010 as octal 8
    assert str(spec.departments[1].weight) == "90.0"


def test_text_fields_keep_what_was_written():
    text = textwrap.dedent(
        """\
        effective_from: 2025-03-01
        namespace_label_key: cost-center
        clusters:
          - name: 2024
            tag_rules:
              - key: Project
                value: 0123
              - key: Managed
                value: no
              - key: Owner
                value: "null"
              - key: Empty
                value: ""
              - key: Any
                value:
        departments:
          - {name: Yes, label_value: on}
        """
    )
    spec = load_policy(text)
    assert spec.clusters[0].name == "2024"
    assert spec.clusters[0].tag_rules == [
        TagRule("Project", "0123"),
        TagRule("Managed", "no"),
        TagRule("Owner", "null"),
        TagRule("Empty", ""),
        TagRule("Any", None),
    ]
    assert spec.departments[0] == DepartmentSpec("Yes", label_value="on")


def test_empty_lists_and_absent_sections_take_defaults():
    spec = load_policy("effective_from: 2025-03-01\nshared_namespaces:\ndepartments: []\npools:\n  idle:\n")
    assert spec == PolicySpec(date(2025, 3, 1))
    assert spec.split == SplitSpec("cost_share", D("0.5"), D("7.46"))
    assert spec.pools == {pool: PoolSpec("proportional", "cluster") for pool in POOLS}


def test_format_version():
    assert load_policy("version: 1\neffective_from: 2025-03-01\n") == PolicySpec(date(2025, 3, 1))
    assert errors_of("version: 2\neffective_from: 2025-03-01\n") == [
        FileError(1, "version", "this program reads version 1 of the format")
    ]


def test_warnings_come_back_with_their_line():
    text = GOOD.replace("weight: 40", "weight: 30")
    read = read_policy(text, known_namespaces=["payments", "kube-system", "istio-system", "pay-api"])
    assert read.warnings == [
        FileError(
            11,
            "departments",
            "the weights add up to 90, not 100; they are normalised over the departments that have one",
        ),
        FileError(
            17, "departments[1].namespaces[0]", "namespace 'search' is not one of the known namespaces"
        ),
    ]


# --- round trip -----------------------------------------------------------------------------------------


def test_round_trip_of_the_example():
    spec = load_policy(EXAMPLE.read_text())
    text = dump_policy(spec)
    assert load_policy(text) == spec
    assert dump_policy(load_policy(text)) == text  # stable
    assert text.startswith("# Apportionment policy")


def test_dump_quotes_what_yaml_would_misread():
    spec = PolicySpec(
        date(2025, 3, 1),
        currency="EUR",
        namespace_label_key="yes",
        clusters=[ClusterRules("null", [TagRule("#x", "a: b"), TagRule("k", "line\nbreak")])],
        shared_namespaces=["*-system", "[kx]ube-*"],
        departments=[DepartmentSpec("R&D, Inc. {north}", patterns=["*-jobs"], weight=D("12.50"))],
    )
    assert load_policy(dump_policy(spec)) == spec


def test_dump_of_empty_lists():
    spec = PolicySpec(date(2025, 3, 1), clusters=[ClusterRules("prod")])
    text = dump_policy(spec)
    assert "fallback_prices: []\n" in text
    assert "clusters:\n  - name: prod\n    tag_rules: []\n" in text
    assert "departments: []\n" in text
    assert load_policy(text) == spec


NAMESPACE = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?", fullmatch=True)
WORD = st.from_regex(r"[a-z]{1,6}", fullmatch=True)
TEXT = st.text(min_size=1, max_size=12).filter(lambda s: s.strip())
MONEY = st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False)


@st.composite
def policies(draw) -> PolicySpec:
    """Valid policies: names unique, namespaces claimed once, weights present when a pool uses them."""
    namespaces = draw(st.lists(NAMESPACE, unique=True, max_size=12))
    n_shared = draw(st.integers(0, len(namespaces)))
    shared = namespaces[:n_shared] + [f"sys.{w}*" for w in draw(st.lists(WORD, unique=True, max_size=2))]
    owned = namespaces[n_shared:]
    names = draw(
        st.lists(
            TEXT.filter(lambda s: s not in RESERVED_DEPARTMENT_NAMES), unique=True, min_size=1, max_size=4
        )
    )
    label_key = draw(st.none() | TEXT)
    label_values = draw(st.lists(TEXT, unique=True, min_size=len(names), max_size=len(names)))
    prefixes = draw(st.lists(WORD, unique=True, min_size=len(names), max_size=len(names)))
    departments = []
    for i, name in enumerate(names):
        mine = owned[i :: len(names)]
        departments.append(
            DepartmentSpec(
                name=name,
                namespaces=mine,
                patterns=[f"{prefixes[i]}-*"] if draw(st.booleans()) else [],
                label_value=label_values[i] if label_key is not None and draw(st.booleans()) else None,
                weight=D(100) if i == 0 else draw(st.none() | st.decimals(0, 100, places=2)),
            )
        )
    keys = draw(st.lists(TEXT, unique=True, max_size=4))
    clusters, cluster_names = [], draw(st.lists(TEXT, unique=True, max_size=len(keys)))
    for i, cname in enumerate(cluster_names):
        tag_keys = keys[i :: len(cluster_names)]
        clusters.append(
            ClusterRules(cname, [TagRule(k, draw(st.none() | st.text(max_size=8))) for k in tag_keys])
        )
    types = draw(st.lists(st.just("") | TEXT, unique=True, max_size=3))
    prices = [
        FallbackPrice(instance_type=t, cpu_core_hour=draw(MONEY), mem_gib_hour=draw(MONEY)) for t in types
    ]
    pools = {
        "shared": PoolSpec(
            draw(st.sampled_from(["proportional", "even", "weights", "separate"])),
            draw(st.sampled_from(["cluster", "global"])),
        ),
        "idle": PoolSpec(
            draw(st.sampled_from(["proportional", "even", "weights", "separate", "per_resource"]))
        ),
        "overhead": PoolSpec(
            draw(st.sampled_from(["proportional", "even", "weights", "separate"])),
            draw(st.sampled_from(["cluster", "global"])),
        ),
    }
    return PolicySpec(
        effective_from=draw(st.dates()),
        currency=draw(st.from_regex(r"[A-Z]{3}", fullmatch=True)),
        split=SplitSpec(
            draw(st.sampled_from(["cost_share", "price_ratio"])),
            draw(st.decimals(0, 1, places=5)),
            draw(st.decimals(D("0.00001"), 100, places=5)),
        ),
        fallback_prices=prices,
        clusters=clusters,
        namespace_label_key=label_key,
        shared_namespaces=shared,
        departments=departments,
        pools=pools,
    )


@settings(max_examples=100, deadline=None)
@given(policies())
def test_round_trip_of_generated_policies(spec):
    assert [i for i in validate(spec) if i.level == "error"] == []  # the strategy makes valid policies
    text = dump_policy(spec)
    assert load_policy(text) == spec
    assert dump_policy(load_policy(text)) == text


def test_a_character_yaml_does_not_allow_names_its_line():
    errors = errors_of("effective_from: 2025-03-01\ncurrency: E\x01R\n", source="policy.yaml")
    assert [(e.line, e.field) for e in errors] == [(2, "")]
    assert (
        errors[0].message == "invalid YAML: unacceptable character #x0001: special characters are not allowed"
    )


def _padded(size: int) -> str:
    """The GOOD policy with a trailing comment making it exactly `size` bytes of UTF-8."""
    head = GOOD + "# é"  # two bytes, one character: the limit is in bytes
    return head + "x" * (size - len(head.encode()) - 1) + "\n"


def test_a_policy_of_exactly_one_mib_is_read_and_one_byte_more_is_refused_before_parsing():
    exact = _padded(MAX_POLICY_BYTES)
    assert len(exact.encode()) == MAX_POLICY_BYTES == 1_048_576
    assert read_policy(exact).spec.effective_from == date(2025, 3, 1)
    # Broken YAML past the limit: the size is what is reported, the YAML is never parsed.
    over = "effective_from: [\n" + "x" * (MAX_POLICY_BYTES + 1 - 18)
    assert len(over.encode()) == MAX_POLICY_BYTES + 1
    with pytest.raises(PolicyFileError) as caught:
        read_policy(over, source="big.yaml")
    assert str(caught.value) == (
        "big.yaml, line 1: the file is over 1 MiB (1,048,576 bytes), the most a policy file may be"
    )


def test_read_policy_bytes_reads_no_more_than_the_limit():
    stream = io.BytesIO(b"effective_from: 2025-01-01\n" + b"#" * (3 * MAX_POLICY_BYTES))
    with pytest.raises(PolicyFileError, match="over 1 MiB"):
        read_policy_bytes(stream)
    assert stream.tell() == MAX_POLICY_BYTES + 1
    with pytest.raises(PolicyFileError, match="line 2: not UTF-8 text"):
        read_policy_bytes(io.BytesIO(b"effective_from: 2025-01-01\n# \xe9t\xe9\n"), source="p.yaml")
    assert read_policy_bytes(io.BytesIO(GOOD.encode())) == GOOD


# -- pay-per-use price sheet (issue 15) --------------------------------------------------------------------


def test_the_example_sheet_is_read_exactly_and_round_trips():
    spec = read_policy(EXAMPLE.read_text(), source="example.yaml").spec
    sheet = spec.pay_per_use
    assert sheet.name == "CCE Autopilot (example prices)"
    assert (sheet.vcpu_second, sheet.gib_second) == (D("0.0000113"), D("0.00000124"))
    assert (sheet.min_vcpu, sheet.min_gib, sheet.vcpu_step, sheet.gib_step) == (
        D("0.25"),
        D("0.5"),
        D("0.25"),
        D("0.5"),
    )
    assert (sheet.min_seconds, sheet.second_step) == (60, 1)
    assert load_policy(dump_policy(spec)) == spec


def test_a_policy_without_a_sheet_loads_unchanged_and_dumps_without_one():
    spec = load_policy(GOOD)
    assert spec.pay_per_use is None
    assert "pay_per_use" not in dump_policy(spec)


def test_a_bad_sheet_names_its_line_and_field():
    text = GOOD + "pay_per_use:\n  vcpu_second: -1\n  gib_secnd: 0.1\n"
    with pytest.raises(PolicyFileError) as caught:
        load_policy(text, source="policy.yaml")
    found = {e.field: (e.line, e.message) for e in caught.value.errors}
    assert found["pay_per_use.gib_second"] == (line_of(text, "vcpu_second: -1"), "is required")
    assert found["pay_per_use.vcpu_second"][1] == "must be a number, 0 or more, not -1"
    assert found["pay_per_use.gib_secnd"][1].startswith("unknown field in pay_per_use; the fields are name,")


def test_idle_gpu_has_an_optional_rule_of_its_own():
    # A file from before has no gpu_idle: idle GPU is then divided like idle (the engine's rule).
    assert "gpu_idle" not in load_policy(GOOD).pools
    text = GOOD + "  gpu_idle: {method: separate}\n"
    spec = load_policy(text)
    assert spec.pools["gpu_idle"] == PoolSpec("separate", "cluster")
    assert load_policy(dump_policy(spec)) == spec
    assert "gpu_idle:" in dump_policy(spec) and "gpu_idle" not in dump_policy(load_policy(GOOD))
    assert (
        load_policy(GOOD + "  gpu_idle: {method: per_resource}\n").pools["gpu_idle"].method == "per_resource"
    )
    (error,) = errors_of(GOOD + "  gpu_idle: {method: separate, scope: global}\n")
    assert error.field == "pools.gpu_idle.scope" and "within its own cluster" in error.message
