"""Pages of the product."""

from django.urls import path

from . import views, views_bills, views_reports

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("bills/", views_bills.bills, name="bills"),
    path("bills/<int:pk>/status", views_bills.bill_status, name="bill_status"),
    path("reports/", views_reports.reports_page, name="reports"),
    path("reports/export/", views_reports.export_start, name="report-export"),
    path("reports/exports/<int:pk>/status", views_reports.export_status, name="report-export-status"),
    path("reports/exports/<int:pk>/download", views_reports.export_download, name="report-export-download"),
    path("reports/close/", views_reports.close_view, name="report-close"),
    path("reports/reopen/", views_reports.reopen_view, name="report-reopen"),
]
