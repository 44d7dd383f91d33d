"""URL converters shared by the API and the portal."""


class ClaimReferenceConverter:
    """A claim reference as `CL-2024-000123` (any case). Anything else matches no URL, so it is
    a 404 before a view runs, and never reaches the database as text it cannot hold."""

    regex = r"[Cc][Ll]-[0-9]{4}-[0-9]{6}"

    def to_python(self, value: str) -> str:
        return value.upper()

    def to_url(self, value: str) -> str:
        return value
