"""A real JupyterHub that states its public address (``c.JupyterHub.public_url``): what the
platform states comes first, before anything learnt from requests.

- carol: JupyterHub >= 5 puts ``$JUPYTERHUB_PUBLIC_URL`` in the server's environment;
- dave: a spawner that passes on none of the variables naming the public address (older hubs,
  batch spawners keeping only some variables), with a server token allowed to read its own
  server: the extension asks the Hub's API for the server's ``full_url``.

No browser opens these servers; the only requests they see come from a token script at their
internal address, so a URL naming the stated host can only come from the statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from _hub import (
    SETUP,
    Hub,
    KernelClient,
    deliver_and_check,
    kernel_public_url,
    require_tools,
    run_hub,
)

pytestmark = pytest.mark.timeout(300)

PUBLIC = "https://hub.example.test"
STATED = f"""
c.JupyterHub.public_url = "{PUBLIC}/"
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", "read:servers!server"]
# dave's spawner passes on none of the variables that name the public address (as older hubs,
# or batch spawners that keep only some variables): only the Hub's API can say it
def _unless_dave(value):
    return lambda spawner: "" if spawner.user.name == "dave" else value(spawner)

c.Spawner.environment.update(
    JUPYTERHUB_PUBLIC_URL=_unless_dave(lambda spawner: spawner.public_url),
    JUPYTERHUB_PUBLIC_HUB_URL=_unless_dave(lambda spawner: spawner.public_hub_url),
    JUPYTERHUB_HOST=_unless_dave(lambda spawner: spawner.hub.public_host),
)
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    require_tools()
    with run_hub(tmp_path_factory.mktemp("stated-hub"), extra_config=STATED) as running:
        for name in ("carol", "dave"):
            assert running.api("POST", f"users/{name}")[0] in (201, 409)
            assert running.api("POST", f"users/{name}/server")[0] in (201, 202)
        yield running


@pytest.mark.parametrize("user", ["carol", "dave"])
def test_the_hubs_statement_comes_first(hub: Hub, user: str) -> None:
    hub.wait_for_server(user)
    kernel = KernelClient(hub.server_url(user), hub.user_token(user))
    try:
        kernel.run(SETUP)
        env = kernel.run(
            "import os; print([os.environ.get(v) for v in "
            "('JUPYTERHUB_PUBLIC_URL', 'JUPYTERHUB_PUBLIC_HUB_URL', 'JUPYTERHUB_HOST')])"
        )
        stated = [f"{PUBLIC}/user/{user}/", f"{PUBLIC}/hub/", PUBLIC]
        assert env.strip() == repr(["", "", ""] if user == "dave" else stated)
        url, warned = kernel_public_url(kernel)
        assert url.startswith(f"{PUBLIC}/user/{user}/hooklab/in/"), url
        assert warned == []
        # the named host is the (fictional) public one; the path works through the Hub's proxy
        deliver_and_check(kernel, hub.url + urlsplit(url).path)
    finally:
        kernel.shutdown()
