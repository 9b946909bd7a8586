# This app is named `mailbox`, which shadows the standard library's `mailbox`
# module for every process started from the project root. Nothing in this
# project may import the standard library's `mailbox` (aiosmtpd.handlers does,
# so we never import that module either).
