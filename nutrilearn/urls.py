from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from predictions.views import photo

from .api_errors import api_not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/redoc", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/v1/mlops/", include("mlops.api_urls")),
    path("api/v1/", include("predictions.api_urls")),
    re_path(r"^api/", api_not_found),
    # Stored photos: checked per request (owner or staff), never a public folder.
    re_path(r"^media/(?P<path>.+)$", photo, name="media-photo"),
    path("", include("mlops.urls")),
    path("", include("predictions.urls")),
]

handler500 = "nutrilearn.server_errors.server_error"
