"""Parse raw RFC 5322 messages into plain data objects.

Django-free on purpose: the POP3 ingest worker, the views and the tests all use
it. Every public function is total: malformed input gives a best-effort result
plus human-readable ``defects``, never an exception.

The modules, from the bottom up (none imports one above it):

* :mod:`.charsets` - charset labels and decoding; :mod:`.b64` - lenient base64;
  :mod:`.text` - HTML to plain text;
* :mod:`.headers` - header text: encoded words, RFC 2231 parameters, addresses and
  message ids in headers, control characters kept out of what we send;
* :mod:`.dates` - the one date parser and the one ``aware()``;
* :mod:`.structure` - bytes to a tree of parts (fast splitter, stdlib parser), each
  part's payload a slice of the raw message;
* :mod:`.message` - :class:`ParsedMessage`, :class:`Attachment` and ``parse_headers``;
* :mod:`.uu`, :mod:`.tnef`, :mod:`.smime` - uuencoded files, the files and body
  inside winmail.dat, S/MIME detached signatures checked against their certificate;
* :mod:`.parts` - ``parse_message``: parts sorted into bodies and attachments
  (the body selection rules are documented there), safe file names.
"""

from .charsets import decode_charset
from .headers import decode_header_text
from .message import AttachedMessage, Attachment, ParsedMessage, parse_headers
from .parts import MAX_FILENAME_BYTES, MAX_FILENAME_CHARS, parse_message, safe_filename
from .structure import CRLF
from .text import html_to_text

__all__ = [
    "CRLF",
    "AttachedMessage",
    "MAX_FILENAME_BYTES",
    "MAX_FILENAME_CHARS",
    "Attachment",
    "ParsedMessage",
    "decode_charset",
    "decode_header_text",
    "html_to_text",
    "parse_headers",
    "parse_message",
    "safe_filename",
]
