"""Check that an account's POP3 and SMTP settings work (the "Test connection" action)."""

from django.utils import timezone

from mailcore import pop3, smtp

from . import connection_report, mail_errors
from .models import MailAccount


def check_connection(account: MailAccount) -> tuple[bool, str]:
    """Log in to both servers; return (ok, the report to store, with each server's reply).

    The task that runs this has no reader's language: the report is stored as each
    server's outcome, and connection_report words it when a page shows it.
    """
    verify = not account.allow_insecure_tls
    try:
        with pop3.POP3Session(
            account.pop3_host,
            account.pop3_port,
            account.pop3_security,
            account.pop3_login,
            account.pop3_password,
            verify_tls=verify,
            timeout=15,
            use_apop=account.use_apop,
        ) as session:
            count, size = session.stat()
            session.quit()
        pop3_outcome = {"ok": True, "messages": count, "size": size}
    except pop3.POP3Error as exc:
        pop3_outcome = {"ok": False, "error": mail_errors.record(exc)}
    try:
        reply = smtp.check_login(
            account.smtp_host,
            account.smtp_port,
            account.smtp_security,
            account.smtp_login,
            account.smtp_password,
            verify_tls=verify,
        )
        smtp_outcome = {"ok": True, "auth": bool(account.smtp_login), "reply": reply}
    except smtp.SMTPError as exc:
        smtp_outcome = {"ok": False, "error": mail_errors.record(exc)}
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
