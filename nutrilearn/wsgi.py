import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nutrilearn.settings")
application = get_wsgi_application()
# Import every view module now, in the thread that starts the process: gunicorn would
# otherwise import the URLconf (and what the views import) in the first request threads.
get_resolver().url_patterns  # noqa: B018
