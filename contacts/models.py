"""The address book: saved contacts and groups, and the addresses collected apart from them.

Saved contacts are what the user keeps on purpose; collected addresses are what the
mail they send and answer tells us (Roundcube 1.5's "collected recipients"), kept in
their own table so the address book stays the user's own, and promoted to a contact
only when the user asks. Every row has an owner, and every query is scoped by it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def address_key(address: str) -> str:
    """The form addresses are matched and deduplicated by: ``Kim@Example.COM`` and
    ``kim@example.com`` are one person for every provider people use."""
    return address.strip().casefold()


class ContactGroup(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_groups"
    )
    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("contact group")
        verbose_name_plural = _("contact groups")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="contact_group_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contacts"
    )
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    # The same person's name in Hangul and in Latin letters (김지현 / Kim Jihyun): either
    # finds the contact, and the display name is what goes into the To field.
    korean_name = models.CharField(_("Korean name"), max_length=200, blank=True)
    latin_name = models.CharField(_("name in Latin letters"), max_length=200, blank=True)
    organization = models.CharField(_("organization"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    groups = models.ManyToManyField(
        ContactGroup, blank=True, related_name="contacts", verbose_name=_("groups")
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["display_name", "id"]
        indexes = [models.Index(fields=["owner", "display_name"], name="contact_owner_name_idx")]

    def __str__(self) -> str:
        return self.display_name or self.korean_name or self.latin_name


class ContactEmail(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    # The contact's owner again, so lookups by address stay one indexed query per user.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", editable=False
    )
    address = models.CharField(_("email address"), max_length=320)
    address_key = models.CharField(max_length=320, editable=False)
    preferred = models.BooleanField(_("preferred"), default=False)

    class Meta:
        verbose_name = _("email address")
        verbose_name_plural = _("email addresses")
        ordering = ["-preferred", "id"]
        indexes = [
            models.Index(fields=["owner", "address_key"], name="contact_email_owner_key_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "address_key"], name="contact_email_once_per_contact"
            ),
            models.UniqueConstraint(
                fields=["contact"],
                condition=models.Q(preferred=True),
                name="contact_email_one_preferred",
            ),
        ]

    def __str__(self) -> str:
        return self.address

    def save(self, *args, **kwargs):
        self.address_key = address_key(self.address)
        if self.owner_id is None:
            self.owner_id = self.contact.owner_id
        super().save(*args, **kwargs)


class CollectedAddress(models.Model):
    class Source(models.TextChoices):
        SENT = "sent", _("You wrote to them")
        REPLIED = "replied", _("You replied to them")
        TRUSTED = "trusted", _("You trusted their images")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collected_addresses"
    )
    address = models.CharField(_("email address"), max_length=320)
    address_key = models.CharField(max_length=320, editable=False)
    name = models.CharField(_("name"), max_length=200, blank=True)
    # How the address first came in; times_used and last_used_at rank the suggestions
    # (how often and how recently the user wrote to it).
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    times_used = models.PositiveIntegerField(_("times written to"), default=0)
    last_used_at = models.DateTimeField(_("last written to"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("collected address")
        verbose_name_plural = _("collected addresses")
        ordering = ["-last_used_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "address_key"], name="collected_address_once_per_user"
            )
        ]

    def __str__(self) -> str:
        return self.address

    def save(self, *args, **kwargs):
        self.address_key = address_key(self.address)
        super().save(*args, **kwargs)
