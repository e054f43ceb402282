from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CostingConfig(AppConfig):
    name = "costing"
    verbose_name = "Costing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .audit import register_audited_models
        from .roles import ensure_role_groups

        register_audited_models()

        post_migrate.connect(ensure_role_groups, sender=self, dispatch_uid="costing.ensure_role_groups")
