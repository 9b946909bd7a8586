from django.urls import path

from . import views, views_autocomplete, views_transfer

app_name = "contacts"

urlpatterns = [
    path("", views.contact_list, name="contact_list"),
    path("new/", views.contact_create, name="contact_create"),
    path("address/", views.contact_for_address, name="for_address"),
    path("selection/", views.contact_selection, name="contact_selection"),
    path("merge/", views.contact_merge, name="contact_merge"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("<int:pk>/", views.contact_detail, name="contact_detail"),
    path("<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("<int:pk>/delete/", views.contact_delete, name="contact_delete"),
    path("groups/", views.group_list, name="group_list"),
    path("groups/<int:pk>/", views.group_edit, name="group_edit"),
    path("groups/<int:pk>/delete/", views.group_delete, name="group_delete"),
    path("collected/", views.collected_list, name="collected_list"),
    path("collected/<int:pk>/", views.collected_edit, name="collected_edit"),
    path("collected/<int:pk>/delete/", views.collected_delete, name="collected_delete"),
    path("collected/<int:pk>/promote/", views.collected_promote, name="collected_promote"),
    path("import/", views_transfer.import_start, name="import"),
    path("import/confirm/", views_transfer.import_confirm, name="import_confirm"),
    path("import/cancel/", views_transfer.import_cancel, name="import_cancel"),
    path("export.vcf", views_transfer.export, name="export"),
    path("autocomplete/", views_autocomplete.autocomplete, name="autocomplete"),
]
