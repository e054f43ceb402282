"""A small client of the Prometheus HTTP API (Prometheus 2.x/3.x, Thanos Query, VictoriaMetrics): instant and
range queries, metric names, and one clear error per failure."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import requests

__all__ = [
    "MAX_POINTS",
    "Matrix",
    "PrometheusClient",
    "PrometheusError",
    "Series",
    "TooManySamples",
]

# Prometheus refuses a range query of more than 11,000 points per series (api/v1: "exceeded maximum
# resolution"); VictoriaMetrics has its own limit (-search.maxPointsPerTimeseries, 30,000 by default).
MAX_POINTS = 11_000
# What servers say when a query would load too many samples or points: Prometheus and Thanos
# ("query processing would load too many samples into memory"), VictoriaMetrics (-search.maxSamplesPerQuery,
# -search.maxPointsPerTimeseries), and the resolution limit.
_TOO_MANY = (
    "too many samples",
    "maxsamplesperquery",
    "maxpointspertimeseries",
    "maximum resolution",
    "too many points",
)


class PrometheusError(Exception):
    """A request the server did not answer as asked; the message says what and how to fix it."""


class TooManySamples(PrometheusError):
    """The server refused a query for its size: a shorter time range may pass."""


@dataclass(slots=True)
class Series:
    """One series of a range query: its labels, evaluation times (Unix seconds) and values."""

    labels: dict[str, str]
    times: np.ndarray
    values: np.ndarray


@dataclass(slots=True)
class Matrix:
    """The series of a range query, flat: series i holds points [offsets[i], offsets[i] + counts[i])."""

    labels: list[dict[str, str]]
    counts: np.ndarray
    times: np.ndarray
    values: np.ndarray


class PrometheusClient:
    """Talks to one Prometheus-compatible server. Credentials: a bearer token or a user and password."""

    def __init__(
        self,
        url: str,
        *,
        token: str = "",
        username: str = "",
        password: str = "",
        ca_file: str | None = None,
        verify: bool = True,
        timeout: float = 60.0,
    ):
        if not url.startswith(("http://", "https://")):
            raise PrometheusError(f"Prometheus URL {url!r} must start with http:// or https://")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"
        elif username:
            self._session.auth = (username, password)
        self._session.verify = ca_file if (ca_file and verify) else verify

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- queries ---------------------------------------------------------------------------------------
    def query_range(self, expr: str, start: float, end: float, step: float) -> Matrix:
        """Evaluate `expr` at start, start + step, ... end (Unix seconds)."""
        if (end - start) / step + 1 > MAX_POINTS:
            raise TooManySamples(f"{(end - start) / step + 1:.0f} points per series, more than {MAX_POINTS}")
        # nocache: VictoriaMetrics otherwise moves the start of a range of 50 points or more down to a
        # multiple of the step (for its cache): the points would fall on the slots' edges and one more before
        # the first slot. Prometheus and Thanos ignore the parameter.
        data = self._get(
            "/api/v1/query_range",
            {"query": expr, "start": _fmt(start), "end": _fmt(end), "step": _fmt(step), "nocache": "1"},
            expr,
        )
        return _matrix(data.get("result") or ())

    def query(self, expr: str, time: float) -> list[Series]:
        """Evaluate `expr` once, at `time` (Unix seconds)."""
        data = self._get("/api/v1/query", {"query": expr, "time": _fmt(time)}, expr)
        if data.get("resultType") != "vector":
            raise PrometheusError(f"query {expr!r} returned a {data.get('resultType')}, not a vector")
        return [_series(item, "value") for item in data.get("result") or ()]

    def metric_names(self, selectors: list[str], start: float, end: float) -> set[str]:
        """Names of the metrics with a series matching one of `selectors` (e.g. 'kube_pod_info{cluster="prod"}')
        in [start, end]: read from the index, without loading samples."""
        data = self._get(
            "/api/v1/label/__name__/values",
            {"match[]": list(selectors), "start": _fmt(start), "end": _fmt(end)},
            ", ".join(selectors),
        )
        return set(data or ())

    # --- transport -------------------------------------------------------------------------------------
    def _get(self, path: str, params: dict, what: str):
        url = self.url + path
        # Thanos Query answers with what the stores it reached hold unless told not to: a slot read from half
        # the stores would be recorded as complete. Prometheus and VictoriaMetrics ignore the parameter.
        params = {**params, "partial_response": "false"}
        try:
            response = self._session.get(url, params=params, timeout=self.timeout)
        except requests.exceptions.SSLError:
            raise PrometheusError(
                f"TLS error talking to Prometheus at {self.url}: give its CA (--ca-file) or, for a test "
                "server only, --insecure-skip-tls-verify"
            ) from None
        except requests.exceptions.Timeout:
            raise PrometheusError(
                f"Prometheus at {self.url} did not answer within {self.timeout:g} s; check the URL, or "
                "import a shorter range"
            ) from None
        except requests.exceptions.ConnectionError:
            raise PrometheusError(
                f"cannot connect to Prometheus at {self.url}: check the URL (scheme, host, port) and that "
                "the server is up and reachable from here"
            ) from None
        except requests.exceptions.RequestException as error:
            raise PrometheusError(
                f"request to Prometheus at {self.url} failed ({type(error).__name__})"
            ) from None
        return self._body(response, what)

    def _body(self, response: requests.Response, what: str):
        status = response.status_code
        if status == 401:
            raise PrometheusError(
                f"Prometheus at {self.url} rejected the credentials (HTTP 401): give a valid --token-file or "
                "--user and --password-file"
            )
        if status == 403:
            raise PrometheusError(
                f"Prometheus at {self.url} refused the query (HTTP 403): the credentials may not read it"
            )
        # VictoriaMetrics answers a path it does not serve with HTTP 400 "unsupported path requested".
        if status == 404 or (status == 400 and "unsupported path" in response.text[:1000]):
            raise PrometheusError(
                f"{response.url.split('?')[0]} is not found (HTTP {status}): give the URL of the Prometheus HTTP API's "
                "root (e.g. http://prometheus:9090 or the Thanos Query / VictoriaMetrics select URL), without /api/v1"
            )
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(
                f"Prometheus at {self.url} answered HTTP {status} with something that is not its JSON API: "
                "is the URL that of Prometheus?"
            ) from None
        if not isinstance(body, dict):
            raise PrometheusError(f"Prometheus at {self.url} answered with unexpected JSON")
        if body.get("status") != "success":
            message = str(body.get("error") or f"HTTP {status}")
            if any(mark in message.lower() for mark in _TOO_MANY):
                raise TooManySamples(message)
            raise PrometheusError(f"Prometheus refused {what!r}: {message}")
        return body.get("data")


def _fmt(value: float) -> str:
    # Millisecond resolution, as the server keeps it; never the exponent notation of a float's str().
    return f"{value:.3f}"


def _series(item: dict, key: str) -> Series:
    labels = item.get("metric") or {}
    points = item.get(key) or []
    if key == "value":
        points = [points] if points else []
    times = np.fromiter((float(p[0]) for p in points), dtype=np.float64, count=len(points))
    values = np.fromiter((_number(p[1]) for p in points), dtype=np.float64, count=len(points))
    return Series(labels=labels, times=times, values=values)


def _matrix(result) -> Matrix:
    # One pass over the points of every series, converted by numpy at once: a chunk holds millions.
    labels = [item.get("metric") or {} for item in result]
    counts = np.fromiter(
        (len(item.get("values") or ()) for item in result), dtype=np.int64, count=len(result)
    )
    total = int(counts.sum())
    times = np.fromiter(
        (p[0] for item in result for p in item.get("values") or ()), dtype=np.float64, count=total
    )
    values = np.array([p[1] for item in result for p in item.get("values") or ()], dtype=np.float64)
    values[~np.isfinite(values)] = np.nan
    return Matrix(labels=labels, counts=counts, times=times, values=values)


def _number(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else math.nan
