from django.urls import path, register_converter

from customers.converters import CustomerIdConverter
from messaging import views
from messaging.inbox import views as inbox_views
from messaging.monitoring import views as monitoring_views

app_name = "messaging"
# Customer ids in the path: any stored id makes a URL that resolves back to it.
register_converter(CustomerIdConverter, "wa_id")

urlpatterns = [
    path("webhooks/whatsapp/", views.whatsapp_webhook, name="whatsapp-webhook"),
    # Probes for load balancers and Prometheus.
    path("healthz", monitoring_views.healthz, name="healthz"),
    path("readyz", monitoring_views.readyz, name="readyz"),
    path("metrics", monitoring_views.metrics, name="metrics"),
    # The staff dashboard.
    path("dashboard/", views.staff_dashboard, name="dashboard"),
    path("dashboard/events/", views.events_list, name="events"),
    path("dashboard/events/unseen/", views.events_unseen, name="events-unseen"),
    path(
        "sandbox/graph/<str:version>/<str:phone_number_id>/messages",
        views.sandbox_graph_messages,
        name="sandbox-graph-messages",
    ),
    path(
        "sandbox/llm/v1/chat/completions",
        views.sandbox_llm_completions,
        name="sandbox-llm-completions",
    ),
    path("sandbox/", views.sandbox_chat, name="sandbox"),
    path("sandbox/thread/", views.sandbox_thread, name="sandbox-thread"),
    path("sandbox/send/", views.sandbox_send, name="sandbox-send"),
    # The staff inbox.
    path("inbox/", inbox_views.inbox_list, name="inbox"),
    path("inbox/updates/", inbox_views.inbox_updates, name="inbox-updates"),
    path("inbox/<wa_id:wa_id>/", inbox_views.conversation, name="conversation"),
    path(
        "inbox/<wa_id:wa_id>/updates/",
        inbox_views.conversation_updates,
        name="conversation-updates",
    ),
    path("inbox/<wa_id:wa_id>/reply/", inbox_views.reply, name="conversation-reply"),
    path("inbox/<wa_id:wa_id>/read/", inbox_views.read, name="conversation-read"),
    path("inbox/<wa_id:wa_id>/pause/", inbox_views.pause, name="conversation-pause"),
    path("inbox/<wa_id:wa_id>/resume/", inbox_views.resume, name="conversation-resume"),
    path("inbox/<wa_id:wa_id>/block/", inbox_views.block, name="conversation-block"),
    path("inbox/<wa_id:wa_id>/unblock/", inbox_views.unblock, name="conversation-unblock"),
]
