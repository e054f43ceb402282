"""Beat's scheduler: django-celery-beat's DatabaseScheduler, made to outlive a database outage.

The stock scheduler logs a failed read of the schedule with a traceback at every tick and goes on with
the schedule it has, but a database error while it reads the schedule in full (at start, and every
5 minutes) escapes its tick and `celery beat` exits: nothing is sampled again until someone restarts
it. This one logs the outage once, sends nothing while the database is down (a run could not record
anything), tries the database again at every tick and, once it answers, saves the last-run times it
kept and reads the whole schedule anew. The slots not sent meanwhile become gaps through the sweep of
missed slots (costing.sweep_missed_slots).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections, connection, transaction
from django_celery_beat import schedulers
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

_DATABASE_ERRORS = (DatabaseError, InterfaceError)


class ResilientDatabaseScheduler(DatabaseScheduler):
    """A DatabaseScheduler that waits out a database outage instead of exiting."""

    def __init__(self, *args, **kwargs):
        self._database_down = False
        self._setup_pending = False
        self.full_sync_seconds = settings.FINOPS_BEAT_FULL_SYNC_SECONDS
        super().__init__(*args, **kwargs)

    def setup_schedule(self) -> None:
        try:
            super().setup_schedule()
        except _DATABASE_ERRORS as error:
            # Beat started while the database was down: set up at the first tick that reaches it.
            self._setup_pending = True
            self._went_down(error)

    def tick(self, *args, **kwargs) -> float:
        if self._database_down and not self._database_answers():
            return self.max_interval
        try:
            if self._setup_pending:
                super().setup_schedule()
                self._setup_pending = False
            self._force_full_sync_when_due()
            return super().tick(*args, **kwargs)
        except _DATABASE_ERRORS as error:
            self._went_down(error)
            return self.max_interval

    def schedule_changed(self) -> bool:
        # The stock method swallows a database error here (logging it at every tick); letting it reach
        # tick() is what makes beat wait for the database and log the outage once.
        close_old_connections()
        with contextlib.suppress(transaction.TransactionManagementError):  # not in a transaction
            transaction.commit()
        last, ts = self._last_timestamp, self.Changes.last_change()
        self._last_timestamp = ts
        return bool(ts and ts > (last or ts))

    def sync(self) -> None:
        # While the database is down the last-run times stay dirty, to be saved once it is back.
        if not self._database_down:
            super().sync()

    def _force_full_sync_when_due(self) -> None:
        # The stock scheduler reads the schedule in full every SCHEDULE_SYNC_MAX_INTERVAL seconds; a
        # shorter FINOPS_BEAT_FULL_SYNC_SECONDS (tests) moves its last full read back to make it due.
        stock = schedulers.SCHEDULE_SYNC_MAX_INTERVAL
        if self._last_full_sync is None or self.full_sync_seconds >= stock:
            return
        if (datetime.now() - self._last_full_sync).total_seconds() >= self.full_sync_seconds:
            self._last_full_sync = datetime.now() - timedelta(seconds=stock)

    def _went_down(self, error: BaseException) -> None:
        if not self._database_down:
            logger.error(
                "beat: the database is unavailable (%s); nothing is sent until it answers, tried every %s s",
                type(error).__name__,
                self.max_interval,
            )
        self._database_down = True
        self._drop_connection()

    def _database_answers(self) -> bool:
        self._drop_connection()
        try:
            connection.ensure_connection()
        except _DATABASE_ERRORS:
            return False
        self._database_down = False
        logger.warning("beat: the database answers again; reading the schedule anew")
        super().sync()
        # Changes made while it was down were not seen: read everything again.
        self._initial_read = True
        self._heap = None
        return True

    @staticmethod
    def _drop_connection() -> None:
        # A connection broken by a restart of the server is not reusable; close it so the next query
        # opens a new one (close_old_connections only drops connections it knows to be unusable).
        close_old_connections()
        with contextlib.suppress(*_DATABASE_ERRORS):
            connection.close()
