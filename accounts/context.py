def tenant(request):
    """Template context for the iframe layout: who is signed in, for which agency."""
    return {
        "agency": getattr(request, "agency", None),
        "ghl_user": getattr(request, "ghl_user", None),
    }
