from django.urls import path

from . import views

urlpatterns = [
    path("", views.inbox, name="home"),
    path("mail/check/", views.check_mail, name="check_mail"),
    path("mail/status/", views.poll_status, name="poll_status"),
]
