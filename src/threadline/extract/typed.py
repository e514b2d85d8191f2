"""A value an analyst typed, read as extraction stores it: the value a hub mark names.

The command line (`mark-hub`) and the server's API both take a phone, an e-mail, a handle, an
image's hash or a text as a person types it, and must find the same stored value.
"""

from __future__ import annotations

import re

from threadline.extract.contacts import find_emails, find_handles
from threadline.extract.phones import find_phones

__all__ = ["hub_value"]


def hub_value(kind: str, typed: str, region: str = "US") -> str:
    """``typed`` as extraction stores a value of ``kind`` (phone, email, handle, image, text).

    A phone in any format (713-555-0142, +1 713 555 0142; a tenure as `hubs` lists it:
    ``+17135550142 from 2026-08-01``), an e-mail address, a handle (instagram:name, a profile
    URL), an image's SHA-256, a text as `hubs` lists it (its two sentences' hashes, ``"H1 H2"``).
    Raises `ValueError`, with a sentence for the person who typed it, when it is none of these.
    """
    text = typed.strip()
    if kind == "text":
        if not re.fullmatch(r"-?\d{1,20}( -?\d{1,20})?", text):
            raise ValueError(f"{typed}: not a text as `hubs` lists it (one or two sentence hashes)")
        return text
    if kind == "image":
        if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
            raise ValueError(f"{typed}: not an image's SHA-256 (64 hex digits)")
        return text.lower()
    tenure = ""
    if kind == "phone":
        # a tenure's value, as `hubs` lists it: "+17135550142 from 2026-08-01"
        m = re.fullmatch(r"(.+?)\s+from\s+(\d{4}-\d{2}-\d{2})", text)
        if m:
            text, tenure = m.group(1), f" from {m.group(2)}"
        try:
            found = find_phones([("value", text)], region)
        except Exception as exc:  # an unknown region: phonenumbers has no metadata for it
            raise ValueError(f"{region}: not a region (an ISO country code such as US or GB)") from exc
        what = "a phone number"
    elif kind == "email":
        found, what = find_emails([("value", text)]), "an e-mail address"
    elif kind == "handle":
        found, what = find_handles([("value", text)]), "a handle (platform:name or a profile URL)"
    else:
        raise ValueError(f"{kind!r}: a hub is a phone, email, handle, image or text")
    values = list(dict.fromkeys(f.value for f in found))
    if not values:
        raise ValueError(f"{typed}: not {what}")
    if len(values) > 1:
        raise ValueError(f"{typed}: more than one value ({', '.join(values)}); mark one at a time")
    return values[0] + tenure
