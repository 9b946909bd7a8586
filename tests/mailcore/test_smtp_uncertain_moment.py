"""The SMTP client's one uncertain moment: between writing the final "." and reading its
reply. `before_dot` marks it exactly; a failure inside it is SMTPDeliveryUnknown, any
failure before it an ordinary (retryable) error naming its step."""

import pytest

from mailcore import smtp


def send(proxy, **options):
    return smtp.send_message(
        proxy.host,
        proxy.port,
        "none",
        envelope_from="alice@example.test",
        recipients=["bob@example.test", "carol@example.test"],
        data=b"Subject: moment\r\n\r\n.starts with a dot\r\nbody\r\n",
        **options,
    )


def test_the_steps_come_in_order_and_the_mark_is_set_just_before_the_dot(proxied):
    server, proxy = proxied
    events: list[str] = []
    outcome = send(proxy, on_step=events.append, before_dot=lambda: events.append("MARK"))
    assert events == ["connect", "ehlo", "mail", "rcpt", "rcpt", "data", "dot", "MARK"]
    assert outcome.data_reply.startswith("250")
    [received] = server.delivered
    assert received.data == b"Subject: moment\r\n\r\n.starts with a dot\r\nbody\r\n"


@pytest.mark.parametrize("step", ["ehlo", "mail", "rcpt", "data"])
def test_a_cut_before_the_dot_is_a_retryable_error_naming_its_step(proxied, step):
    server, proxy = proxied
    proxy.cut(step)
    marks = []
    with pytest.raises(smtp.SMTPConnectionError) as raised:
        send(proxy, before_dot=lambda: marks.append(1))
    assert not isinstance(raised.value, smtp.SMTPDeliveryUnknown)
    assert raised.value.is_temporary
    assert raised.value.step == step
    assert marks == [] and server.delivered == []


def test_a_cut_after_the_dot_is_delivery_unknown(proxied):
    server, proxy = proxied
    proxy.cut_after_reply("dot")
    marks = []
    with pytest.raises(smtp.SMTPDeliveryUnknown) as raised:
        send(proxy, before_dot=lambda: marks.append(1))
    assert raised.value.step == "dot"
    assert not raised.value.is_temporary  # never retried by itself
    assert sorted(raised.value.results) == ["bob@example.test", "carol@example.test"]
    assert marks == [1]
    assert len(server.delivered) == 1  # the server has it


def test_no_reply_after_the_dot_is_delivery_unknown(proxied):
    server, proxy = proxied
    proxy.hold_reply("dot")
    with pytest.raises(smtp.SMTPDeliveryUnknown) as raised:
        send(proxy, timeout=1.0)
    assert raised.value.kind == "timeout"
    assert len(server.delivered) == 1


def test_a_4xx_after_the_dot_is_the_servers_answer_not_unknown(smtp_server):
    server = smtp_server(data_replies=["451 4.3.0 Try later"])
    with pytest.raises(smtp.SMTPSendError) as raised:
        send(server)
    assert raised.value.is_temporary and raised.value.step == "dot"
