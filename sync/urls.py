app_name = "sync"

urlpatterns: list = []
