"""Queries over the stored daily results (never recomputed), one module per thing the pages, API, CLI and reports read.

costs       cost_rows: a period's costs grouped by cluster, node pool, node, namespace, workload,
            department or label (the `costs` command, the API's costs/, the report builder)
clusters, departments, namespaces, workloads, nodes, labels, quality, bills
            the page queries: aggregated in SQL from the daily result tables, one query per table a
            page shows, so that a page over a year of 2,000 workloads stays within its time budget;
            each page calls one function that reads, sums and rounds its figures (cluster_table,
            cluster_pools, pool_nodes, node_breakdown, namespace_table, namespace_workloads,
            workload_breakdown, pod_breakdown, label_table, department_table, department_breakdown,
            data_quality, bill_history; the overview's is `overview`)
frames      pod days and node idle days as DataFrames (the OpenCost allocation API)
overview    the overview's figures, rounded as the Clusters and Departments pages round them
cents       rounding to the cent, in one place: rows that add up to their rounded total
common      the measures, the period filter, exact sums, QueryError

Money comes back as exact Decimal sums (or int64 counts of costing.money.UNIT) and is rounded to the
cent once, by the functions of `cents` (cost_rows too). `departments` arguments are None (every department) or the
department names whose rows may be read: namespace-level rows are kept only for the days their
namespace belonged (not shared) to one of them (costing.access.restrict_to_owners).
"""
