"""Small builders for rule tests: a rule row from plain words, a message with headers."""

from mailcore.rules import Action, Condition
from mailcore.rules import Rule as RuleData
from rules.models import Rule
from testkit import mailfactory as mf


def add_rule(owner, name, conditions=(), actions=(), *, match="all", stop=False, enabled=True):
    """A rule at the end of `owner`'s list; conditions (field, op, value[, header]),
    actions (kind[, argument])."""
    data = RuleData(
        name=name,
        conditions=[Condition(*c) for c in conditions],
        actions=[Action(*a) for a in actions],
        match=match,
        stop=stop,
        enabled=enabled,
    )
    row = Rule(owner=owner, position=Rule.objects.filter(owner=owner).count())
    row.set_data(data)
    row.save()
    return row


def wire(subject, *, sender="Sender <sender@example.test>", headers=(), body="Hello.\n"):
    """A message with CRLF line endings, as a POP3 server sends it."""
    raw = mf.plain(
        subject,
        body,
        from_=sender,
        to="Alice <alice@example.test>",
        message_id=f"<{abs(hash(subject))}.{len(subject)}@example.test>",
        headers=headers,
    )
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
