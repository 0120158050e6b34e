"""Refuse oversized bodies with 413 before any view or parser touches them."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig

from gocsm.errors import error_response


class BodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(request, 400)
        if length < 0:
            return error_response(request, 400)
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return error_response(request, 413)
        return self.get_response(request)

    def process_exception(self, request, exception):
        # A chunked body without Content-Length trips Django's own cap while it is being read.
        if isinstance(exception, RequestDataTooBig):
            return error_response(request, 413)
        return None
