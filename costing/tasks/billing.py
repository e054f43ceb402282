"""Tasks that bring bills in."""

from __future__ import annotations

import logging
from pathlib import Path

from celery import shared_task

from costing.billing.importer import import_bill as import_bill_file
from costing.choices import RunStatus
from costing.models import BillImport

log = logging.getLogger(__name__)


@shared_task(name="costing.import_bill", ignore_result=True, acks_late=True)
def import_bill(bill_import_id: int) -> str:
    """Import an uploaded bill file (BillImport.stored_path); a finished import is left as it is.

    Safe to run twice: a delivery after a worker crash finds the import pending or running and runs it
    again, and the import replaces its own period's lines in one transaction. No retry: a bad file stays
    bad, and the outcome (with the error) is recorded on the BillImport.
    """
    record = BillImport.objects.filter(pk=bill_import_id).select_related("uploaded_by").first()
    if record is None:
        log.warning("bill import %s does not exist", bill_import_id)
        return "missing"
    if record.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        return record.status
    record = import_bill_file(Path(record.stored_path), record.format, bill_import=record)
    return record.status
