from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView

from .api_errors import api_not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/mlops/", include("mlops.api_urls")),
    path("api/v1/", include("predictions.api_urls")),
    re_path(r"^api/", api_not_found),
    path("", include("mlops.urls")),
    path("", include("predictions.urls")),
]


def media(request, path):
    """Uploaded photos, for development and single-machine runs (MEDIA_ROOT read per request)."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)


if settings.DEBUG or settings.NUTRILEARN_SERVE_MEDIA:
    # In production put media behind the web server or object storage instead.
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", media)]
