"""Where e-mail attachments are kept: the default file storage (the data directory's media/ folder),
under email/<2 hex>/<sha256 of the bytes>. The name is the Attachment's `provider_ref`; the file
name and MIME type travel in the Attachment itself. Content-addressed, so fetching a message again
(a restart, a renumbered folder) writes nothing new, and the files outlive the mailbox's copy.
"""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

PREFIX = "email/"


def store(content: bytes) -> str:
    """Keep `content`; returns its provider_ref (a storage name)."""
    digest = hashlib.sha256(content).hexdigest()
    name = f"{PREFIX}{digest[:2]}/{digest}"
    if default_storage.exists(name):
        return name
    return str(default_storage.save(name, ContentFile(content)))


def read(provider_ref: str) -> bytes:
    """The bytes of a stored attachment; FileNotFoundError for a ref that is not one of ours."""
    if not provider_ref.startswith(PREFIX) or ".." in provider_ref:
        raise FileNotFoundError(provider_ref)
    with default_storage.open(provider_ref, "rb") as handle:
        return bytes(handle.read())
