"""Sign-in lockout (django-axes) for every sign-in made through the web: the portal, the admin
and the API token endpoint."""

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out username before any password is checked. A sign-in with no request
    (a management command, a shell) cannot be tried over and over from outside, so it is left
    to the next backend instead of failing."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
