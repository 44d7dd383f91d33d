"""The API's JSON renderer."""

from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    """DRF's, except that an answer quoting a lone UTF-16 surrogate back to its sender (a JSON
    escape such as "\\ud800" sent alone, which a validation message may repeat) is written with
    its characters escaped instead of failing with a 500: such a code point cannot be encoded in
    UTF-8 (encode/django-rest-framework#7026)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            escaping = type(self)()
            escaping.ensure_ascii = True
            return renderers.JSONRenderer.render(
                escaping, data, accepted_media_type, renderer_context
            )
