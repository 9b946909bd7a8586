"""Check that an account's POP3 and SMTP settings work (the "Test connection" action).

The test reports one of a few fixed outcomes per server, so it cannot be used to scan
ports: logged in (a mail server greeted us and accepted the login); the login refused,
with the server's reply; a failure after a mail server's greeting (STARTTLS, AUTH
methods), worded; refused by the destination policy; or "no mail server answered" for
everything else, whether the port was closed, timed out, spoke TLS or something else.
Each user may run a limited number of tests in 10 minutes (`start_test`).
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from mailcore import failures, pop3, smtp

from . import connection_report, destinations, mail_errors
from .models import MailAccount, User

TEST_WINDOW = timedelta(minutes=10)


def _failed(exc: failures.ServerError, host: str, port: int) -> dict:
    """The outcome of a failure: the error itself when a mail server answered (or the
    policy refused the destination), otherwise only that no mail server answered."""
    refused = exc.kind == failures.DESTINATION_REFUSED
    if refused or exc.greeted or isinstance(exc, pop3.POP3AuthError | smtp.SMTPAuthError):
        return {"ok": False, "error": mail_errors.record(exc)}
    return {"ok": False, "no_server": True, "host": host, "port": port}


def check_connection(account: MailAccount) -> tuple[bool, str]:
    """Log in to both servers; return (ok, the report to store, with each server's reply).

    The task that runs this has no reader's language: the report is stored as each
    server's outcome, and connection_report words it when a page shows it.
    """
    verify = not account.allow_insecure_tls
    policy = destinations.policy(account)
    session = pop3.POP3Session(
        account.pop3_host,
        account.pop3_port,
        account.pop3_security,
        account.pop3_login,
        account.pop3_password,
        verify_tls=verify,
        timeout=15,
        use_apop=account.use_apop,
        policy=policy,
    )
    try:
        with session:
            count, size = session.stat()
            session.quit()
        pop3_outcome = {"ok": True, "messages": count, "size": size}
    except pop3.POP3Error as exc:
        exc.greeted = exc.greeted or bool(session.welcome)  # STAT or QUIT failed
        pop3_outcome = _failed(exc, account.pop3_host, account.pop3_port)
    try:
        reply = smtp.check_login(
            account.smtp_host,
            account.smtp_port,
            account.smtp_security,
            account.smtp_login,
            account.smtp_password,
            verify_tls=verify,
            policy=policy,
        )
        smtp_outcome = {"ok": True, "auth": bool(account.smtp_login), "reply": reply}
    except smtp.SMTPError as exc:
        smtp_outcome = _failed(exc, account.smtp_host, account.smtp_port)
    ok = pop3_outcome["ok"] and smtp_outcome["ok"]
    return ok, connection_report.record(pop3_outcome, smtp_outcome)


def record_connection_check(account_id: int) -> None:
    account = MailAccount.objects.filter(pk=account_id).first()
    if account is None:
        return  # deleted since the check was requested
    ok, report = check_connection(account)
    MailAccount.objects.filter(pk=account_id).update(
        last_test_at=timezone.now(), last_test_ok=ok, last_test_result=report
    )


def start_test(user: User) -> bool:
    """Count one connection test for `user`; False when they used up this window's
    WEBMAIL_CONNECTION_TESTS_PER_10_MINUTES. Counted in the database, so every web
    process shares the count."""
    limit = settings.WEBMAIL_CONNECTION_TESTS_PER_10_MINUTES
    if limit < 1:
        return False
    now = timezone.now()
    users = User.objects.filter(pk=user.pk)
    if users.filter(
        connection_tests_since__gt=now - TEST_WINDOW, connection_tests_count__lt=limit
    ).update(connection_tests_count=F("connection_tests_count") + 1):
        return True
    # The window is over (or there was none): this test opens a new one.
    return bool(
        users.filter(
            Q(connection_tests_since__isnull=True)
            | Q(connection_tests_since__lte=now - TEST_WINDOW)
        ).update(connection_tests_since=now, connection_tests_count=1)
    )
