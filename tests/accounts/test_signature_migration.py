"""accounts/0009: each account's old plain-text signature becomes its default Signature."""

import pytest

from tests.migrating import back_to_latest, migrate  # noqa: F401 - a fixture

BEFORE = [("accounts", "0008_add_compose_preferences_signatures_and_send_as")]
AFTER = [("accounts", "0009_move_signatures")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_old_signatures_become_the_default_signature_for_new_messages_and_replies():
    apps = migrate(BEFORE)
    User = apps.get_model("accounts", "User")
    MailAccount = apps.get_model("accounts", "MailAccount")
    korean = User.objects.create(username="kim", language="ko")
    english = User.objects.create(username="ann", language="en")
    host = {"pop3_host": "127.0.0.1", "smtp_host": "127.0.0.1"}
    signed = MailAccount.objects.create(
        user=korean, email="kim@example.kr", signature="-- \n김지현\n<팀장>", **host
    )
    plain = MailAccount.objects.create(
        user=english, email="ann@example.test", signature="Ann", **host
    )
    MailAccount.objects.create(user=english, email="none@example.test", signature="", **host)

    apps = migrate(AFTER)
    Signature = apps.get_model("accounts", "Signature")
    kim = Signature.objects.get(account_id=signed.pk)
    assert (kim.name, kim.text) == ("서명", "김지현\n<팀장>")
    assert kim.html == "<p>김지현</p><p>&lt;팀장&gt;</p>"
    assert kim.default_for_new and kim.default_for_replies
    assert Signature.objects.get(account_id=plain.pk).name == "Signature"
    assert Signature.objects.count() == 2
    # Signature rows are the one place: the old field is left empty.
    assert not apps.get_model("accounts", "MailAccount").objects.exclude(signature="").exists()
