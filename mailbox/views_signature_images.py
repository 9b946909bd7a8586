"""Settings › Signatures, with images: the signature pages (accounts' views, with a form
that stores an image added without JavaScript), the signature editor's image upload,
and the images themselves, shown to their owner only.

Here rather than in accounts because an image's bytes are a content-addressed blob,
which the mailbox app writes (mailbox.ingest.store_blob) and accounts may not import.
"""

from dataclasses import replace

from django.core.files.storage import default_storage
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from accounts.forms_signatures import SignatureForm, SignatureImageForm
from accounts.models import MailAccount, SignatureImage
from accounts.views_signatures import SIGNATURES

from . import rich_compose


class SignatureWithImageForm(SignatureForm):
    stores_images = True

    def add_image(self, upload) -> SignatureImage:
        return rich_compose.add_signature_image(self.account, upload)


signature_list, signature_edit, _delete = replace(SIGNATURES, form=SignatureWithImageForm).views()


@require_POST
def upload_signature_image(request, pk: int):
    """One image for the signature editor (Insert image, a paste, a drop): JSON with the
    URL the signature's HTML shows it by."""
    account = get_object_or_404(MailAccount, pk=pk, user=request.user)
    form = SignatureImageForm(request.POST, request.FILES)
    if not form.is_valid():
        errors = " ".join(f"{form[n].label}: {e}" for n, es in form.errors.items() for e in es)
        return JsonResponse({"error": errors}, status=400)
    image = rich_compose.add_signature_image(account, form.cleaned_data["image"])
    return JsonResponse(
        {"image": {"id": image.pk, "src": image.url(), "name": image.filename}}, status=201
    )


@require_GET
def signature_image(request, pk: int, image_pk: int):
    """A signature image, as the signature editor and compose show it (from our origin)."""
    image = get_object_or_404(
        SignatureImage, pk=image_pk, account_id=pk, account__user=request.user
    )
    response = FileResponse(
        default_storage.open(image.file.name, "rb"), content_type=image.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
