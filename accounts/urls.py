from django.urls import path

from . import views, views_send_as, views_signatures

urlpatterns = [
    path("", views.account_list, name="account_list"),
    path("preferences/", views.preferences, name="preferences"),
    path("new/", views.account_create, name="account_create"),
    path("<int:pk>/", views.account_edit, name="account_edit"),
    path("<int:pk>/delete/", views.account_delete, name="account_delete"),
    path("<int:pk>/test/", views.account_test, name="account_test"),
    # Signatures' list and edit pages (and their images) are in mailbox/urls.py.
    path(
        "<int:pk>/signatures/<int:row_pk>/delete/",
        views_signatures.signature_delete,
        name="signature_delete",
    ),
    path("<int:pk>/send-as/", views_send_as.send_as_list, name="send_as_list"),
    path("<int:pk>/send-as/<int:row_pk>/", views_send_as.send_as_edit, name="send_as_edit"),
    path(
        "<int:pk>/send-as/<int:row_pk>/delete/",
        views_send_as.send_as_delete,
        name="send_as_delete",
    ),
]
