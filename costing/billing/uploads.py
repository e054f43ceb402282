"""Bills uploaded through the web or the API: keep the file for the worker, record it, queue its import."""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.db import transaction

from costing.billing.errors import BillError
from costing.billing.reader import check_header
from costing.models import BillImport


def store_upload(upload, fmt: str, *, user, account: str = "") -> BillImport:
    """Write the uploaded file under MEDIA_ROOT/bills/ (a name of our own: never the client's path), create
    its BillImport and queue `costing.import_bill` once the row is committed, so the worker finds it.

    The header is checked first: a file that cannot be read or lacks a required column raises BillError,
    naming the file as uploaded, and nothing is kept nor queued (the page and the API answer at once).
    """
    from costing.tasks.billing import import_bill

    folder = settings.MEDIA_ROOT / "bills"
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", upload.name)[-150:] or "bill.csv"
    path = folder / f"{uuid.uuid4().hex}-{safe}"
    with open(path, "wb") as out:
        for piece in upload.chunks():
            out.write(piece)
    try:
        check_header(path, fmt, account_id=account or None)
    except BillError as exc:
        path.unlink(missing_ok=True)
        raise exc.renamed(upload.name) from None
    with transaction.atomic():
        record = BillImport.objects.create(
            file_name=upload.name[:500],
            format=fmt,
            cbc_account_id=account or "",
            stored_path=str(path),
            uploaded_by=user,
        )
        import_bill.delay_on_commit(record.pk)
    return record
