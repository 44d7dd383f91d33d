"""Sign-in lockout (django-axes) for every sign-in made through the web: the portal, the admin
and the API token endpoint."""

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out username before any password is checked. A sign-in with no request
    (a management command, a shell) cannot be tried over and over from outside, so it is left
    to the next backend instead of failing."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        except AxesBackendPermissionDenied:
            # The API token view hands over DRF's Request; axes' middleware looks at the
            # Django request inside it to answer with the lockout response.
            inner = getattr(request, "_request", None)
            if inner is not None:
                inner.axes_locked_out = True
            raise
