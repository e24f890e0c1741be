from django.urls import include, path

from peerdesk.bench import trivial

urlpatterns = [
    path("trivial/", trivial),
    path("helpdesk/", include("helpdesk.urls", namespace="helpdesk")),
]
