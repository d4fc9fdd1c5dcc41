"""Bearer-token authentication for a LangGraph server (custom auth in langgraph.json).

A deployment names this module in its langgraph.json (docs/deployment.md):
`"auth": {"path": "./agent/server_auth.py:auth", "disable_studio_auth": true}`. Every
request, to the HTTP API and to /mcp alike, must then carry
`Authorization: Bearer <RESEARCH_AGENT_SERVER_TOKEN>`; a server started without that
variable refuses every request rather than run open.
"""

from __future__ import annotations

import asyncio
import hmac

from langgraph_sdk import Auth

from agent.settings import resolve

auth = Auth()
"""The handler langgraph-api loads by the path in langgraph.json."""

SCHEME = "bearer"


def _refuse(detail: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(
        status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


@auth.authenticate
async def authenticate(authorization: str | None) -> Auth.types.MinimalUserDict:
    """Admit a request whose bearer token equals the server's RESEARCH_AGENT_SERVER_TOKEN.

    The settings are read in a worker thread: reading them touches the file system (.env),
    which must not block the server's event loop.

    Raises:
        Auth.exceptions.HTTPException: 401 without that token, or when the server has none.
    """
    expected = (await asyncio.to_thread(resolve)).server_token
    if expected is None:
        raise _refuse(
            "This server has no RESEARCH_AGENT_SERVER_TOKEN set, so it admits no one: "
            "set it in the server's environment and send it as a bearer token."
        )
    scheme, _, token = (authorization or "").strip().partition(" ")
    given = token.strip().encode()
    if scheme.lower() != SCHEME or not hmac.compare_digest(
        given, expected.get_secret_value().encode()
    ):
        raise _refuse("Send `Authorization: Bearer <token>` with the server's token.")
    return {"identity": "token-holder"}
