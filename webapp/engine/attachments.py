"""Attached files: kept in a folder (instance/attachments by default), described by a row,
referenced from task data by id and SHA-256.

A reference in form data looks like
    {"attachment": "<id>", "sha256": "<hex>", "name": "photo.jpg", "size": 123, "content_type": "image/jpeg"}
It travels inside the task's submitted data, so the history event that attached the file holds
its hash: verify re-reads the file and names the event when the bytes differ.

The type is decided from the file's first bytes, never from what the browser claims. Images
get a small JPEG thumbnail (Pillow). An S3-compatible store is not built: the store is this
module's `_path`/`read`/`write`, the one place to change for it.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from ..extensions import db
from ..models import Attachment
from . import clock
from .errors import FormInvalid

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
THUMBNAIL_SIZE = (320, 320)
# first bytes -> content type; what a service centre sends: photos and PDFs
_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


@dataclass
class Stored:
    attachment: Attachment

    def reference(self) -> dict:
        return reference_of(self.attachment)


def reference_of(row: Attachment) -> dict:
    return {"attachment": row.id, "sha256": row.sha256, "name": row.filename, "size": row.size,
            "content_type": row.content_type}


READ_ONLY_ROLES = {"auditor"}


def may_attach(roles: set[str]) -> bool:
    """Anyone who works on cases may upload; read-only roles (auditors) may not."""
    return bool(set(roles) - READ_ONLY_ROLES)


def max_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def folder() -> Path:
    configured = current_app.config.get("ATTACHMENTS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "attachments"


def _path(attachment_id: str, suffix: str = "") -> Path:
    return folder() / attachment_id[:2] / f"{attachment_id}{suffix}"


def sniff(head: bytes) -> str | None:
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _thumbnail(content: bytes) -> bytes | None:
    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = 60_000_000  # larger "photos" are decompression bombs, not photos
    try:
        with Image.open(io.BytesIO(content)) as image:
            image = ImageOps.exif_transpose(image)
            image.thumbnail(THUMBNAIL_SIZE)
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        return None


def store(content: bytes, filename: str, *, actor: str) -> Stored:
    """Keep an upload; FormInvalid (field "file") when it is empty, too large or of a type we refuse."""
    if not content:
        raise FormInvalid("the file is empty", {"file": "empty / 文件为空"})
    if len(content) > max_bytes():
        raise FormInvalid("the file is too large", {"file": f"larger than {max_bytes()} bytes / 文件过大"})
    kind = sniff(content[:16])
    if kind is None:
        raise FormInvalid("only photos (JPEG, PNG, GIF, WebP) and PDF files can be attached",
                          {"file": "type not allowed / 只能附加照片或 PDF"})
    thumbnail = _thumbnail(content) if kind in IMAGE_TYPES else None
    if kind in IMAGE_TYPES and thumbnail is None:
        raise FormInvalid("the image cannot be read", {"file": "unreadable image / 图片无法读取"})
    row = Attachment(
        id=str(uuid.uuid4()), sha256=hashlib.sha256(content).hexdigest(), size=len(content), content_type=kind,
        filename=Path(filename or "file").name[:255], has_thumbnail=thumbnail is not None,
        uploaded_by=actor, uploaded_at=clock.now(),
    )
    path = _path(row.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if thumbnail is not None:
        _path(row.id, ".thumb.jpg").write_bytes(thumbnail)
    db.session.add(row)
    db.session.flush()
    return Stored(row)


def read(row: Attachment, thumbnail: bool = False) -> bytes | None:
    path = _path(row.id, ".thumb.jpg" if thumbnail else "")
    return path.read_bytes() if path.exists() else None


def file_path(row: Attachment, thumbnail: bool = False) -> Path:
    return _path(row.id, ".thumb.jpg" if thumbnail else "")


# ---------------------------------------------------------------- references in data


def is_reference(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("attachment"), str) and isinstance(value.get("sha256"), str)


def references(value: object, path: str = "") -> Iterator[tuple[str, dict]]:
    """(dotted field, reference) for every attachment reference anywhere in the data."""
    if is_reference(value):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from references(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from references(item, f"{path}.{index}" if path else str(index))


def check_references(data: object, *, actor: str, instance_id: int | None, any_owner: bool = False) -> None:
    """Every referenced file exists with the hash the data names, and belongs to this case or
    was uploaded by the actor and is not yet part of any case; then it becomes the case's."""
    errors: dict[str, str] = {}
    rows = []
    for field, ref in references(data):
        row = db.session.get(Attachment, ref["attachment"])
        if row is None or row.sha256 != ref["sha256"]:
            errors[field] = "unknown attachment or wrong sha256 / 附件不存在或哈希不符"
        elif row.instance_id is None and row.uploaded_by != actor and not any_owner:
            errors[field] = "attachment uploaded by someone else / 附件不是本人上传的"
        elif row.instance_id is not None and row.instance_id != instance_id:
            errors[field] = "attachment belongs to another case / 附件属于其他工单"
        else:
            rows.append(row)
    if errors:
        raise FormInvalid("attachment references are not valid", errors)
    for row in rows:
        if row.instance_id is None and instance_id is not None:
            row.instance_id = instance_id


def claim_for(data: object, instance_id: int) -> None:
    """After a start command got its instance id: the start data's files become the case's."""
    for _field, ref in references(data):
        row = db.session.get(Attachment, ref["attachment"])
        if row is not None and row.instance_id is None:
            row.instance_id = instance_id


def file_problem(ref: dict) -> str | None:
    """Why the stored file no longer is the one the reference names (None when it is)."""
    row = db.session.get(Attachment, ref.get("attachment"))
    if row is None:
        return f"attachment {ref.get('attachment')} is missing"
    path = file_path(row)
    if not path.exists():
        return f"attachment {row.filename} ({row.id}) is missing from the store"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != ref.get("sha256"):
        return f"attachment {row.filename} ({row.id}) does not match the SHA-256 recorded with the event"
    return None
