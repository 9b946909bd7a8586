"""Settings › a mail account › Signatures."""

from django.utils.translation import gettext as _

from .forms_signatures import SignatureForm
from .models import Signature
from .views_account_rows import AccountRows

# The list and edit pages are wired in mailbox (mailbox.views_signature_images), with a
# form that can add an image: its bytes are a blob, which only the mailbox app writes.
SIGNATURES = AccountRows(
    model=Signature,
    form=SignatureForm,
    related_name="signatures",
    list_url="signature_list",
    list_template="accounts/signatures.html",
    form_template="accounts/signature_form.html",
    rows_key="signatures",
    row_key="signature",
    added=lambda s: _("Added the signature “%(name)s”.") % {"name": s.name},
    saved=lambda s: _("Saved the signature “%(name)s”.") % {"name": s.name},
    removed=lambda s: _("Removed the signature “%(name)s”.") % {"name": s.name},
)
signature_delete = SIGNATURES.views()[2]
