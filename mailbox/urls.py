from django.urls import path

from . import views, views_compose

urlpatterns = [
    path("", views.folder_view, name="home"),
    path("mail/check/", views.check_mail, name="check_mail"),
    path("mail/status/", views.poll_status, name="poll_status"),
    path("mail/bulk/", views.bulk_action, name="bulk_action"),
    path("mail/trash/empty/", views.empty_trash, name="empty_trash"),
    path("mail/folder/<str:folder>/", views.folder_view, name="folder"),
    path("mail/<int:pk>/", views.read_message, name="read_message"),
    path("mail/<int:pk>/body/", views.message_body, name="message_body"),
    path("mail/<int:pk>/action/", views.message_action, name="message_action"),
    path("mail/<int:pk>/trust-sender/", views.trust_sender, name="trust_sender"),
    path("mail/<int:pk>/source/", views.view_source, name="view_source"),
    path("mail/<int:pk>/original.eml", views.download_eml, name="download_eml"),
    path("mail/<int:pk>/attachments.zip", views.download_all, name="download_all"),
    path(
        "mail/<int:pk>/attachments/<int:attachment_pk>/",
        views.download_attachment,
        name="download_attachment",
    ),
    path("mail/<int:pk>/reply/", views_compose.reply, name="reply"),
    path("mail/<int:pk>/forward/", views_compose.forward, name="forward"),
    path("mail/<int:pk>/read-receipt/", views_compose.send_read_receipt, name="send_read_receipt"),
    path("compose/", views_compose.compose_view, name="compose"),
    path("compose/<int:pk>/", views_compose.compose_view, name="compose_edit"),
    path("compose/<int:pk>/cancel/", views_compose.cancel_outgoing, name="cancel_outgoing"),
    path("compose/attachments/", views_compose.upload_attachment, name="upload_attachment"),
    path(
        "compose/<int:pk>/attachments/",
        views_compose.upload_attachment,
        name="upload_attachment_to",
    ),
    path(
        "compose/<int:pk>/attachments/<int:attachment_pk>/remove/",
        views_compose.remove_attachment,
        name="remove_attachment",
    ),
]
