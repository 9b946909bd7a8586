"""mailcore.smtp.send_message against real aiosmtpd servers (testkit/smtp_servers.py)."""

from __future__ import annotations

import logging
import socket

import pytest

from mailcore import failures, smtp
from testkit.smtp_servers import free_port

SENDER = "alice@example.test"
MESSAGE = (
    b"From: Alice <alice@example.test>\r\n"
    b"To: Bob <bob@example.test>\r\n"
    b"Subject: Hello\r\n"
    b"\r\n"
    b"Hi Bob,\r\n"
    b".a line that starts with a dot\r\n"
    b".\r\n"
    b"..two dots\r\n" + b"x" * 998 + b"\r\n"
    b"Bye.\r\n"
)


def send(server, recipients=("bob@example.test",), **kwargs):
    kwargs.setdefault("security", server.tls)
    kwargs.setdefault("envelope_from", SENDER)
    kwargs.setdefault("data", MESSAGE)
    kwargs.setdefault("timeout", 5)
    if server.cert_path is not None:
        kwargs.setdefault("ssl_context", server.client_context())
    return smtp.send_message(server.host, server.port, recipients=list(recipients), **kwargs)


def test_plain_send_delivers_the_exact_bytes(smtp_server):
    server = smtp_server()
    outcome = send(server, ["bob@example.test", "carol@example.test"])
    assert outcome.accepted == ["bob@example.test", "carol@example.test"]
    assert outcome.refused == []
    assert outcome.data_reply == "250 2.0.0 Ok: queued as Q1"
    assert outcome.results["bob@example.test"] == smtp.RecipientResult(
        code=250, reply="250 2.1.5 OK", accepted=True
    )
    [message] = server.messages
    assert message.mail_from == SENDER
    assert message.rcpt_tos == ["bob@example.test", "carol@example.test"]
    assert message.data == MESSAGE  # dot-stuffed on the wire, intact on arrival
    assert message.auth_login is None
    assert message.accepted
    assert server.verbs() == ["MAIL", "RCPT", "RCPT", "DATA", "QUIT"]


def test_bare_line_feeds_are_sent_as_crlf(smtp_server):
    server = smtp_server()
    send(server, data=b"Subject: x\n\nline\n.dot\n")
    assert server.messages[0].data == b"Subject: x\r\n\r\nline\r\n.dot\r\n"


def test_duplicate_recipients_get_one_rcpt(smtp_server):
    server = smtp_server()
    outcome = send(server, ["bob@example.test", "bob@example.test"])
    assert list(outcome.results) == ["bob@example.test"]
    assert server.messages[0].rcpt_tos == ["bob@example.test"]


def test_starttls_with_a_trusted_certificate(smtp_server):
    server = smtp_server(tls="starttls")
    outcome = send(server)
    assert outcome.accepted == ["bob@example.test"]
    assert server.messages[0].data == MESSAGE


def test_implicit_tls_with_a_trusted_certificate(smtp_server):
    server = smtp_server(tls="ssl")
    outcome = send(server)
    assert outcome.accepted == ["bob@example.test"]
    assert server.messages[0].data == MESSAGE


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_untrusted_certificate_is_refused_when_verifying(smtp_server, tls):
    server = smtp_server(tls=tls)
    with pytest.raises(smtp.SMTPConnectionError) as caught:
        send(server, ssl_context=None, verify_tls=True)
    assert caught.value.kind == failures.TLS_CERTIFICATE
    assert caught.value.reply == ""
    assert "certificate" in str(caught.value)
    assert caught.value.is_temporary
    assert server.messages == []


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_untrusted_certificate_is_accepted_without_verification(smtp_server, tls):
    server = smtp_server(tls=tls)
    outcome = send(server, ssl_context=None, verify_tls=False)
    assert outcome.accepted == ["bob@example.test"]


def test_starttls_refused_when_not_offered(smtp_server):
    server = smtp_server()
    with pytest.raises(smtp.SMTPProtocolError, match="STARTTLS"):
        send(server, security="starttls")
    assert server.events == []


def test_starttls_not_offered_has_its_own_code_and_no_server_reply(smtp_server):
    server = smtp_server()
    with pytest.raises(smtp.SMTPProtocolError) as caught:
        send(server, security="starttls")
    assert (caught.value.kind, caught.value.reply) == (failures.STARTTLS_UNSUPPORTED, "")
    assert str(caught.value) == "The server does not offer STARTTLS."


def test_auth_not_offered_has_its_own_code(smtp_server):
    server = smtp_server()  # no AUTH advertised
    with pytest.raises(smtp.SMTPAuthError) as caught:
        send(server, username="alice", password="s3cret")
    assert (caught.value.kind, caught.value.reply) == (failures.AUTH_UNSUPPORTED, "")
    assert str(caught.value) == "The server does not offer AUTH."


def test_a_refusal_is_the_servers_reply_verbatim(smtp_server):
    server = smtp_server(auth={"alice": "s3cret"})
    with pytest.raises(smtp.SMTPAuthError) as caught:
        send(server, username="alice", password="wrong")
    assert caught.value.kind == failures.REPLY
    assert caught.value.reply == str(caught.value)
    assert caught.value.reply.startswith("535 ")


def test_auth_required_and_given(smtp_server):
    server = smtp_server(auth={"alice": "s3cret"})
    outcome = send(server, username="alice", password="s3cret")
    assert outcome.accepted == ["bob@example.test"]
    assert server.messages[0].auth_login == "alice"


def test_wrong_password_raises_auth_error_without_the_password(smtp_server):
    server = smtp_server(auth={"alice": "s3cret"})
    with pytest.raises(smtp.SMTPAuthError) as caught:
        send(server, username="alice", password="wrong-pa55word")
    assert caught.value.code == 535
    assert "535" in caught.value.reply
    assert not caught.value.is_temporary
    assert "wrong-pa55word" not in caught.value.reply
    assert "wrong-pa55word" not in str(caught.value)
    assert server.events == []


def test_auth_required_but_not_given_is_a_permanent_mail_refusal(smtp_server):
    server = smtp_server(auth={"alice": "s3cret"})
    with pytest.raises(smtp.SMTPSendError) as caught:
        send(server)
    assert caught.value.stage == "mail"
    assert caught.value.code == 530
    assert caught.value.reply.startswith("530 ")
    assert not caught.value.is_temporary


def test_temporary_mail_refusal(smtp_server):
    server = smtp_server(mail_replies={SENDER: "451 4.3.0 Sender check deferred"})
    with pytest.raises(smtp.SMTPSendError) as caught:
        send(server)
    assert caught.value.reply == "451 4.3.0 Sender check deferred"
    assert caught.value.is_temporary
    assert "RCPT" not in server.verbs()


def test_451_after_data_is_temporary_and_a_retry_succeeds(smtp_server):
    server = smtp_server(data_replies=["451 4.3.0 Try again later"])
    with pytest.raises(smtp.SMTPSendError) as caught:
        send(server)
    assert caught.value.stage == "data"
    assert caught.value.code == 451
    assert caught.value.reply == "451 4.3.0 Try again later"
    assert caught.value.is_temporary
    assert caught.value.results["bob@example.test"].accepted
    assert [m.accepted for m in server.messages] == [False]
    assert server.delivered == []

    outcome = send(server)
    assert outcome.accepted == ["bob@example.test"]
    [delivered] = server.delivered
    assert delivered.data == MESSAGE


def test_550_after_data_is_permanent(smtp_server):
    server = smtp_server(data_replies=["550 5.7.1 Message content rejected"])
    with pytest.raises(smtp.SMTPSendError) as caught:
        send(server)
    assert caught.value.code == 550
    assert caught.value.reply == "550 5.7.1 Message content rejected"
    assert not caught.value.is_temporary
    assert server.delivered == []


def test_refusal_of_the_data_command_itself(smtp_server):
    server = smtp_server(data_command_replies=["554 5.5.1 No valid recipients"])
    with pytest.raises(smtp.SMTPSendError) as caught:
        send(server)
    assert caught.value.stage == "data"
    assert caught.value.reply == "554 5.5.1 No valid recipients"
    assert not caught.value.is_temporary
    assert server.messages == []


def test_one_refused_recipient_among_two(smtp_server):
    reply = "550 5.1.1 <nobody@example.test>: Recipient address rejected"
    server = smtp_server(rcpt_replies={"nobody@example.test": reply})
    outcome = send(server, ["nobody@example.test", "bob@example.test"])
    assert outcome.accepted == ["bob@example.test"]
    assert outcome.refused == ["nobody@example.test"]
    refused = outcome.results["nobody@example.test"]
    assert (refused.code, refused.reply, refused.accepted) == (550, reply, False)
    assert not refused.is_temporary
    assert list(outcome.results) == ["nobody@example.test", "bob@example.test"]
    assert outcome.data_reply.startswith("250 ")
    [message] = server.messages
    assert message.rcpt_tos == ["bob@example.test"]


def test_all_recipients_refused_sends_no_data(smtp_server):
    server = smtp_server(
        rcpt_replies={
            "nobody@example.test": "550 5.1.1 no such user",
            "full@example.test": "552 5.2.2 mailbox full",
        }
    )
    outcome = send(server, ["nobody@example.test", "full@example.test"])
    assert outcome.accepted == []
    assert outcome.refused == ["nobody@example.test", "full@example.test"]
    assert outcome.data_reply == ""
    assert "DATA" not in server.verbs()
    assert server.verbs()[-2:] == ["RSET", "QUIT"]
    assert server.messages == []


def test_452_on_rcpt_is_temporary(smtp_server):
    server = smtp_server(rcpt_replies={"busy@example.test": "452 4.2.2 Over quota, try later"})
    outcome = send(server, ["busy@example.test"])
    result = outcome.results["busy@example.test"]
    assert result.is_temporary
    assert not result.accepted
    assert result.reply == "452 4.2.2 Over quota, try later"


def test_dsn_parameters_when_advertised(smtp_server):
    server = smtp_server(dsn=True)
    outcome = send(
        server,
        ["bob@example.test", "b+tag=x@example.test"],
        request_dsn=True,
        envid="msg+1=a b",
    )
    assert outcome.dsn_supported
    [message] = server.messages
    assert "RET=HDRS" in message.mail_options
    assert "ENVID=msg+2B1+3Da+20b" in message.mail_options
    assert message.rcpt_options_by_address == {
        "bob@example.test": ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;bob@example.test"],
        "b+tag=x@example.test": [
            "NOTIFY=SUCCESS,FAILURE",
            "ORCPT=rfc822;b+2Btag+3Dx@example.test",
        ],
    }


def test_no_dsn_parameters_when_not_advertised(smtp_server):
    server = smtp_server(dsn=False)
    outcome = send(server, request_dsn=True, envid="msg-1")
    assert outcome.dsn_supported is False
    assert outcome.accepted == ["bob@example.test"]
    [message] = server.messages
    assert not any(o.split("=")[0] in {"RET", "ENVID"} for o in message.mail_options)
    assert message.rcpt_options == []


def test_dsn_advertised_but_not_requested(smtp_server):
    server = smtp_server(dsn=True)
    outcome = send(server)
    assert outcome.dsn_supported
    assert server.messages[0].rcpt_options == []


def test_non_ascii_address_needs_smtputf8(smtp_server):
    server = smtp_server(smtputf8=False)
    with pytest.raises(smtp.SMTPProtocolError, match="SMTPUTF8"):
        send(server, ["jörg@example.test"])
    assert server.verbs() == ["QUIT"]


def test_non_ascii_address_with_smtputf8(smtp_server):
    server = smtp_server(smtputf8=True)
    outcome = send(server, ["jörg@example.test"])
    assert outcome.accepted == ["jörg@example.test"]
    assert "SMTPUTF8" in server.messages[0].mail_options


def test_connection_refused_on_a_closed_port():
    port = free_port()
    with pytest.raises(smtp.SMTPConnectionError) as caught:
        smtp.send_message(
            "127.0.0.1",
            port,
            "none",
            envelope_from=SENDER,
            recipients=["bob@example.test"],
            data=MESSAGE,
            timeout=5,
        )
    assert caught.value.kind == failures.CONNECTION_REFUSED
    assert caught.value.values == {"host": "127.0.0.1", "port": port}
    assert caught.value.reply == ""
    assert str(caught.value) == f"Connection to 127.0.0.1:{port} refused."
    assert caught.value.code is None
    assert caught.value.is_temporary


def test_timeout_when_the_server_never_greets():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with pytest.raises(smtp.SMTPConnectionError, match="Timed out"):
            smtp.send_message(
                "127.0.0.1",
                listener.getsockname()[1],
                "none",
                envelope_from=SENDER,
                recipients=["bob@example.test"],
                data=MESSAGE,
                timeout=0.5,
            )


def test_greeting_421_is_temporary(smtp_server):
    server = smtp_server(greeting_reply="421 4.3.2 Too busy, come back later")
    with pytest.raises(smtp.SMTPConnectionError) as caught:
        send(server)
    assert caught.value.code == 421
    assert caught.value.reply == "421 4.3.2 Too busy, come back later"
    assert caught.value.is_temporary


def test_message_body_is_not_logged(smtp_server, caplog):
    server = smtp_server()
    with caplog.at_level(logging.DEBUG, logger="mailcore"):
        send(server, data=b"Subject: secret plans\r\n\r\nthe-body-marker\r\n")
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("mailcore"))
    assert "1 of 1 recipients accepted" in ours
    assert "the-body-marker" not in ours
    assert "secret plans" not in ours


def test_empty_recipient_list_is_a_caller_error():
    with pytest.raises(ValueError):
        smtp.send_message("127.0.0.1", 1, "none", envelope_from=SENDER, recipients=[], data=MESSAGE)


def test_xtext():
    assert smtp.xtext("a+b=c d\u00e9") == "a+2Bb+3Dc+20d+C3+A9"
