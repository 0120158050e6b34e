from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("billing/", views.billing_page, name="index"),
    path("billing/checkout/", views.start_checkout, name="checkout"),
    path("billing/portal/", views.open_portal, name="portal"),
    path("webhooks/stripe/", views.stripe_webhook, name="stripe-webhook"),
]
