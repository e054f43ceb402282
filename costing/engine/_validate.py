"""Input checks shared by the engine's functions: errors name the frame, the row and the column."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


class EngineInputError(ValueError):
    """A frame handed to the engine is not what the cost model needs."""


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise EngineInputError(f"{name}: missing column(s) {', '.join(missing)}")


def _first_bad(bad: np.ndarray) -> int:
    return int(np.flatnonzero(bad)[0])


def require_finite(
    frame: pd.DataFrame, columns: Iterable[str], *, name: str, non_negative: bool = False
) -> None:
    """Every value of `columns` is a finite number (and >= 0 when asked), else the first bad row is named."""
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            pos = _first_bad(bad)
            raise EngineInputError(
                f"{name}: row {frame.index[pos]!r}, column {column}: "
                f"{_shown(frame[column].iloc[pos])!r} is not a finite number"
            )
        if non_negative and (values < 0).any():
            pos = _first_bad(values < 0)
            raise EngineInputError(
                f"{name}: row {frame.index[pos]!r}, column {column}: {_shown(values[pos])!r} is negative"
            )


def _shown(value):
    """A numpy scalar as its Python value, so a message reads -0.04 rather than np.float64(-0.04)."""
    return value.item() if isinstance(value, np.generic) else value


def require_utc_hours(frame: pd.DataFrame, column: str, *, name: str) -> None:
    """The hour column holds tz-aware UTC timestamps on the hour: the accounting unit of the model."""
    values = frame[column]
    if not isinstance(values.dtype, pd.DatetimeTZDtype) or str(values.dtype.tz) != "UTC":
        raise EngineInputError(
            f"{name}: column {column}: dtype {values.dtype} is not a tz-aware UTC timestamp"
        )
    off_hour = (values != values.dt.floor("h")).to_numpy()
    if off_hour.any():
        pos = _first_bad(off_hour)
        raise EngineInputError(
            f"{name}: row {frame.index[pos]!r}, column {column}: {values.iloc[pos]} is not on the hour"
        )


def require_unique(frame: pd.DataFrame, keys: list[str], *, name: str) -> None:
    duplicated = frame.duplicated(keys, keep="first").to_numpy()
    if duplicated.any():
        pos = _first_bad(duplicated)
        key = tuple(frame[keys].iloc[pos])
        raise EngineInputError(
            f"{name}: row {frame.index[pos]!r}: ({', '.join(keys)}) = {key!r} appears more than once"
        )
