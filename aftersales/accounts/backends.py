"""django-axes' lockout check in front of ModelBackend, for logins that come with a request (the login
pages, the API token). `authenticate()` without one (a shell, Django's test client `login()`) is no
brute-force path and is not refused for lack of a client address."""

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
