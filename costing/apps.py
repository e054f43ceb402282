from django.apps import AppConfig


class CostingConfig(AppConfig):
    name = "costing"
    verbose_name = "Costing"
    default_auto_field = "django.db.models.BigAutoField"
