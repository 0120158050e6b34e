from django.urls import path

from analytics.playbooks import views

app_name = "playbooks"

urlpatterns = [
    path("app/playbooks/", views.index, name="index"),
    path("app/playbooks/new/", views.edit, name="new"),
    path("app/playbooks/ready/<str:key>/", views.switch_on_ready, name="switch-on-ready"),
    path("app/playbooks/<int:pk>/", views.detail, name="detail"),
    path("app/playbooks/<int:pk>/edit/", views.edit, name="edit"),
    path("app/playbooks/<int:pk>/switch/", views.switch, name="switch"),
    path("app/playbooks/<int:pk>/secret/", views.rotate_secret, name="rotate-secret"),
    path("app/tasks/", views.tasks, name="tasks"),
    path("app/tasks/<int:pk>/", views.task_update, name="task-update"),
    path("app/locations/<str:ghl_id>/tasks/", views.task_create, name="task-create"),
]
