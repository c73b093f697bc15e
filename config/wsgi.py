import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
site = get_wsgi_application()  # sets Django up: the import below needs the apps and URLs

from config.handlers import with_lean_webhook  # noqa: E402

application = with_lean_webhook(site)
