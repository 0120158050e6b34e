"""Development-only pages (the GHL shell). Each view answers 404 unless settings.DEV_TOOLS."""

app_name = "dev"

urlpatterns: list = []
