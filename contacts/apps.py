from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = _("Contacts")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from mailbox import names
        from mailbox import signals as mailbox_signals

        from . import collection, suggestions
        from .finding import names_for
        from .models import CollectedAddress, Contact, ContactEmail, ContactGroup

        # The mail pages show saved names for bare addresses and link each address here.
        names.register(names_for, address_page="contacts:for_address")

        # Collected addresses: mailbox announces successful sends and trusted senders.
        mailbox_signals.message_sent.connect(collection.on_message_sent, dispatch_uid="contacts")
        mailbox_signals.images_trusted.connect(
            collection.on_images_trusted, dispatch_uid="contacts"
        )
        # The autocomplete index follows every save (deletes cascade to its terms).
        post_save.connect(suggestions.contact_saved, sender=Contact, dispatch_uid="contacts")
        post_save.connect(suggestions.email_saved, sender=ContactEmail, dispatch_uid="contacts")
        post_save.connect(suggestions.group_saved, sender=ContactGroup, dispatch_uid="contacts")
        post_save.connect(
            suggestions.collected_saved, sender=CollectedAddress, dispatch_uid="contacts"
        )
