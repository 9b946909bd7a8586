"""Settings › a mail account › Send as: its extra From addresses."""

from django.utils.translation import gettext as _

from .forms_send_as import SendAsForm
from .models import SendAs
from .views_account_rows import AccountRows

send_as_list, send_as_edit, send_as_delete = AccountRows(
    model=SendAs,
    form=SendAsForm,
    related_name="send_as",
    list_url="send_as_list",
    list_template="accounts/send_as.html",
    form_template="accounts/send_as_form.html",
    rows_key="aliases",
    row_key="alias",
    added=lambda alias: _("Added %(email)s.") % {"email": alias.email},
    saved=lambda alias: _("Saved %(email)s.") % {"email": alias.email},
    removed=lambda alias: _("Removed %(email)s.") % {"email": alias.email},
).views()
