"""The pages' tables (django-tables2): sortable by any column, money sorted as numbers, totals kept at the
bottom, filtered by text (reports.filters), long lists paginated, and a CSV of the very cells shown."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from html import unescape
from urllib.parse import urlencode

import django_tables2 as tables
from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import linebreaksbr
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import conditional_escape, format_html, format_html_join, strip_tags
from django.utils.safestring import SafeData
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_tables2 import RequestConfig
from django_tables2.rows import BoundRow

from costing.choices import IDLE_GPU_LINE, IDLE_LINE, OVERHEAD_LINE, SHARED_LINE, UNALLOCATED
from costing.money import round_cents
from reports.filters import TableFilter
from reports.reporting.csv import ENCODING, writer
from reports.reporting.safety import safe_text
from reports.templatetags.finops import hours, link, number, pct, plain_money, show_delta

EXPORT = "_export"  # ?_export=csv: the table (or with several, ?_table=NAME) as CSV, through the page's view
EXPORT_TABLE = "_table"
NUM = {"th": {"class": "num"}, "td": {"class": "num"}, "tf": {"class": "num"}}


def cents_text(value) -> str:
    """The exact amount as the page shows it, without thousands separators: -1234.5 -> "-1234.50"."""
    return f"{round_cents(value or 0):.2f}"


class Column(tables.Column):
    """A text column; `total_html`/`total_value` render a totals-row cell the same way as a body cell."""

    def total_html(self, value) -> str:
        return conditional_escape(value)

    def total_value(self, value) -> str:
        return str(value)


class MoneyColumn(Column):
    """An amount: sorted by its Decimal (not its text), shown as 1,234.50, exported as 1234.50."""

    def __init__(self, *args, strong=False, **kwargs):
        kwargs.setdefault("attrs", NUM)
        kwargs.setdefault("empty_values", ())
        self.strong = strong
        super().__init__(*args, **kwargs)

    def render(self, value):
        if value is None:
            return "–"
        return format_html("<strong>{}</strong>", plain_money(value)) if self.strong else plain_money(value)

    def value(self, value):
        return "" if value is None else cents_text(value)

    def total_html(self, value):
        return format_html("<strong>{}</strong>", plain_money(value))

    def total_value(self, value):
        return cents_text(value)


class ShareColumn(Column):
    """A share 0..1 shown as a percentage with fixed places; exported as the same number without " %"."""

    def __init__(self, *args, digits=1, **kwargs):
        kwargs.setdefault("attrs", NUM)
        kwargs.setdefault("empty_values", ())
        self.digits = digits
        super().__init__(*args, **kwargs)

    def render(self, value):
        return pct(value, self.digits)

    def value(self, value):
        return "" if value is None else f"{float(value) * 100:.{self.digits}f}"


class QuantityColumn(Column):
    """Core-hours, GiB-hours, counts: a number with fixed places (`places`), sorted as a number."""

    def __init__(self, *args, places=2, **kwargs):
        kwargs.setdefault("attrs", NUM)
        kwargs.setdefault("empty_values", ())
        self.places = places
        super().__init__(*args, **kwargs)

    def render(self, value):
        if value is None:
            return "–"
        return hours(value) if self.places == 2 else number(float(value), self.places)

    def value(self, value):
        return "" if value is None else f"{float(value):.{self.places}f}"

    def total_html(self, value):
        return format_html("<strong>{}</strong>", self.render(value))

    total_value = value


class CountColumn(Column):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", NUM)
        super().__init__(*args, **kwargs)

    def render(self, value):
        return number(value, 0)

    def value(self, value):
        return str(value)


class ChangeColumn(Column):
    """The change from the previous period (a reports.views_common.delta dict), sorted by its amount."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("order_by", ("change__diff",))
        kwargs.setdefault("verbose_name", _("Change"))
        super().__init__(*args, **kwargs)

    # show_delta drops the percentage when the page's period is not like for like (the table's state says).
    def render(self, value, table):
        return show_delta({"state": table.state}, value)

    def value(self, value):
        return cents_text(value["diff"]) if value else ""

    def total_html(self, value, table=None):
        return show_delta({"state": table.state if table is not None else None}, value)

    def total_value(self, value):
        return self.value(value)


class DayColumn(Column):
    """A date, ISO, sorted as a date."""

    def render(self, value):
        return value.isoformat()

    def value(self, value):
        return value.isoformat()


class WhenColumn(Column):
    """A moment, ISO to the minute (UTC as stored, and its heading says so), sorted as a moment; "—" when
    there is none."""

    def __init__(self, verbose_name=None, *args, **kwargs):
        kwargs.setdefault("empty_values", ())
        super().__init__(format_lazy("{} (UTC)", verbose_name) if verbose_name else None, *args, **kwargs)

    def render(self, value):
        return f"{value:%Y-%m-%d %H:%M}" if value else "—"

    def value(self, value):
        return f"{value:%Y-%m-%d %H:%M}" if value else ""


def _value(row, name: str):
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)


class Table(tables.Table):
    """What every table of the pages shares. Built from the rows a view computed (never a query of its own).

    `totals` are rows of the footer (dicts by column name): shown under the body, never sorted; with a text
    filter on, they give way to the sum of the rows shown. `per_page` paginates long lists.
    """

    per_page: int | None = None

    class Meta:
        template_name = "reports/_table.html"
        attrs = {"class": "sortable"}
        orderable = True

    def __init__(self, rows, *, state=None, totals=(), caption="", **kwargs):
        # A copy: sorting happens in place, and the views' lists stay in the context as computed.
        rows = list(rows)
        # GPU (storage, network) columns show only where some row has GPUs (volumes, load balancers): a table
        # of clusters without them reads as before.
        unused = [
            n
            for n in self.base_columns
            if (n.startswith(("gpu_", "storage_")) or n == "network_cost")
            and not any(_value(r, n) for r in rows)
        ]
        if unused:
            kwargs["exclude"] = (*(kwargs.get("exclude") or ()), *unused)
        super().__init__(rows, **kwargs)
        self.state = state
        self.totals = list(totals)
        self.caption = caption
        self.name = ""
        self.query = ""
        self.filtered = False
        self.total_count = len(self.data)
        for bound in self.columns:
            header = bound.column.verbose_name
            if header and "{currency}" in str(header):
                bound.column.verbose_name = str(header).format(currency=settings.FINOPS_CURRENCY)

    def link(self, name: str, *args, **changes) -> str:
        """The URL of page `name` keeping the page's period, cluster and department (the {% link %} tag)."""
        return link({"state": self.state}, name, *args, **changes)

    # What the template reads --------------------------------------------------------------------------

    def headers(self) -> list[dict]:
        """Each column's heading, its sort link and its aria-sort."""
        current = {o.bare: o for o in (self.order_by or ())}
        out = []
        for bound in self.columns:
            order = current.get(bound.name)
            state = "none" if order is None else ("descending" if order.is_descending else "ascending")
            out.append(
                {
                    "header": bound.header,
                    "orderable": bound.orderable,
                    "url": self._url(
                        {self.prefixed_order_by_field: bound.order_by_alias.next},
                        drop=[self.prefixed_page_field],
                    ),
                    "sort": state,
                    "num": "num" in str(bound.column.attrs.get("th", {}).get("class", "")),
                }
            )
        return out

    def footer_rows(self) -> list[list[tuple[str, str]]]:
        """The totals rows as (html, css class) cells."""
        out = []
        for total in self._footers():
            cells = []
            for bound in self.columns:
                value = total.get(bound.name)
                if value is None:
                    html = ""
                elif isinstance(bound.column, ChangeColumn):
                    html = bound.column.total_html(value, self)
                else:
                    html = bound.column.total_html(value)
                css = "num" if isinstance(bound.column, MoneyColumn | ShareColumn | QuantityColumn) else ""
                cells.append((html, css))
            out.append(cells)
        return out

    def keep_params(self) -> list[tuple[str, str]]:
        """The URL's other parameters, kept as hidden fields of the filter form (not its page, not an export)."""
        skip = {self.filter_field, self.prefixed_page_field, EXPORT, EXPORT_TABLE}
        if self.request is None:
            return []
        return [(k, v) for k, values in self.request.GET.lists() if k not in skip for v in values]

    @property
    def touched(self) -> bool:
        """The URL asks something of this table (a filter, a sort, a page): a folded table is shown open."""
        return self.request is not None and any(k.startswith(self.prefix) for k in self.request.GET)

    @property
    def filter_field(self) -> str:
        return f"{self.prefix}q"

    def csv_url(self) -> str:
        return self._url({EXPORT: "csv", EXPORT_TABLE: self.name}, drop=[self.prefixed_page_field])

    def clear_url(self) -> str:
        return self._url({}, drop=[self.filter_field, self.prefixed_page_field])

    def _url(self, changes: dict, drop=()) -> str:
        params = self.request.GET.copy() if self.request is not None else {}
        if hasattr(params, "setlist"):
            for key in (*drop, *changes):
                params.pop(key, None)
            params.update(changes)
            return "?" + params.urlencode()
        return "?" + urlencode(changes)

    # CSV ----------------------------------------------------------------------------------------------

    def csv_rows(self) -> list[list[str]]:
        """Header, every row (filtered and sorted as on the page, all pages) and the totals rows, as text."""
        # A column of forms (revoke, reopen) is for the page only.
        columns = [b for b in self.columns if not b.column.exclude_from_export]
        out = [[safe_text(plain(b.header)) for b in columns]]
        for row in self.rows:
            out.append([_csv_cell(row.get_cell_value(b.name), b.column) for b in columns])
        for total in self._footers():
            out.append(
                [
                    ""
                    if total.get(b.name) is None
                    else _csv_cell(b.column.total_value(total[b.name]), b.column)
                    for b in columns
                ]
            )
        return out

    def csv_response(self, stem: str) -> HttpResponse:
        out = io.StringIO()
        writer(out).writerows(self.csv_rows())
        response = HttpResponse(out.getvalue().encode(ENCODING), content_type="text/csv; charset=utf-8")
        period = f"-{self.state.period.key}" if self.state is not None else ""
        filename = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{stem}-{self.name}{period}")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response

    # Filtering ----------------------------------------------------------------------------------------

    def row_text(self, record) -> str:
        """The text of a row's cells, as the CSV has them: what the text filter searches."""
        row = BoundRow(record, table=self)
        return " ".join(plain(row.get_cell_value(b.name)) for b in self.columns)

    def apply_filter(self, rows: list) -> None:
        self.data.data = rows
        self.filtered = True

    def _footers(self) -> list[dict]:
        if not self.filtered:
            return self.totals
        if not self.totals:
            return []
        # The sum of the cents shown, so the footer of a filtered table adds up to its rows.
        first = self.columns[0].name if len(self.columns) else None
        shown = {first: gettext("Shown rows (%(count)d)") % {"count": len(self.data)}} if first else {}
        for bound in self.columns:
            if isinstance(bound.column, MoneyColumn) and any(bound.name in t for t in self.totals):
                shown[bound.name] = sum(
                    (round_cents(bound.accessor.resolve(r, quiet=True) or 0) for r in self.data.data),
                    Decimal(0),
                )
        return [shown]


NUMBER = re.compile(r"-?\d+(\.\d+)?")
NUMERIC = (MoneyColumn, ShareColumn, QuantityColumn, CountColumn, ChangeColumn)


def plain(value) -> str:
    """A cell's text: the markup a render method made (links, <strong>, entities) taken off."""
    if isinstance(value, SafeData):
        return unescape(strip_tags(value)).strip()
    return str(value).strip()


def _csv_cell(value, column) -> str:
    """A cell as text; a figure stays a number (a negative amount is not a formula), other text made safe."""
    if value is None:
        return ""
    text = plain(value)
    if isinstance(column, NUMERIC) and NUMBER.fullmatch(text):
        return text
    return safe_text(text)


def configure(request, name: str, table: Table) -> Table:
    """Filter (?NAME-q=), sort (?NAME-sort=) and paginate (?NAME-page=) a table from the URL."""
    table.name = name
    table.prefix = f"{name}-"
    table.request = request
    filterset = TableFilter(request.GET, rows=table.data.data, text=table.row_text, prefix=name)
    table.filterset = filterset
    table.query = filterset.form.data.get(table.filter_field, "") if filterset.is_bound else ""
    if filterset.is_valid() and filterset.form.cleaned_data.get("q"):
        table.apply_filter(list(filterset.qs))
    paginate = {"per_page": table.per_page} if table.per_page else False
    RequestConfig(request, paginate=paginate).configure(table)
    return table


def render_page(
    request, template: str, context: dict, stem: str = "table", status: int = 200, **named: Table
):
    """Render a page whose `named` tables are configured from the URL (in the context as NAME_table), or,
    with ?_export=csv, answer one of them as CSV: the same view, so the same access rules and rows."""
    for name, table in named.items():
        context[f"{name}_table"] = configure(request, name, table)
    if request.GET.get(EXPORT) == "csv":
        wanted = request.GET.get(EXPORT_TABLE) or next(iter(named), None)
        if wanted not in named:
            raise Http404(f"_table: this page has no table {wanted!r} to export")
        return named[wanted].csv_response(stem)
    return render(request, template, context, status=status)


def row_heading(text, url=None, note=""):
    """A row's first cell: its name, linked when it has a page, with a small note."""
    html = format_html('<a href="{}">{}</a>', url, text) if url else conditional_escape(text)
    return format_html("{}{}", html, format_html(" <small>{}</small>", note) if note else "")


# The tables of the pages ----------------------------------------------------------------------------------


class ClusterTable(Table):
    cluster__name = Column(_("Cluster"))
    workload = MoneyColumn(_("Workloads"))
    idle = MoneyColumn(_("Idle"))
    overhead = MoneyColumn(_("Overhead"))
    physical_cost = MoneyColumn(_("Physical cost ({currency})"), strong=True)
    estimated_share = ShareColumn(_("Estimated"))
    coverage = ShareColumn(_("Coverage"))
    change = ChangeColumn()

    def render_cluster__name(self, value):
        return row_heading(value, self.link("cluster", value))

    def render_workload(self, value, record):
        return row_heading(plain_money(value), self.link("namespaces", cluster=record["cluster__name"]))


class ClusterShareTable(Table):
    """A department viewer's share of each cluster."""

    cluster__name = Column(_("Cluster"))
    direct = MoneyColumn(_("Direct"))
    shared = MoneyColumn(_("Shared"))
    idle = MoneyColumn(_("Idle"))
    overhead = MoneyColumn(_("Overhead"))
    total = MoneyColumn(_("Total ({currency})"), strong=True)
    change = ChangeColumn()

    def render_cluster__name(self, value):
        return row_heading(value, self.link("namespaces", cluster=value))


class NodePoolTable(Table):
    node_pool__name = Column(_("Node pool"))
    pods = MoneyColumn(_("Paid by pods"))
    idle_part = MoneyColumn(_("Idle"))
    idle_share = ShareColumn(_("Idle share"))
    estimated_cost = MoneyColumn(_("Estimated"))
    cpu_capacity_core_hours = QuantityColumn(_("Capacity core-hours"))
    mem_capacity_gib_hours = QuantityColumn(_("Capacity GiB-hours"))
    gpu_capacity_hours = QuantityColumn(_("Capacity GPU-hours"))
    gpu_idle = MoneyColumn(_("Idle GPU"))
    cost = MoneyColumn(_("Cost ({currency})"))

    def __init__(self, rows, *, cluster_name, **kwargs):
        super().__init__(rows, **kwargs)
        self.cluster_name = cluster_name

    def render_node_pool__name(self, value):
        return row_heading(value, self.link("node_pool", self.cluster_name, value))


class NodeTable(Table):
    per_page = 25
    node__name = Column(_("Node"))
    node__instance_type = Column(_("Instance type"))
    pods = MoneyColumn(_("Paid by pods"))
    idle_part = MoneyColumn(_("Idle"))
    gpu_idle = MoneyColumn(_("Idle GPU"))
    hours_billed = CountColumn(_("Hours billed"))
    hours_estimated = CountColumn(_("Hours estimated"))
    hours_unsampled = CountColumn(_("Hours unsampled"))
    cost = MoneyColumn(_("Cost ({currency})"))

    def __init__(self, rows, *, cluster_name, **kwargs):
        super().__init__(rows, **kwargs)
        self.cluster_name = cluster_name

    def render_node__name(self, value):
        return row_heading(value, self.link("node", self.cluster_name, value))


class NodeDayTable(Table):
    per_page = 31
    day = DayColumn(_("Day"))
    pods = MoneyColumn(_("Paid by pods"))
    idle_part = MoneyColumn(_("Idle"))
    estimated_cost = MoneyColumn(_("Estimated"))
    hours_billed = CountColumn(_("Hours billed"))
    hours_estimated = CountColumn(_("Hours estimated"))
    hours_unsampled = CountColumn(_("Hours unsampled"))
    cost = MoneyColumn(_("Cost ({currency})"))
    unit_prices = Column(_("Hours"), accessor="day", orderable=False, exclude_from_export=True)

    def __init__(self, rows, *, cluster_name, node_name, cutoff, **kwargs):
        super().__init__(rows, **kwargs)
        self.cluster_name, self.node_name, self.cutoff = cluster_name, node_name, cutoff

    def render_unit_prices(self, value):
        if value < self.cutoff:
            return format_html('<span class="muted">beyond hourly retention</span>')
        url = self.link("node", self.cluster_name, self.node_name, day=value.isoformat())
        return format_html('<a href="{}">unit prices</a>', url)


class NodeHourTable(Table):
    per_page = 24
    hour = Column(_("Hour (UTC)"))
    cost = QuantityColumn(_("Cost"), places=4)
    cpu_price = QuantityColumn(_("Per core-hour"), places=5)
    mem_price = QuantityColumn(_("Per GiB-hour"), places=5)
    gpu_price = QuantityColumn(_("Per GPU-hour"), places=5)
    cpu_idle = QuantityColumn(_("Idle CPU"), places=4)
    mem_idle = QuantityColumn(_("Idle memory"), places=4)
    gpu_idle = QuantityColumn(_("Idle GPU"), places=4)
    source = Column(_("Source"), accessor="sampled")

    def __init__(self, rows, *, cluster_name, node_name, **kwargs):
        super().__init__(rows, **kwargs)
        self.cluster_name, self.node_name = cluster_name, node_name

    def render_hour(self, value, record):
        url = reverse_hour(self.cluster_name, self.node_name, record, self.state)
        return format_html('<a href="{}">{}</a>', url, value.strftime("%Y-%m-%d %H:00"))

    def value_hour(self, value):
        return value.strftime("%Y-%m-%d %H:00")

    def render_source(self, value, record):
        if not record["sampled"]:
            return gettext("billed, never sampled")
        return gettext("estimated (price sheet)") if record["estimated"] else gettext("bill")


def reverse_hour(cluster: str, node: str, record: dict, state) -> str:
    url = reverse("node_hour", args=[cluster, node, record["hour"].strftime("%Y-%m-%dT%H")])
    return f"{url}?{state.query()}" if state else url


class NamespaceTable(Table):
    per_page = 50
    namespace__name = Column(_("Namespace"))
    cluster__name = Column(_("Cluster"))
    department = Column(_("Department"))
    cpu_efficiency = ShareColumn(_("CPU efficiency"), digits=0)
    mem_efficiency = ShareColumn(_("Memory efficiency"), digits=0)
    estimated_share = ShareColumn(_("Estimated"), digits=0)
    gpu_cost = MoneyColumn(_("GPU cost"))
    storage_cost = MoneyColumn(_("Storage cost"))
    network_cost = MoneyColumn(_("Network"))
    cost = MoneyColumn(_("Cost ({currency})"))
    change = ChangeColumn()

    def render_namespace__name(self, value, record):
        return row_heading(value, self.link("namespace", record["cluster__name"], value))

    def render_department(self, value, record):
        if record.get("shared"):
            return gettext("Shared")
        state = self.state
        if state is not None and state.restricted and value not in state.granted:
            return value
        return row_heading(value, self.link("department", value))

    def value_department(self, value, record):
        return gettext("Shared") if record.get("shared") else value


class WorkloadTable(Table):
    per_page = 50
    name = Column(_("Workload"))
    pods = CountColumn(_("Pods"))
    cpu_billable_core_hours = QuantityColumn(_("Billable core-hours"))
    mem_billable_gib_hours = QuantityColumn(_("Billable GiB-hours"))
    gpu_billable_hours = QuantityColumn(_("Billable GPU-hours"))
    cpu_efficiency = ShareColumn(_("CPU efficiency"), digits=0)
    mem_efficiency = ShareColumn(_("Memory efficiency"), digits=0)
    gpu_cost = MoneyColumn(_("GPU cost"))
    storage_cost = MoneyColumn(_("Storage cost"))
    cost = MoneyColumn(_("Cost ({currency})"))

    def render_name(self, value, record):
        if record.get("workload_id") is None:  # the namespace's claims no pod mounted
            return row_heading(gettext("Unmounted storage"))
        return row_heading(f"{record['kind']}/{value}", self.link("workload", record["workload_id"]))

    def value_name(self, value, record):
        if record.get("workload_id") is None:
            return gettext("Unmounted storage")
        return f"{record['kind']}/{value}"


class LoadBalancerTable(Table):
    """A namespace's load balancers (network cost): the Service, its cloud ids and its bill lines."""

    service = Column(_("Service (load balancer)"))
    cloud_id = Column(_("Cloud id"))
    address = Column(_("Address"), accessor="hostname")
    lines = Column(_("Bill lines"), orderable=False)
    cost = MoneyColumn(_("Cost ({currency})"))

    def render_address(self, value, record):
        return record.get("hostname") or record.get("ip") or ""

    def value_address(self, value, record):
        return record.get("hostname") or record.get("ip") or ""

    def render_lines(self, value, record):
        return format_html_join(
            ", ", "{} <small>{}</small>", ((line["resource_id"], line["service_name"]) for line in value)
        )

    def value_lines(self, value, record):
        return "; ".join(line["resource_id"] for line in value)


class TopWorkloadTable(Table):
    """The overview's costliest workloads; the others and the sum of all stay in the footer."""

    workload__name = Column(_("Workload"))
    namespace__name = Column(_("Namespace"))
    cluster__name = Column(_("Cluster"))
    cpu_efficiency = ShareColumn(_("CPU efficiency"), digits=0)
    mem_efficiency = ShareColumn(_("Memory efficiency"), digits=0)
    cost = MoneyColumn(_("Cost ({currency})"))

    def render_workload__name(self, value, record):
        text = f"{record['workload__kind']}/{value}"
        return row_heading(text, self.link("workload", record["workload_id"]))

    def value_workload__name(self, value, record):
        return f"{record['workload__kind']}/{value}"


class PodTable(Table):
    per_page = 25
    pod__name = Column(_("Pod"))
    node__name = Column(_("Node"))
    days = CountColumn(_("Days"))
    cpu_request_core_hours = QuantityColumn(_("CPU request core-hours"))
    cpu_usage_core_hours = QuantityColumn(_("CPU usage core-hours"))
    cpu_billable_core_hours = QuantityColumn(_("CPU billable core-hours"))
    mem_request_gib_hours = QuantityColumn(_("Memory request GiB-hours"))
    mem_usage_gib_hours = QuantityColumn(_("Memory usage GiB-hours"))
    mem_billable_gib_hours = QuantityColumn(_("Memory billable GiB-hours"))
    gpu_billable_hours = QuantityColumn(_("GPU billable GPU-hours"))
    gpu_cost = MoneyColumn(_("GPU cost"))
    storage_cost = MoneyColumn(_("Storage cost"))
    cost = MoneyColumn(_("Cost ({currency})"))

    def render_pod__name(self, value, record):
        return row_heading(value, self.link("pod", record["pod_id"]))


class PodDayTable(Table):
    per_page = 31
    day = DayColumn(_("Day"))
    node__name = Column(_("Node"))
    samples = CountColumn(_("Samples"))
    cpu_billable_core_hours = QuantityColumn(_("Billable core-hours"))
    mem_billable_gib_hours = QuantityColumn(_("Billable GiB-hours"))
    gpu_billable_hours = QuantityColumn(_("Billable GPU-hours"))
    storage_cost = MoneyColumn(_("Storage cost"))
    estimated_cost = MoneyColumn(_("Estimated"))
    cost = MoneyColumn(_("Cost ({currency})"))


class VolumeTable(Table):
    """Persistent volumes: what each disk cost over the period, who paid it, and its bill lines."""

    per_page = 50
    name = Column(_("Volume"))
    claim = Column(_("Claim"))
    disk_id = Column(_("Disk"))
    pods_cost = MoneyColumn(_("Pods mounting it"))
    unmounted_cost = MoneyColumn(_("Unmounted"))
    idle_cost = MoneyColumn(_("Storage idle"))
    cost = MoneyColumn(_("Cost ({currency})"))
    bill_lines = Column(_("Bill lines"), orderable=False)

    def render_bill_lines(self, value, record):
        return ", ".join(
            f"{line['resource_id']} ({line['service_name'] or line['resource_name']})" for line in value
        )

    value_bill_lines = render_bill_lines


class PodHourTable(Table):
    """A pod's node-hours: billable quantity x unit price = cost, each price opening where it came from."""

    per_page = 24
    hour = Column(_("Hour (UTC)"))
    node = Column(_("Node"))
    cpu_billable_core_hours = QuantityColumn(_("Core-hours"), places=4)
    cpu_price = QuantityColumn(_("× per core-hour"), places=5)
    mem_billable_gib_hours = QuantityColumn(_("GiB-hours"), places=4)
    mem_price = QuantityColumn(_("× per GiB-hour"), places=5)
    gpu_billable_hours = QuantityColumn(_("GPU-hours"), places=4)
    gpu_price = QuantityColumn(_("× per GPU-hour"), places=5)
    cost = QuantityColumn(_("= cost"), places=4)

    def __init__(self, rows, *, cluster, **kwargs):
        super().__init__(rows, **kwargs)
        self.cluster = cluster

    def render_hour(self, value):
        return value.strftime("%Y-%m-%d %H:00")

    value_hour = render_hour

    def _price(self, value, record, title):
        if not record.get("priced"):
            return gettext("unpriced")
        url = reverse_hour(self.cluster, record["node"], record, self.state)
        html = format_html('<a href="{}" title="{}">{}</a>', url, title, f"{float(value):.5f}")
        if record.get("estimated"):
            html += format_html(
                ' <abbr title="{}">{}</abbr>', gettext("estimated from the price sheet"), gettext("est.")
            )
        return html

    def render_cpu_price(self, value, record):
        return self._price(value, record, gettext("Where this price came from"))

    def render_mem_price(self, value, record):
        return self._price(value, record, gettext("Where this price came from"))

    def render_gpu_price(self, value, record):
        if value is None and record.get("priced"):
            return "–"  # a node-hour without GPUs
        return self._price(value, record, "Where this price came from")

    def value_cpu_price(self, value, record):
        return f"{float(value):.5f}" if record.get("priced") else gettext("unpriced")

    value_mem_price = value_cpu_price

    def value_gpu_price(self, value, record):
        return "" if value is None and record.get("priced") else self.value_cpu_price(value, record)


class LabelTable(Table):
    per_page = 50
    label = Column(_("Label value"))
    pods = CountColumn(_("Pods"))
    cpu_efficiency = ShareColumn(_("CPU efficiency"), digits=0)
    mem_efficiency = ShareColumn(_("Memory efficiency"), digits=0)
    cost = MoneyColumn(_("Cost ({currency})"))

    def __init__(self, rows, *, key, **kwargs):
        super().__init__(rows, **kwargs)
        self.columns["label"].column.verbose_name = key or _("Label value")


class DepartmentTable(Table):
    name = Column(_("Department"))
    direct = MoneyColumn(_("Direct"))
    shared = MoneyColumn(_("Shared"))
    idle = MoneyColumn(_("Idle"))
    gpu_idle = MoneyColumn(_("Idle GPU"))
    overhead = MoneyColumn(_("Overhead"))
    total = MoneyColumn(_("Total ({currency})"), strong=True)
    change = ChangeColumn()

    class Meta(Table.Meta):
        row_attrs = {"class": lambda record: "line" if record.get("is_line") else ""}

    def render_name(self, value, record):
        note = gettext("(not divided)") if record.get("is_line") else ""
        shown = LINE_NAMES.get(value, value) if record.get("is_line") else value
        return row_heading(shown, self.link("department", value), note)

    def value_name(self, value):
        return value


class DepartmentNamespaceTable(Table):
    namespace = Column(_("Namespace"))
    cluster = Column(_("Cluster"))
    days = CountColumn(_("Days"))
    cost = MoneyColumn(_("Cost ({currency})"))

    def render_namespace(self, value, record):
        return row_heading(value, self.link("namespace", record["cluster"], value))


# The lines kept apart beside the departments, named on the page in its language (the CSV keeps the name).
LINE_NAMES = {
    UNALLOCATED: _("Unallocated"),
    SHARED_LINE: _("Shared"),
    IDLE_LINE: _("Idle"),
    IDLE_GPU_LINE: _("Idle GPU"),
    OVERHEAD_LINE: _("Overhead"),
}
POOL_NAMES = {"shared": _("Shared"), "idle": _("Idle"), "gpu_idle": _("Idle GPU"), "overhead": _("Overhead")}


def pool_name(pool: str) -> str:
    """A common pool's name in the page's language ("idle" -> "Idle")."""
    return str(POOL_NAMES.get(pool, pool.capitalize()))


class DepartmentPoolTable(Table):
    pool = Column(_("Pool"))
    cluster = Column(_("Cluster"))
    method = Column(_("Method"))
    applied = Column(_("Applied"))
    scope = Column(_("Scope"))
    basis = Column(_("Basis"), default="–")
    pool_amount = MoneyColumn(_("Pool ({currency})"))
    fraction = ShareColumn(_("Fraction"))
    amount = MoneyColumn(_("Share ({currency})"))

    def value_pool(self, value, record):
        text = pool_name(value) + (f" ({record['resource']})" if record.get("resource") else "")
        return text + (" " + gettext("via %(via)s") % {"via": record["via"]} if record.get("via") else "")

    def render_pool(self, value, record):
        text = pool_name(value) + (f" ({record['resource']})" if record.get("resource") else "")
        return row_heading(
            text, note=gettext("via %(via)s") % {"via": record["via"]} if record.get("via") else ""
        )


class BillLineTable(Table):
    per_page = 25
    source_row = Column(_("Bill row"))
    resource_id = Column(_("Resource"))
    service_name = Column(_("Service"), default="–")
    charge_period_start = Column(_("Charge period (UTC)"))
    effective_cost = MoneyColumn(_("Line cost ({currency})"))
    part = QuantityColumn(_("Part in this hour"), places=6)

    def render_source_row(self, value, record):
        return gettext("import %(import)s, row %(row)s") % {"import": record["bill_import_id"], "row": value}

    value_source_row = render_source_row

    def render_charge_period_start(self, value, record):
        return f"{value:%Y-%m-%d %H:%M} – {record['charge_period_end']:%Y-%m-%d %H:%M}"

    value_charge_period_start = render_charge_period_start


class BillImportTable(Table):
    per_page = 25
    file_name = Column(_("File"))
    rows = CountColumn(_("Rows"), default="–")
    effective_total = MoneyColumn(_("EffectiveCost"))
    billed_total = MoneyColumn(_("BilledCost"))
    list_total = MoneyColumn(_("ListCost"))
    currency = Column(_("Currency"), default="–")
    period_start = Column(_("Billing period"), default="–")
    uploaded_by = Column(_("By"), accessor="uploaded_by__username", default=_("command line"))
    created_at = WhenColumn(_("When"))
    status = Column(_("Outcome"))

    def render_file_name(self, value, record):
        return format_html("{}<br><small>#{} · {}</small>", value, record.pk, record.get_format_display())

    def value_file_name(self, value):
        return value

    def render_period_start(self, value, record):
        return f"{value:%Y-%m-%d} – {record.period_end:%Y-%m-%d}"

    value_period_start = render_period_start

    # For a field with choices django-tables2 passes the label as `value`: the code is record.status.
    def render_status(self, record):
        value = record.status
        if value in ("pending", "running"):
            return format_html(
                '<span data-bill-status="{}">{} <progress max="1" value="{}">{}</progress></span>',
                reverse("bill_status", args=[record.pk]),
                record.get_status_display(),
                record.progress,
                f"{record.progress:.2f}",
            )
        if value == "failed":
            return format_html(
                '<span class="error">{}</span> <span class="error">{}</span>',
                gettext("Failed:"),
                linebreaksbr(record.error),
            )
        html = format_html("{}", record.get_status_display())
        if record.replaced_by_id:
            html = format_html(gettext("{}, replaced by #{}"), html, record.replaced_by_id)
        if record.notes:
            html = format_html("{}<br><small>{}</small>", html, linebreaksbr(record.notes))
        return html

    def value_status(self, record):
        text = record.get_status_display()
        if record.status == "failed":
            return f"{gettext('Failed:')} {record.error}"
        if record.replaced_by_id:
            return gettext("{}, replaced by #{}").format(text, record.replaced_by_id)
        return text


class OutsideCostTable(Table):
    per_page = 50
    service_name = Column(_("Service"), default="–")
    tags = Column(_("Tags"), orderable=False)
    lines = CountColumn(_("Lines"))
    effective = MoneyColumn(_("EffectiveCost"))
    billed = MoneyColumn(_("BilledCost"))
    currency = Column(_("Currency"))

    def render_tags(self, value):
        if not value:
            return format_html("<em>{}</em>", gettext("no tags"))
        return format_html_join(", ", "<code>{}={}</code>", sorted(value.items()))

    def value_tags(self, value):
        return ", ".join(f"{k}={v}" for k, v in sorted((value or {}).items()))


class WorkerTable(Table):
    hostname = Column(_("Worker"))
    seen_at = Column(_("Last heartbeat (UTC)"))
    age = QuantityColumn(_("Age (s)"), places=0)
    stale = Column(_("State"))

    def render_seen_at(self, value):
        return f"{value:%Y-%m-%d %H:%M:%S}"

    value_seen_at = render_seen_at

    def render_stale(self, value):
        if value:
            return format_html(
                '<strong class="warn">{}</strong>',
                gettext("stale (over %(seconds)s s)") % {"seconds": self.stale_seconds},
            )
        return gettext("alive")

    def value_stale(self, value):
        return gettext("stale") if value else gettext("alive")

    def __init__(self, rows, *, stale_seconds, **kwargs):
        super().__init__(rows, **kwargs)
        self.stale_seconds = stale_seconds


class CoverageDayTable(Table):
    per_page = 31
    day = DayColumn(_("Day"))
    cluster__name = Column(_("Cluster"))
    coverage = ShareColumn(_("Coverage"))


class GapReasonTable(Table):
    cluster__name = Column(_("Cluster"))
    reason = Column(_("Reason"), default=_("(no reason given)"))
    count = CountColumn(_("Slots"))
    seconds = QuantityColumn(_("Minutes lost"), places=0)
    last = Column(_("Last (UTC)"))

    def render_seconds(self, value):
        return number((value or 0) / 60, 0)

    def value_seconds(self, value):
        return f"{(value or 0) / 60:.0f}"

    def render_last(self, value):
        return f"{value:%Y-%m-%d %H:%M}"

    value_last = render_last


class GapTable(Table):
    per_page = 25
    slot = Column(_("Slot (UTC)"))
    cluster__name = Column(_("Cluster"))
    interval = CountColumn(_("Seconds"))
    source = Column(_("Source"))
    reason = Column(_("Reason"), default="")

    def render_slot(self, value):
        return f"{value:%Y-%m-%d %H:%M:%S}"

    value_slot = render_slot


class EstimatedDayTable(Table):
    per_page = 31
    day = DayColumn(_("Day"))
    cluster__name = Column(_("Cluster"))
    estimated_cost = MoneyColumn(_("Estimated ({currency})"))
    estimated_share = ShareColumn(_("Of physical cost"))


class DirtyDayTable(Table):
    per_page = 31
    day = DayColumn(_("Day"))
    cluster__name = Column(_("Cluster"))
    computed_at = Column(_("Last computed (UTC)"), default=_("never"))

    def render_computed_at(self, value):
        return f"{value:%Y-%m-%d %H:%M}"

    value_computed_at = render_computed_at


def _progress(record, done: str):
    """The status cell of an export or a closing that the Reports page's script follows while it runs."""
    if record.status == "failed":
        return f"{gettext('Failed:')} {record.error}"
    if record.status == "succeeded":
        return done
    return format_html(
        '<progress max="1" value="{}"></progress> <span class="js-message">{}</span>',
        record.progress,
        gettext(record.message) if record.message else record.get_status_display(),
    )


class ExportRunTable(Table):
    created_at = WhenColumn(_("Asked"))
    requested_by = Column(_("By"), accessor="requested_by__username", default="—")
    period_key = Column(_("Period"))
    scope_label = Column(_("Scope"))
    format = Column(_("Format"))
    status = Column(_("Status"), attrs={"td": {"class": lambda record: f"js-status status-{record.status}"}})
    file_name = Column(_("File"), empty_values=(), attrs={"td": {"class": "js-file"}})

    class Meta(Table.Meta):
        row_attrs = {
            "data-status-url": lambda record: reverse("report-export-status", args=[record.pk]),
            "data-status": lambda record: record.status,
        }

    def render_format(self, record):
        return record.format

    def render_status(self, record):
        return _progress(record, gettext("Ready"))

    value_status = render_status

    def render_file_name(self, value, record):
        if record.status != "succeeded":
            return ""
        return format_html('<a href="{}">{}</a>', reverse("report-export-download", args=[record.pk]), value)


class ScheduledRunTable(Table):
    schedule = Column(_("Schedule"), accessor="schedule__name", default=_("(deleted)"))
    period_key = Column(_("Period"))
    scope_label = Column(_("Scope"))
    status = Column(_("Status"))
    attempts = CountColumn(_("Attempts"))
    finished_at = WhenColumn(_("Finished"))
    delivered_to = Column(_("Delivered to / error"), empty_values=())

    def render_delivered_to(self, value, record):
        if record.status == "failed":
            return format_html('<span class="error-text">{}</span>', record.error)
        html = linebreaksbr(value)
        if record.error:
            html = format_html('{}<br><span class="muted">{}</span>', html, record.error)
        return html

    def value_delivered_to(self, value, record):
        return record.error if record.status == "failed" else " ".join([value, record.error]).strip()


class ClosingJobTable(Table):
    created_at = WhenColumn(_("Asked"))
    requested_by = Column(_("By"), accessor="requested_by__username", default="—")
    key = Column(_("Period"))
    status = Column(_("Status"), attrs={"td": {"class": lambda record: f"js-status status-{record.status}"}})

    class Meta(Table.Meta):
        row_attrs = {
            "data-closing-url": lambda record: reverse("report-close-status", args=[record.pk]),
            "data-status": lambda record: record.status,
        }

    def render_status(self, record):
        return _progress(record, gettext("Closed"))

    value_status = render_status


class ClosedPeriodTable(Table):
    key = Column(_("Period"))
    closed_at = WhenColumn(_("Closed"))
    closed_by = Column(_("By"), accessor="closed_by__username", default="—")
    reopen = Column(_("Reopen (reason required)"), accessor="pk", orderable=False, exclude_from_export=True)

    def render_reopen(self, value, record):
        return render_to_string("reports/_reopen_form.html", {"c": record}, request=self.request)


class PeriodLogTable(Table):
    per_page = 25
    at = WhenColumn(_("When"))
    key = Column(_("Period"))
    action = Column(_("Action"))
    user = Column(_("Who"), accessor="user__username", default="—")
    reason = Column(_("Why"), default="")


class ApiTokenTable(Table):
    """The signed-in user's API tokens (api/pages.py): never the token, only the start it is known by."""

    name = Column(_("Name"))
    hint = Column(_("Starts with"))
    created_at = WhenColumn(_("Created"))
    last_used_at = WhenColumn(_("Last used"))
    state = Column(_("State"), accessor="active", empty_values=())
    revoke = Column("", accessor="pk", orderable=False, exclude_from_export=True)

    def render_hint(self, value):
        return format_html("<code>{}…</code>", value)

    def value_hint(self, value):
        return f"{value}…"

    def render_last_used_at(self, value):
        return f"{value:%Y-%m-%d %H:%M}" if value else gettext("never")

    def value_last_used_at(self, value):
        return f"{value:%Y-%m-%d %H:%M}" if value else gettext("never")

    def render_state(self, record):
        return (
            gettext("active")
            if record.active
            else gettext("revoked %(day)s") % {"day": f"{record.revoked_at:%Y-%m-%d}"}
        )

    value_state = render_state

    def render_revoke(self, record):
        if not record.active:
            return ""
        return render_to_string("api/_revoke_form.html", {"t": record}, request=self.request)
