from django.urls import path

from . import views, views_vacation

urlpatterns = [
    path("", views.rule_list, name="rule_list"),
    path("new/", views.rule_edit, name="rule_create"),
    path("export.sieve", views.sieve_export, name="rule_export"),
    path("import/", views.sieve_import, name="rule_import"),
    path("<int:pk>/", views.rule_edit, name="rule_edit"),
    path("<int:pk>/toggle/", views.rule_toggle, name="rule_toggle"),
    path("<int:pk>/move/", views.rule_move, name="rule_move"),
    path("<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("<int:pk>/run/", views.rule_run, name="rule_run"),
    path("vacation/<int:account_pk>/", views_vacation.vacation_edit, name="vacation_edit"),
]
