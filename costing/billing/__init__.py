"""Bill importers: FOCUS and Huawei CBC files in, validated canonical bill lines out."""

from costing.billing.errors import BillError
from costing.billing.lines import CANONICAL_COLUMNS
from costing.billing.reader import BillReader, read_bill

__all__ = ["CANONICAL_COLUMNS", "BillError", "BillReader", "read_bill"]
