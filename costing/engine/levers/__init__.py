"""Capacity levers: what to change to get idle money back (docs/optimise.md). Pure functions over DataFrames.

frames: the inputs; capacity: reclaimable capacity by hour of day (oversubscription); packing: nodes needed
by bin packing; cronhpa: replica schedules for daily cycles; payperuse: the serverless what-if; savings: the
one list that ranks them all and counts each money once.
"""

from costing.engine.levers.cronhpa import CronHPAPolicy
from costing.engine.levers.frames import ADVICE_COLUMNS, NODE_COLUMNS, POD_COLUMNS
from costing.engine.levers.payperuse import PriceSheet
from costing.engine.levers.savings import LEVERS, OVERLAPS, SAVINGS_COLUMNS, Levers, optimise

__all__ = [
    "ADVICE_COLUMNS",
    "LEVERS",
    "NODE_COLUMNS",
    "OVERLAPS",
    "POD_COLUMNS",
    "SAVINGS_COLUMNS",
    "CronHPAPolicy",
    "Levers",
    "PriceSheet",
    "optimise",
]
