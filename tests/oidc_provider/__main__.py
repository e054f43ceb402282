"""Command line of the test provider, run by tests/oidc_provider/server.py in subprocesses.

python -m tests.oidc_provider setup
python -m tests.oidc_provider client CLIENT_ID CLIENT_SECRET REDIRECT_URI...   (creates or updates)
python -m tests.oidc_provider user NAME PASSWORD EMAIL [GROUP ...]   (sets the groups exactly)
python -m tests.oidc_provider serve PORT
"""

import os
import sys

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"

import django

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402


def setup() -> None:
    call_command("migrate", verbosity=0)
    call_command("creatersakey")


def client(client_id: str, secret: str, *redirect_uris: str) -> None:
    from oidc_provider.models import Client, ResponseType

    row, _ = Client.objects.update_or_create(
        client_id=client_id,
        defaults={
            "name": "FinOps",
            "client_type": "confidential",
            "client_secret": secret,
            "jwt_alg": "RS256",
            "require_consent": False,
            "_redirect_uris": "\n".join(redirect_uris),
        },
    )
    row.response_types.set([ResponseType.objects.get(value="code")])


def user(name: str, password: str, email: str, *groups: str) -> None:
    account, _ = User.objects.get_or_create(username=name)
    account.email = email
    account.set_password(password)
    account.save()
    account.groups.set([Group.objects.get_or_create(name=group)[0] for group in groups])


def serve(port: str) -> None:
    call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, skip_checks=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"setup": setup, "client": client, "user": user, "serve": serve}[command](*args)
