from django.urls import path

from . import views_twofactor

urlpatterns = [
    path("auth/two-factor/", views_twofactor.verify, name="two_factor_verify"),
    path("settings/two-factor/", views_twofactor.settings_page, name="two_factor"),
    path("settings/two-factor/set-up/", views_twofactor.enrol, name="two_factor_enrol"),
    path(
        "settings/two-factor/recovery-codes/",
        views_twofactor.recovery_codes,
        name="two_factor_codes",
    ),
    path(
        "settings/two-factor/recovery-codes/new/",
        views_twofactor.new_recovery_codes,
        name="two_factor_new_codes",
    ),
    path("settings/two-factor/turn-off/", views_twofactor.turn_off, name="two_factor_turn_off"),
]
