from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from config import views

admin.site.site_header = admin.site.site_title = _("Clinic reservations")
admin.site.index_title = _("Staff")

handler400 = "config.errors.bad_request"

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("schedule/", include("reservations.urls")),
    path("", include("messaging.urls")),  # the webhook, the sandbox, /healthz, /readyz, /metrics
]
