from django.urls import path

from messaging import views

app_name = "messaging"

urlpatterns = [
    path("webhooks/whatsapp/", views.whatsapp_webhook, name="whatsapp-webhook"),
    # The staff dashboard.
    path("dashboard/", views.staff_dashboard, name="dashboard"),
    path("dashboard/events/", views.events_list, name="events"),
    path("dashboard/events/unseen/", views.events_unseen, name="events-unseen"),
    path(
        "sandbox/graph/<str:version>/<str:phone_number_id>/messages",
        views.sandbox_graph_messages,
        name="sandbox-graph-messages",
    ),
    path("sandbox/", views.sandbox_chat, name="sandbox"),
    path("sandbox/thread/", views.sandbox_thread, name="sandbox-thread"),
    path("sandbox/send/", views.sandbox_send, name="sandbox-send"),
]
