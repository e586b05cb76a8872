"""FedEx ``POST /track/v1/trackingdocuments``: what a proof-of-delivery request asks, and the
document bytes answered (a one-page blank PDF; karrio's FedEx client fetches one for every
delivered parcel)."""

from __future__ import annotations

import base64
import json

from mocks.carriers.base import Ask

DOCUMENTS = "documents"
"""Route name of the proof-of-delivery documents endpoint."""

DOCUMENT_TYPE = "SIGNATURE_PROOF_OF_DELIVERY"

PDF = base64.b64encode(
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
).decode()
"""A one-page blank PDF: the proof-of-delivery document's bytes."""


class Document(tuple[str, ...]):
    """The number a documents request asks for, with its ``kind`` and ``form``."""

    kind: str
    form: str


def documents_ask(body: bytes) -> Ask:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return Ask(DOCUMENTS, (), "The given JSON is not valid.")
    doc = doc if isinstance(doc, dict) else {}
    detail = doc.get("trackDocumentDetail")
    detail = detail if isinstance(detail, dict) else {}
    specs = doc.get("trackDocumentSpecification")
    first = specs[0] if isinstance(specs, list) and specs and isinstance(specs[0], dict) else {}
    inner = first.get("trackingNumberInfo")
    number = inner.get("trackingNumber") if isinstance(inner, dict) else None
    if not isinstance(number, str) or not number:
        return Ask(DOCUMENTS, (), "trackDocumentSpecification.trackingNumberInfo is required.")
    asked = Document((number,))
    kind, form = detail.get("documentType"), detail.get("documentFormat")
    asked.kind = kind if isinstance(kind, str) and kind else DOCUMENT_TYPE
    asked.form = form if form in ("PDF", "PNG") else "PDF"
    return Ask(DOCUMENTS, asked)
