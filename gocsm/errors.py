"""Error pages: one template per status, or a small JSON body when the client asked for JSON.

Nothing here echoes the request: no path, no host, no exception text.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

# What a 503 tells clients to wait before trying again.
RETRY_AFTER_SECONDS = 30

MESSAGES = {
    400: "The request could not be understood.",
    401: "Please open GoCSM from GoHighLevel.",
    402: "This is not included in your GoCSM plan.",
    403: "You do not have access to this.",
    404: "Nothing here.",
    405: "That method is not allowed here.",
    413: "The request is too large.",
    429: "Too many requests. Please wait a moment.",
    500: "Something went wrong on our side.",
    503: "GoCSM is temporarily unavailable. Please try again shortly.",
}
ERROR_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    402: "payment_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


def wants_json(request: HttpRequest) -> bool:
    accept = request.META.get("HTTP_ACCEPT", "")
    ctype = request.META.get("CONTENT_TYPE", "")
    return ("application/json" in accept and "text/html" not in accept) or ctype.startswith(
        "application/json"
    )


def error_response(request: HttpRequest, status: int, message: str | None = None) -> HttpResponse:
    """Render the error page for `status`, as HTML or JSON depending on what the client accepts.
    A 503 (a store or a provider does not answer) says when to try again."""
    text = message or MESSAGES.get(status, MESSAGES[500])
    if wants_json(request):
        response = JsonResponse(
            {"error": ERROR_CODES.get(status, "error"), "message": text}, status=status
        )
    else:
        # Rendered without the request context: an error page must not depend on a session, a
        # database or the tenant, any of which may be the thing that failed.
        template = loader.select_template([f"errors/{status}.html", "errors/error.html"])
        body = template.render({"status": status, "message": text})
        response = HttpResponse(body, status=status, content_type="text/html; charset=utf-8")
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def bad_request(request, exception=None):
    return error_response(request, 400)


def permission_denied(request, exception=None):
    return error_response(request, 403)


def page_not_found(request, exception=None):
    return error_response(request, 404)


def server_error(request):
    return error_response(request, 500)


def csrf_failure(request, reason=""):
    return error_response(request, 403)
