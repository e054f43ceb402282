from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class CostingConfig(AppConfig):
    name = "costing"
    verbose_name = _("Costing")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from celery.signals import before_task_publish
        from django.contrib.auth.signals import user_logged_in

        from .audit import register_audited_models
        from .languages import remember_browser_language
        from .models import Cluster
        from .roles import ensure_role_groups
        from .signals import cluster_deleted, cluster_saved, stamp_sample_slot

        register_audited_models()
        user_logged_in.connect(remember_browser_language, dispatch_uid="costing.remember_browser_language")

        post_migrate.connect(ensure_role_groups, sender=self, dispatch_uid="costing.ensure_role_groups")
        post_save.connect(cluster_saved, sender=Cluster, dispatch_uid="costing.cluster_schedule_saved")
        post_delete.connect(cluster_deleted, sender=Cluster, dispatch_uid="costing.cluster_schedule_deleted")
        # Every process that may send a sample message (beat, worker, web) stamps it with its slot.
        before_task_publish.connect(stamp_sample_slot, dispatch_uid="costing.stamp_sample_slot")
