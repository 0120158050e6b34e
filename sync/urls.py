from django.urls import include, path

app_name = "sync"

urlpatterns: list = [
    path("", include("sync.activity_urls")),
]
