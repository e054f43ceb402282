"""Reading sample CSV files (nodes, pods, namespaces) into recorder frames, validated as a whole first."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

import numpy as np
import pandas as pd

from costing.k8snames import kind_problem, name_problem, owner_problem
from costing.quantity import BINARY_SUFFIXES, DECIMAL_SUFFIXES, QuantityError, parse_quantity
from costing.volumes import normalise_disk_id

__all__ = [
    "NAMESPACE_FILE_COLUMNS",
    "NODE_FILE_COLUMNS",
    "POD_FILE_COLUMNS",
    "VOLUME_FILE_COLUMNS",
    "SampleFileError",
    "read_sample_files",
    "read_volume_file",
]

NODE_FILE_COLUMNS = [
    "timestamp",
    "node",
    "node_pool",
    "provider_id",
    "cpu_capacity_cores",
    "memory_capacity_bytes",
]
NODE_OPTIONAL = ["instance_type", "labels", "gpu_capacity_devices"]
POD_FILE_COLUMNS = [
    "timestamp",
    "namespace",
    "pod",
    "node",
    "owner_kind",
    "owner_name",
    "cpu_request_cores",
    "cpu_usage_cores",
    "memory_request_bytes",
    "memory_usage_bytes",
]
POD_OPTIONAL = [
    "pod_uid",
    "labels",
    "container",
    "init",
    "cpu_limit_cores",
    "memory_limit_bytes",
    "gpu_request_devices",
    "gpu_usage_devices",
    "claims",  # the PersistentVolumeClaims the pod mounts, names joined by ";"
]
# Columns that only a file of one row per container may have.
CONTAINER_ONLY = ("init", "cpu_limit_cores", "memory_limit_bytes")
_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no", ""})
# PersistentVolumes, one row per volume and sample (docs/import-formats.md, "Samples").
VOLUME_FILE_COLUMNS = ["timestamp", "volume", "phase"]
VOLUME_OPTIONAL = ["capacity_bytes", "claim_namespace", "claim_name", "disk_id", "driver", "storage_class"]
NAMESPACE_FILE_COLUMNS = ["namespace"]
NAMESPACE_OPTIONAL = ["labels"]
_FIRST_DATA_LINE = 2  # line 1 is the header
# The longest text the inventory models store in these columns (costing/models/inventory.py).
_STORED = {"node_pool": 253, "provider_id": 500, "instance_type": 100, "pod_uid": 253}


class SampleFileError(ValueError):
    """A bad sample file: which file, line (the header is line 1), column, and why."""

    def __init__(self, path: Path | str, line: int, column: str, reason: str):
        self.path, self.line, self.column, self.reason = Path(path), line, column, reason
        super().__init__(f"{self.path.name}, line {line}, column {column}: {reason}")


class _Errors:
    """The first error of a file by line (then by column order), so the report does not depend on the order
    in which the checks ran."""

    def __init__(self, path: Path, columns: list[str]):
        self.path = path
        self.order = {c: i for i, c in enumerate(columns)}
        self.first: tuple[int, int, str, str] | None = None

    def at(self, row: int, column: str, reason: str) -> None:
        candidate = (row, self.order.get(column, len(self.order)), column, reason)
        if self.first is None or candidate[:2] < self.first[:2]:
            self.first = candidate

    def where(self, bad: np.ndarray, column: str, reason: Callable[[int], str] | str) -> None:
        rows = np.flatnonzero(bad)
        if len(rows):
            row = int(rows[0])
            self.at(row, column, reason(row) if callable(reason) else reason)

    def raise_first(self) -> None:
        if self.first is not None:
            row, _, column, reason = self.first
            raise SampleFileError(self.path, row + _FIRST_DATA_LINE, column, reason)


def read_sample_files(
    nodes_path: Path | str, pods_path: Path | str, namespaces_path: Path | str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """(nodes, pods, namespaces) frames in the recorder's columns, or SampleFileError for the first bad field.

    A pod must be on a node that nodes.csv lists at the same timestamp. Empty usage fields (both) mean
    the pod had no metrics: it is charged its request.
    """
    nodes_path, pods_path = Path(nodes_path), Path(pods_path)
    nodes = _read_nodes(nodes_path)
    pods = _read_pods(pods_path)
    namespaces = _read_namespaces(Path(namespaces_path)) if namespaces_path else None
    known = _pods_on_listed_nodes(nodes, pods)
    if not known.all():
        row = int(np.flatnonzero(~known)[0])
        raise SampleFileError(
            pods_path,
            row + _FIRST_DATA_LINE,
            "node",
            f"node {pods['node'].iat[row]!r} is not in {nodes_path.name} at {pods['timestamp'].iat[row].isoformat()}",
        )
    return nodes, pods, namespaces


def _pods_on_listed_nodes(nodes: pd.DataFrame, pods: pd.DataFrame) -> np.ndarray:
    """Whether each pod row's (timestamp, node) is a row of nodes, compared as integers (seconds, node number)."""
    names = pd.Index(pd.unique(nodes["node"].to_numpy()))
    pod_codes, pod_names = pd.factorize(pods["node"])
    pod_node = (
        names.get_indexer(np.asarray(pod_names, dtype=object))[pod_codes] if len(pod_names) else pod_codes
    )
    width = len(names) + 1
    listed = _seconds(nodes["timestamp"]) * width + names.get_indexer(nodes["node"].to_numpy())
    return pd.Index(_seconds(pods["timestamp"]) * width + pod_node).isin(listed) & (pod_node >= 0)


def _seconds(stamps: pd.Series) -> np.ndarray:
    # The reader's times are UTC (tz-aware): without the zone they are the instants' UTC wall times.
    return stamps.dt.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64)


# --- files ------------------------------------------------------------------------------------------------


_CSV_OPTIONS = {
    "keep_default_na": False,
    "na_filter": False,
    "encoding": "utf-8-sig",
    "skipinitialspace": False,
}
# Pod columns of measured usage: nearly every value differs, so they are read as numbers by the CSV parser
# (see _read_floats) instead of as text that is then converted one value at a time.
_USAGE_FLOATS = ("cpu_usage_cores", "memory_usage_bytes")


def _read(
    path: Path, required: list[str], optional: list[str], floats: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, _Errors]:
    """The file's columns as text (object arrays), each `floats` column as float64 where its values are all
    plain non-negative numbers (else as text too: _numbers then reads it value by value and names the bad one).
    """
    frame = _read_floats(path, floats) if floats else None
    if frame is None:
        frame = _read_text(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    for column in required:
        if column not in frame.columns:
            raise SampleFileError(path, 1, column, "missing column")
    for column in frame.columns:
        if column not in required and column not in optional:
            raise SampleFileError(
                path, 1, column, f"unknown column (expected {', '.join(required + optional)})"
            )
    if frame.columns.duplicated().any():
        raise SampleFileError(path, 1, frame.columns[frame.columns.duplicated()][0], "column given twice")
    return frame, _Errors(path, list(frame.columns))


def _read_text(path: Path, usecols: list[str] | None = None) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=object, usecols=usecols, **_CSV_OPTIONS)
    except FileNotFoundError:
        raise SampleFileError(path, 0, "-", "no such file") from None
    except UnicodeDecodeError:
        raise SampleFileError(path, 0, "-", "not UTF-8 text") from None
    except pd.errors.EmptyDataError:
        raise SampleFileError(path, 1, "-", "the file is empty (a header line is required)") from None
    except pd.errors.ParserError as error:
        raise SampleFileError(path, 0, "-", f"not a CSV file ({error})") from None


def _read_floats(path: Path, floats: tuple[str, ...]) -> pd.DataFrame | None:
    """The file with its `floats` columns parsed as float64 by the CSV parser itself, the others as text; None
    when that cannot be done (a value that is no plain number, a file that does not parse: the text read then
    tells what is wrong, as it always did).

    The parser takes what to_numeric takes (the same doubles), and also inf, nan-free forms of it and the words
    true/false (as 1 and 0), which are not numbers here: a float column with a value that is not finite, is
    negative, or is exactly 0 or 1 (which a word may have given) is read again as text, so that it goes
    through the checks of every other column.
    """
    try:
        header = pd.read_csv(path, nrows=0, **_CSV_OPTIONS).columns
    except Exception:  # the text read raises the same fault with its message
        return None
    wanted = {str(c).strip(): c for c in header}
    if len(wanted) != len(header):
        return None
    numeric = {wanted[c] for c in floats if c in wanted}
    if not numeric:
        return None
    try:
        frame = pd.read_csv(
            path, dtype={c: (np.float64 if c in numeric else object) for c in header}, **_CSV_OPTIONS
        )
    except Exception:  # as above
        return None
    for column in numeric:
        values = frame[column].to_numpy()
        if not (np.isfinite(values).all() and (values > 0).all() and (values != 1).all()):
            frame[column] = _read_text(path, usecols=[column])[column].to_numpy()
        else:
            frame[column] = values + 0.0  # a plain float64 array of its own
    return frame


def _read_nodes(path: Path) -> pd.DataFrame:
    raw, errors = _read(path, NODE_FILE_COLUMNS, NODE_OPTIONAL)
    out = pd.DataFrame({"timestamp": _timestamps(raw["timestamp"], errors)})
    out["node"] = _text(raw["node"], "node", errors, required=True, kubernetes="node")
    out["node_pool"] = _text(raw["node_pool"], "node_pool", errors, longest=_STORED["node_pool"])
    out["provider_id"] = _text(raw["provider_id"], "provider_id", errors, longest=_STORED["provider_id"])
    out["instance_type"] = (
        _text(raw["instance_type"], "instance_type", errors, longest=_STORED["instance_type"])
        if "instance_type" in raw
        else ""
    )
    out["cpu_capacity_cores"], _ = _numbers(raw["cpu_capacity_cores"], "cpu_capacity_cores", errors)
    out["memory_capacity_bytes"], _ = _numbers(raw["memory_capacity_bytes"], "memory_capacity_bytes", errors)
    out["labels"] = _labels(raw["labels"], errors) if "labels" in raw else "{}"
    if "gpu_capacity_devices" in raw:
        out["gpu_capacity_devices"], _ = _numbers(
            raw["gpu_capacity_devices"], "gpu_capacity_devices", errors, blank_ok=True
        )
    errors.raise_first()
    _no_duplicates(out, ["timestamp", "node"], "node", errors, "node {} is listed twice at this timestamp")
    return out


def _read_pods(path: Path) -> pd.DataFrame:
    raw, errors = _read(path, POD_FILE_COLUMNS, POD_OPTIONAL, _USAGE_FLOATS)
    per_container = "container" in raw
    if not per_container and (extra := next((c for c in CONTAINER_ONLY if c in raw), None)):
        raise SampleFileError(path, 1, extra, "only a file with a container column may have this column")
    out = pd.DataFrame({"timestamp": _timestamps(raw["timestamp"], errors)})
    coded: dict[str, tuple[np.ndarray, list[str]]] = {}  # column -> (code of each row, distinct values)
    for column in ("namespace", "pod", "node"):
        out[column], *coded[column] = _text_coded(
            raw[column], column, errors, required=True, kubernetes=column
        )
    if "pod_uid" in raw:
        out["pod_uid"], *coded["pod_uid"] = _text_coded(
            raw["pod_uid"], "pod_uid", errors, longest=_STORED["pod_uid"]
        )
    else:
        out["pod_uid"] = ""
    out["owner_kind"], *coded["owner_kind"] = _text_coded(raw["owner_kind"], "owner_kind", errors)
    out["owner_name"], *coded["owner_name"] = _text_coded(raw["owner_name"], "owner_name", errors)
    _check_owners(coded["owner_kind"], coded["owner_name"], errors)
    out["cpu_request_cores"], _ = _numbers(raw["cpu_request_cores"], "cpu_request_cores", errors)
    out["memory_request_bytes"], _ = _numbers(raw["memory_request_bytes"], "memory_request_bytes", errors)
    out["cpu_usage_cores"], cpu_blank = _numbers(
        raw["cpu_usage_cores"], "cpu_usage_cores", errors, blank_ok=True
    )
    out["memory_usage_bytes"], mem_blank = _numbers(
        raw["memory_usage_bytes"], "memory_usage_bytes", errors, blank_ok=True
    )
    one_blank = np.flatnonzero(cpu_blank != mem_blank)
    if len(one_blank):
        row = int(one_blank[0])
        errors.at(
            row,
            "cpu_usage_cores" if cpu_blank[row] else "memory_usage_bytes",
            "empty while the other usage is not: leave both empty for a pod without metrics",
        )
    out["labels"] = _labels(raw["labels"], errors) if "labels" in raw else "{}"
    out["has_metrics"] = ~(cpu_blank & mem_blank)
    # GPU devices (a MIG slice as its fraction, docs/cost-model.md, GPUs); empty is 0.
    for column in ("gpu_request_devices", "gpu_usage_devices"):
        if column in raw:
            out[column], _ = _numbers(raw[column], column, errors, blank_ok=True)
    if "claims" in raw:
        out["claims"] = _text(raw["claims"], "claims", errors)
    if per_container:
        coded["container"] = _read_container_columns(raw, out, errors)
    errors.raise_first()
    if "pod_uid" not in raw or (out["pod_uid"] == "").any():
        _default_uids(out, coded, errors)
    uid_codes, uids = coded["pod_uid"]
    key = pd.factorize(_seconds(out["timestamp"]))[0].astype(np.int64) * len(uids) + uid_codes
    if per_container:
        container_codes, containers = coded["container"]
        dup = _duplicated(key * len(containers) + container_codes)
        errors.where(
            dup,
            "container",
            lambda row: (
                f"pod|container {uids[uid_codes[row]] + '|' + containers[container_codes[row]]!r} "
                "is listed twice at this timestamp"
            ),
        )
        errors.raise_first()
        _same_pod_attributes(out, errors)
    else:
        errors.where(
            _duplicated(key),
            "pod",
            lambda row: f"pod {uids[uid_codes[row]]!r} is listed twice at this timestamp",
        )
        errors.raise_first()
    return out


def _default_uids(out: pd.DataFrame, coded: dict[str, tuple[np.ndarray, list[str]]], errors: _Errors) -> None:
    """A pod without a pod_uid is known as namespace/pod (refused when longer than the database keeps)."""
    uid = out["pod_uid"].to_numpy(dtype=object) if "pod_uid" in coded else None
    blank_uid = np.ones(len(out), bool) if uid is None else uid == ""
    codes, pairs = _distinct_pairs(coded["namespace"], coded["pod"])
    pair_names = [f"{namespace}/{pod}" for namespace, pod in pairs]
    longest = _STORED["pod_uid"]
    long = {i: len(name) for i, name in enumerate(pair_names) if len(name) > longest}
    rows = np.flatnonzero(blank_uid & np.isin(codes, list(long))) if long else []
    if len(rows):
        row = int(rows[0])
        errors.at(
            row,
            "pod",
            f"namespace/pod is {long[int(codes[row])]} characters, more than the {longest} a pod's "
            "identity may have: give the pod's uid in a pod_uid column",
        )
        errors.raise_first()
    if uid is None:  # namespace/pod pairs are distinct names (neither has a "/")
        out["pod_uid"], coded["pod_uid"] = _categorical(codes, pair_names), (codes, pair_names)
    else:
        coded["pod_uid"] = _distinct(np.where(blank_uid, np.array(pair_names, dtype=object)[codes], uid))
        out["pod_uid"] = _categorical(*coded["pod_uid"])


def _duplicated(keys: np.ndarray) -> np.ndarray:
    """Whether each integer key was seen in an earlier row."""
    return pd.Series(keys, copy=False).duplicated().to_numpy()


def _read_container_columns(
    raw: pd.DataFrame, out: pd.DataFrame, errors: _Errors
) -> tuple[np.ndarray, list[str]]:
    """A file of one row per container: its name, init flag (default false) and limits (empty: none).
    Returns the code of each row's container name and the distinct names."""
    out["container"], *coded = _text_coded(
        raw["container"], "container", errors, required=True, kubernetes="container"
    )
    if "init" in raw:
        codes, uniques = _distinct(raw["init"])
        bad = {
            i: f"not true or false: {u!r}" for i, u in enumerate(uniques) if u.lower() not in _TRUE | _FALSE
        }
        if first := _first(codes, bad):
            errors.at(first[0], "init", first[1])
        out["init"] = np.array([u.lower() in _TRUE for u in uniques], dtype=bool)[codes] if uniques else False
    else:
        out["init"] = False
    for column in ("cpu_limit_cores", "memory_limit_bytes"):
        out[column] = _numbers(raw[column], column, errors, blank_ok=True)[0] if column in raw else 0.0
    return coded[0], coded[1]


def _same_pod_attributes(out: pd.DataFrame, errors: _Errors) -> None:
    """The container rows of one pod at one timestamp must agree on where the pod ran and who owns it."""
    grouped = out.groupby(["timestamp", "pod_uid"], sort=False)
    for column in ("node", "owner_kind", "owner_name"):
        differs = (out[column] != grouped[column].transform("first")).to_numpy()
        errors.where(
            differs,
            column,
            lambda row, column=column: (
                f"pod {out['pod_uid'].iat[row]} has another {column} in an earlier row of the same timestamp"
            ),
        )
    errors.raise_first()


def read_volume_file(path: Path | str) -> pd.DataFrame:
    """The PersistentVolumes of volumes.csv in the recorder's VOLUME_COLUMNS, or SampleFileError for the first
    bad field. Disk ids are brought to costing.volumes.normalise_disk_id's form (as the bill's are)."""
    path = Path(path)
    raw, errors = _read(path, VOLUME_FILE_COLUMNS, VOLUME_OPTIONAL)
    out = pd.DataFrame({"timestamp": _timestamps(raw["timestamp"], errors)})
    out["volume"] = _text(raw["volume"], "volume", errors, required=True, kubernetes="node")
    out["phase"] = _text(raw["phase"], "phase", errors, required=True)
    if "capacity_bytes" in raw:
        out["capacity_bytes"], _ = _numbers(raw["capacity_bytes"], "capacity_bytes", errors, blank_ok=True)
    else:
        out["capacity_bytes"] = 0.0
    for column, kind in (("claim_namespace", "namespace"), ("claim_name", "node")):
        out[column] = _text(raw[column], column, errors, kubernetes=kind) if column in raw else ""
    for column in ("driver", "storage_class"):
        out[column] = _text(raw[column], column, errors, longest=253) if column in raw else ""
    disks = _text(raw["disk_id"], "disk_id", errors, longest=1000) if "disk_id" in raw else None
    out["disk_id"] = [normalise_disk_id(d) for d in disks] if disks is not None else ""
    half = (out["claim_namespace"] == "") != (out["claim_name"] == "")
    errors.where(half.to_numpy(), "claim_name", "give both claim_namespace and claim_name, or neither")
    errors.raise_first()
    _no_duplicates(
        out, ["timestamp", "volume"], "volume", errors, "volume {} is listed twice at this timestamp"
    )
    return out


def _read_namespaces(path: Path) -> pd.DataFrame:
    raw, errors = _read(path, NAMESPACE_FILE_COLUMNS, NAMESPACE_OPTIONAL)
    out = pd.DataFrame(
        {"namespace": _text(raw["namespace"], "namespace", errors, required=True, kubernetes="namespace")}
    )
    out["labels"] = _labels(raw["labels"], errors) if "labels" in raw else "{}"
    errors.raise_first()
    dup = out.duplicated("namespace").to_numpy()
    errors.where(dup, "namespace", lambda row: f"namespace {out['namespace'].iat[row]} is listed twice")
    errors.raise_first()
    return out


# --- columns ----------------------------------------------------------------------------------------------


def _distinct(column) -> tuple[np.ndarray, list[str]]:
    """(code of each row, distinct values stripped of blanks): checks then run once per distinct value.
    Values that differ only in their blanks share one code."""
    codes, uniques = pd.factorize(np.asarray(column, dtype=object), use_na_sentinel=False)
    stripped = [str(u).strip() for u in uniques]
    if len(set(stripped)) < len(stripped):
        remap, distinct = pd.factorize(np.asarray(stripped, dtype=object))
        return remap[codes], list(distinct)
    return codes, stripped


def _first(codes: np.ndarray, bad: dict[int, str]) -> tuple[int, str] | None:
    """The first row whose distinct value is bad, and why."""
    if not bad:
        return None
    row = int(np.flatnonzero(np.isin(codes, list(bad)))[0])
    return row, bad[int(codes[row])]


def _timestamps(column: pd.Series, errors: _Errors) -> pd.Series:
    # Few distinct instants (one per slot): parse those, then spread them.
    codes, uniques = _distinct(column)
    parsed = pd.to_datetime(pd.Series(uniques, dtype=object), format="ISO8601", utc=True, errors="coerce")
    bad = {
        i: f"not an ISO 8601 time: {uniques[i]!r}" for i in np.flatnonzero(parsed.isna().to_numpy()).tolist()
    }
    if first := _first(codes, bad):
        errors.at(first[0], "timestamp", first[1])
    values = parsed.dt.tz_localize(None).dt.floor("s").to_numpy()[codes]
    return pd.Series(pd.DatetimeIndex(values).tz_localize(UTC))


def _text(column: pd.Series, name: str, errors: _Errors, **checks) -> np.ndarray:
    return _text_coded(column, name, errors, **checks)[0]


def _text_coded(
    column: pd.Series,
    name: str,
    errors: _Errors,
    *,
    required: bool = False,
    kubernetes: str | None = None,
    longest: int | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The column's values stripped; `kubernetes`: the kind of object (namespace, pod, node) they name, whose
    naming rules they must follow: a name Kubernetes refuses cannot be real, and breaks the pages' links.
    `longest`: the most characters the database keeps."""
    codes, uniques = _distinct(column)
    if required and (first := _first(codes, {i: "empty" for i, u in enumerate(uniques) if not u})):
        errors.at(first[0], name, first[1])
    if longest and (
        first := _first(
            codes,
            {
                i: f"{len(u)} characters, more than the {longest} kept"
                for i, u in enumerate(uniques)
                if len(u) > longest
            },
        )
    ):
        errors.at(first[0], name, first[1])
    if kubernetes:
        bad = {i: why for i, u in enumerate(uniques) if u and (why := name_problem(kubernetes, u))}
        if first := _first(codes, bad):
            errors.at(first[0], name, first[1])
    return _categorical(codes, uniques), codes, uniques


def _categorical(codes: np.ndarray, distinct: list[str]) -> pd.Categorical:
    """A text column as codes and distinct values (the recorder works on the codes: no text hashed again)."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(distinct, dtype=object))


def _check_owners(
    kinds: tuple[np.ndarray, list[str]], names: tuple[np.ndarray, list[str]], errors: _Errors
) -> None:
    # The rule depends on the pair (a Job's name is shorter than a Deployment's).
    codes, pairs = _distinct_pairs(kinds, names)
    bad = {i: why for i, (kind, name) in enumerate(pairs) if (why := owner_problem(kind, name))}
    if first := _first(codes, bad):
        row, why = first
        kind = pairs[int(codes[row])][0]
        errors.at(row, "owner_name" if kind and not kind_problem(kind) else "owner_kind", why)


def _distinct_pairs(
    first: tuple[np.ndarray, list[str]], second: tuple[np.ndarray, list[str]]
) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """(code of each row, distinct (first, second) pairs) from each column's (codes, distinct values):
    per-pair work then runs once per pair."""
    (first_codes, first_values), (second_codes, second_values) = first, second
    width = len(second_values) + 1
    codes, pairs = pd.factorize(first_codes.astype(np.int64) * width + second_codes)
    return codes, [(first_values[p // width], second_values[p % width]) for p in pairs]


def _numbers(
    column: pd.Series, name: str, errors: _Errors, *, blank_ok: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(values, blank) of a numeric column: plain numbers the fast way, Kubernetes quantities through
    parse_quantity, each distinct text parsed once. A float64 column (_read_floats) is checked already."""
    if column.dtype == np.float64:
        return column.to_numpy(), np.zeros(len(column), dtype=bool)
    head = column.iloc[:4096]
    if len(column) > len(head) and head.nunique() * 4 <= len(head):
        # Few distinct values (requests, capacities): parse those only.
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        values, blank, bad = _number_values(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
        values, blank = values[codes], blank[codes]
        first = _first(codes, bad)
    else:
        values, blank, bad = _number_values(column)
        first = (min(bad), bad[min(bad)]) if bad else None
    if first:
        errors.at(first[0], name, first[1])
    if not blank_ok:
        errors.where(blank, name, "empty")
    return values, blank


def _number_values(texts: pd.Series) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """(values, blank, {position: reason}) for each text; blanks are 0."""
    values = pd.to_numeric(texts, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    blank = np.zeros(len(values), dtype=bool)
    bad: dict[int, str] = {}
    others = np.flatnonzero(np.isnan(values))
    if len(others):
        codes, uniques = pd.factorize(texts.iloc[others], use_na_sentinel=False)
        parsed = np.zeros(len(uniques))
        empty = np.zeros(len(uniques), dtype=bool)
        reasons: dict[int, str] = {}
        for i, raw in enumerate(uniques):
            text = str(raw).strip()
            if not text:
                empty[i] = True
                continue
            try:
                parsed[i] = float(parse_quantity(text))
            except QuantityError as error:
                reasons[i] = _quantity_reason(text, error)
        values[others] = parsed[codes]
        blank[others] = empty[codes]
        if first := _first(codes, reasons):
            bad[int(others[first[0]])] = first[1]
    infinite = np.flatnonzero(~np.isfinite(values))
    if len(infinite):
        bad.setdefault(int(infinite[0]), f"not a finite number: {texts.iat[int(infinite[0])]!r}")
    negative = np.flatnonzero(values < 0)
    if len(negative):
        bad.setdefault(int(negative[0]), f"negative: {texts.iat[int(negative[0])]!r}")
    return values, blank, bad


_SUFFIXED = re.compile(r"[+-]?[0-9]*\.?[0-9]+(?P<suffix>[A-Za-z]+)")
_KNOWN_SUFFIXES = " ".join(s for s in [*DECIMAL_SUFFIXES, *BINARY_SUFFIXES] if s)


def _quantity_reason(text: str, error: QuantityError) -> str:
    match = _SUFFIXED.fullmatch(text)
    if match and match["suffix"] not in DECIMAL_SUFFIXES and match["suffix"] not in BINARY_SUFFIXES:
        return f"unknown suffix {match['suffix']!r} in {text!r} (known: {_KNOWN_SUFFIXES})"
    return f"{error.reason}: {text!r}"


def _labels(column: pd.Series, errors: _Errors) -> np.ndarray:
    """Each labels field as canonical JSON text of a {string: string} object ("" is {})."""
    codes, uniques = _distinct(column)
    canonical = []
    bad: dict[int, str] = {}
    for i, text in enumerate(uniques):
        value = {}
        if text:
            try:
                value = json.loads(text)
            except ValueError:
                bad[i] = f"not JSON: {text[:60]!r}"
            else:
                if not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
                    bad[i] = 'not a JSON object of strings, e.g. {"team": "shop"}'
        canonical.append("{}" if i in bad else json.dumps(value, sort_keys=True, separators=(",", ":")))
    if first := _first(codes, bad):
        errors.at(first[0], "labels", first[1])
    return np.asarray(canonical, dtype=object)[codes] if canonical else np.array([], dtype=object)


def _no_duplicates(frame: pd.DataFrame, keys: list[str], column: str, errors: _Errors, message: str) -> None:
    dup = frame.duplicated(keys).to_numpy()
    errors.where(dup, column, lambda row: message.format(repr(frame[keys[1]].iat[row])))
    errors.raise_first()
