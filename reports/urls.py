"""Pages of the product."""

from django.urls import path

from . import views, views_bills

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("bills/", views_bills.bills, name="bills"),
    path("bills/<int:pk>/status", views_bills.bill_status, name="bill_status"),
]
