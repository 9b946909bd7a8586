"""Check that an account's POP3 and SMTP settings work (the "Test connection" action)."""

from django.utils import timezone

from mailcore import pop3, smtp

from .models import MailAccount


def check_connection(account: MailAccount) -> tuple[bool, str]:
    """Log in to both servers; return (ok, a report with each server's reply)."""
    verify = not account.allow_insecure_tls
    lines, ok = [], True
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
        lines.append(f"POP3: logged in; {count} messages ({size} bytes) on the server.")
    except pop3.POP3Error as exc:
        ok = False
        lines.append(f"POP3 failed: {exc.reply}")
    try:
        reply = smtp.check_login(
            account.smtp_host,
            account.smtp_port,
            account.smtp_security,
            account.smtp_login,
            account.smtp_password,
            verify_tls=verify,
        )
        auth = "logged in" if account.smtp_login else "connected (no AUTH configured)"
        lines.append(f"SMTP: {auth}; server said {reply}")
    except smtp.SMTPError as exc:
        ok = False
        lines.append(f"SMTP failed: {exc.reply}")
    return ok, "\n".join(lines)


def record_connection_check(account_id: int) -> None:
    account = MailAccount.objects.filter(pk=account_id).first()
    if account is None:
        return  # deleted since the check was requested
    ok, report = check_connection(account)
    MailAccount.objects.filter(pk=account_id).update(
        last_test_at=timezone.now(), last_test_ok=ok, last_test_result=report
    )
