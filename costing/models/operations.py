"""How the machinery is doing: worker heartbeats."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """The last time a Celery worker on `hostname` ran the heartbeat task (the UI warns when stale)."""

    hostname = models.CharField(max_length=255, unique=True, verbose_name=_("hostname"))
    seen_at = models.DateTimeField(verbose_name=_("seen at"))
    beats = models.PositiveBigIntegerField(default=0, verbose_name=_("beats"))

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"
