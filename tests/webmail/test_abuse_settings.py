"""Settings of the abuse limits: trusted proxies, system mail, reset link lifetime."""

from tests.webmail.test_settings import PROBE, PROD_ENV, run_django


def test_a_trusted_proxy_that_is_not_an_address_stops_the_process():
    result = run_django({**PROD_ENV, "WEBMAIL_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"})
    assert result.returncode != 0
    assert "WEBMAIL_TRUSTED_PROXIES" in result.stderr
    assert "started" not in result.stdout


def test_no_system_mail_by_default():
    expr = (
        "(settings.WEBMAIL_SYSTEM_MAIL, settings.EMAIL_BACKEND, settings.WEBMAIL_TRUSTED_PROXIES)"
    )
    result = run_django(PROD_ENV, PROBE.format(expr=expr))
    assert result.stdout.strip() == (
        "(False, 'django.core.mail.backends.dummy.EmailBackend', [])"
    ), result.stderr


def test_email_url_configures_system_mail_and_the_link_lives_at_most_an_hour():
    env = {
        **PROD_ENV,
        "EMAIL_URL": "smtp+tls://user:pw@smtp.example.com:587",
        "PASSWORD_RESET_TIMEOUT": "86400",
    }
    expr = (
        "(settings.WEBMAIL_SYSTEM_MAIL, settings.EMAIL_HOST, settings.EMAIL_PORT, "
        "settings.EMAIL_USE_TLS, settings.PASSWORD_RESET_TIMEOUT)"
    )
    result = run_django(env, PROBE.format(expr=expr))
    assert result.stdout.strip() == "(True, 'smtp.example.com', 587, True, 3600)", result.stderr
