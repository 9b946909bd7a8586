from django.urls import path

from . import views

urlpatterns = [
    path("", views.account_list, name="account_list"),
    path("preferences/", views.preferences, name="preferences"),
    path("new/", views.account_create, name="account_create"),
    path("<int:pk>/", views.account_edit, name="account_edit"),
    path("<int:pk>/delete/", views.account_delete, name="account_delete"),
    path("<int:pk>/test/", views.account_test, name="account_test"),
]
