"""A customer's id as one URL path segment, whatever the id holds.

Ids are Meta's (digits, or a business-scoped user id such as `US.1349...`), but the table may hold
anything an older intake let in: `a/b`, `..`, spaces, markup, an empty-looking or very long one.
Digits go into the path as they are (`/inbox/966501234567/`); any other id goes as `~` and its
UTF-8 bytes in unpadded base64url, which is one segment of `[A-Za-z0-9_-]` that no browser
rewrites and that never collides with a fixed route such as `inbox/updates/`.
"""

import base64
import binascii

MARK = "~"


def customer_id_to_url(wa_id: str) -> str:
    if wa_id.isascii() and wa_id.isdecimal():
        return wa_id
    encoded = base64.urlsafe_b64encode(wa_id.encode("utf-8", "surrogatepass"))
    return MARK + encoded.rstrip(b"=").decode("ascii")


def customer_id_from_url(segment: str) -> str:
    """The id in `segment`; raises ValueError when it is not one `customer_id_to_url` makes."""
    if not segment.startswith(MARK):
        return segment
    body = segment[len(MARK) :]
    try:
        padded = body + "=" * (-len(body) % 4)
        wa_id = base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"not a customer id: {segment!r}") from exc
    if "\x00" in wa_id:  # no stored id holds one (PostgreSQL refuses it in any text)
        raise ValueError(f"not a customer id: {segment!r}")
    return wa_id


class CustomerIdConverter:
    """Path converter `<wa_id:...>` for customer ids (see the module's docstring)."""

    regex = r"[0-9]+|~[A-Za-z0-9_-]*"

    def to_python(self, value: str) -> str:
        return customer_id_from_url(value)  # ValueError: no match, so a 404

    def to_url(self, value: str) -> str:
        return customer_id_to_url(str(value))
