"""Text cells that a spreadsheet could read as a formula are quoted (OWASP CSV injection guidance)."""

from __future__ import annotations

# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """`value` with a leading single quote when it would start a formula; other text is left alone.

    Only text goes through here: numbers are written as numbers, so a negative amount stays numeric.
    """
    if value and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_cell(value):
    """A cell value ready for a renderer: text made safe, anything else unchanged."""
    return safe_text(value) if isinstance(value, str) else value
