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


class SuggestionTerm(models.Model):
    """One searchable word of a suggestion (contacts.suggestions keeps these in sync).

    A query longer than SuggestionPrefix.PREFIX_LENGTH characters is a prefix range over
    (owner, term) on a B-tree, whatever the size of the address book (shorter ones read
    SuggestionPrefix): every name form and word, the address and its parts, and the
    Hangul initial consonants of each suggestion are rows here, casefolded and NFC.
    `rank` and `tier` ride along so the best matches are picked from the index alone.
    Exactly one of `email`, `group`, `collected` is set: what choosing the term inserts.
    """

    class Tier(models.IntegerChoices):
        # Equal ranks: a saved contact's preferred address, its other addresses, a
        # group, then a collected address.
        PREFERRED = 0
        CONTACT = 1
        GROUP = 2
        COLLECTED = 3

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    term = models.CharField(max_length=320)
    rank = models.FloatField(default=0.0)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices)
    # The address's key (email and collected terms): a collection bump updates the rank
    # of every term of that address, saved contact and collected row alike, in one query.
    address_key = models.CharField(max_length=320, blank=True)
    email = models.ForeignKey(ContactEmail, null=True, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(ContactGroup, null=True, on_delete=models.CASCADE, related_name="+")
    collected = models.ForeignKey(
        CollectedAddress, null=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        indexes = [
            # The prefix range, covering: the planner reads rank, tier and the target
            # from the index. On PostgreSQL the term column uses varchar_pattern_ops so
            # LIKE 'q%' is an index range whatever the database's collation (SQLite
            # ignores opclasses; it is queried with term >= q AND term < q || U+10FFFF).
            models.Index(
                fields=["owner", "term", "rank", "tier", "email", "group", "collected"],
                opclasses=[
                    "int8_ops",
                    "varchar_pattern_ops",
                    "float8_ops",
                    "int2_ops",
                    "int8_ops",
                    "int8_ops",
                    "int8_ops",
                ],
                name="suggestion_term_prefix_idx",
            ),
            models.Index(fields=["owner", "address_key"], name="suggestion_term_address_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(email__isnull=False, group__isnull=True, collected__isnull=True)
                    | models.Q(email__isnull=True, group__isnull=False, collected__isnull=True)
                    | models.Q(email__isnull=True, group__isnull=True, collected__isnull=False)
                ),
                name="suggestion_term_one_target",
            )
        ]

    def __str__(self) -> str:
        return self.term


class SuggestionPrefix(models.Model):
    """One short prefix (1 to 4 characters) of a suggestion's terms, for the first keystrokes.

    A query of up to PREFIX_LENGTH characters is an exact match on (owner, prefix) read in
    index order, best first, and stops after the few rows it shows; the term range of
    SuggestionTerm would read every match of a common two letters ("ki": a tenth of a
    large address book) to sort them. One row per suggestion and prefix (a suggestion
    whose terms kim, kim jihyun and kim.jihyun@… all start with "ki" has one "ki" row).
    `key` is the rank and the tier folded into one integer, smaller first
    (contacts.suggestions.sort_key); contacts.suggestions keeps these rows in sync.
    Longer queries use SuggestionTerm, where few terms match.
    """

    PREFIX_LENGTH = 4

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    prefix = models.CharField(max_length=PREFIX_LENGTH)
    key = models.BigIntegerField()
    email = models.ForeignKey(ContactEmail, null=True, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(ContactGroup, null=True, on_delete=models.CASCADE, related_name="+")
    collected = models.ForeignKey(
        CollectedAddress, null=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        indexes = [
            # Equality on (owner, prefix), then the rows in the order they are shown: the
            # LIMIT stops the scan after the best few, whatever the address book holds.
            # The id makes the order total (and is all the candidate query reads).
            models.Index(fields=["owner", "prefix", "key", "id"], name="suggestion_prefix_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(email__isnull=False, group__isnull=True, collected__isnull=True)
                    | models.Q(email__isnull=True, group__isnull=False, collected__isnull=True)
                    | models.Q(email__isnull=True, group__isnull=True, collected__isnull=False)
                ),
                name="suggestion_prefix_one_target",
            )
        ]

    def __str__(self) -> str:
        return self.prefix
