from django.urls import path

from . import views

app_name = "security"

urlpatterns = [
    path("", views.sessions_page, name="sessions"),
    path("<int:pk>/sign-out/", views.sign_out, name="sign_out"),
    path("sign-out-others/", views.sign_out_others, name="sign_out_others"),
]
