"""`research-agent mcp`: the read-only MCP server, over stdio or streamable HTTP on loopback."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from agent.cli.options import RunFlags, run_flags, settings_with
from tools.errors import ConfigError, ResearchAgentError

INSTALL_HINT = "pip install 'research-agent[mcp]'"


def loopback(address: str) -> tuple[str, int]:
    """(host, port) of a HOST:PORT on this machine only.

    Raises:
        ConfigError: Not HOST:PORT, a port out of range, or a host that is not loopback.
    """
    host, sep, port_text = address.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"--http must be HOST:PORT, e.g. 127.0.0.1:8765; got '{address}'.")
    is_loopback = host == "localhost"
    try:
        is_loopback = is_loopback or ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if not is_loopback:
        raise ConfigError(
            f"--http serves on loopback only (127.0.0.1, ::1 or localhost), not '{host}': "
            "the server has no authentication. Put an authenticating proxy in front to share it."
        )
    return host, int(port_text)


@run_flags()
def mcp(
    *,
    http: Annotated[
        str | None,
        typer.Option(
            "--http",
            metavar="HOST:PORT",
            help="Serve streamable HTTP on this loopback address (path /mcp) instead of stdio.",
        ),
    ] = None,
    flags: RunFlags,
) -> None:
    """Serve the documents to MCP clients (read-only tools: search, fetch, ask, report).

    stdio by default, for desktop and IDE clients that start the server themselves.
    """
    address = loopback(http) if http else None
    settings = settings_with(**{n: flags.get(n) for n in ("k", "collection", "milvus_uri")})
    run_options = dict(flags)
    try:
        # lazy: the mcp SDK is an optional extra, and the server loads the graph (+1.3 s)
        from agent.mcp_server import ServerConfig, build_server
    except ModuleNotFoundError as exc:
        if exc.name != "mcp" and not (exc.name or "").startswith("mcp."):
            raise
        raise ResearchAgentError(
            f"the MCP server needs the mcp extra: {INSTALL_HINT}, then run this again."
        ) from None
    config = ServerConfig(settings, run_options)
    if address is None:
        build_server(config, log_level="WARNING").run("stdio")
        return
    host, port = address
    typer.echo(f"MCP server on http://{host}:{port}/mcp (Ctrl-C stops it)", err=True)
    build_server(config, host=host, port=port, log_level="WARNING").run("streamable-http")


def register(app: typer.Typer) -> None:
    """Add the `mcp` command to the app."""
    app.command()(mcp)
