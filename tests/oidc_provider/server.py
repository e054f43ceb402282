"""Start the test OpenID Connect provider on a free port of 127.0.0.1, with its own SQLite database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "finops-test"
CLIENT_SECRET = "finops-test-secret-0123456789"
PASSWORD = "provider password 42"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Provider:
    """One provider process; `issuer` is what the product's OIDC_ISSUER must say."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.issuer = f"{self.url}/openid"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
        self.env = env | {
            "OIDC_PROVIDER_DB": str(folder / "provider.sqlite3"),
            "OIDC_PROVIDER_URL": self.url,
            "PYTHONPATH": str(ROOT),
        }
        self.log = folder / "provider.log"
        self.process: subprocess.Popen | None = None

    def run(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "tests.oidc_provider", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=60,
        )

    def start(self) -> Provider:
        self.run("setup")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.oidc_provider", "serve", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2).ok:
                    return self
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the test provider did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self, *redirect_uris: str) -> None:
        self.run("client", CLIENT_ID, CLIENT_SECRET, *redirect_uris)

    def user(self, name: str, *groups: str, email: str | None = None) -> None:
        self.run("user", name, PASSWORD, email or f"{name}@example.com", *groups)

    def settings(self) -> dict:
        """The product's settings for this provider: what the environment variables would set."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_RP_SCOPES": "openid email profile groups",
            "OIDC_PROVIDER_NAME": "Test IdP",
        }
