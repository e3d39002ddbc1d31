"""Uploaded XML is hostile: no entities, no DTDs, no network, no DOCTYPE at all."""

from __future__ import annotations

from lxml import etree

from .errors import DefinitionInvalid


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def parse_xml(content: bytes | str, filename: str) -> etree._ElementTree:
    if isinstance(content, str):
        content = content.encode("utf-8")
    if b"<!DOCTYPE" in content.upper():
        raise DefinitionInvalid(
            f"{filename}: a DOCTYPE is not allowed (no DTDs or entities)", {filename: "a DOCTYPE is not allowed"}
        )
    try:
        tree = etree.ElementTree(etree.fromstring(content, _parser()))
    except etree.XMLSyntaxError as err:
        raise DefinitionInvalid(
            f"{filename}: malformed XML: {err}", {filename: f"malformed XML: {err}"}
        ) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise DefinitionInvalid(
            f"{filename}: a DOCTYPE is not allowed", {filename: "a DOCTYPE is not allowed"}
        )
    return tree
