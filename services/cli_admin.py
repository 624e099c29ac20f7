"""Operator commands for organisations, users and API keys: pledgewatch org|user|apikey."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from pledge.errors import DomainError
from pledge.parties import OrgKind, Role
from services.db import make_engine, make_session_factory
from services.identity import service
from services.identity.apikeys import KeyPurpose
from services.settings import get_settings

org_app = typer.Typer(help="Manage organisations.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
apikey_app = typer.Typer(help="Manage device API keys.", no_args_is_help=True)


@contextmanager
def _session() -> Iterator[Session]:
    """A session on the configured database that commits on success; errors exit with code 1."""
    settings = get_settings()
    engine = make_engine(settings.db.url, echo=settings.db.echo)
    session = make_session_factory(engine)()
    try:
        yield session
        session.commit()
    except DomainError as exc:
        session.rollback()
        Console(stderr=True).print(f"[red]error: {escape(exc.code)}: {escape(exc.detail)}[/red]")
        raise typer.Exit(code=1) from exc
    finally:
        session.close()
        engine.dispose()


def _say(message: str) -> None:
    # No wrapping: a secret split over two lines is easy to copy wrongly.
    Console(soft_wrap=True).print(message)


@org_app.command("create")
def org_create(
    org_id: Annotated[str, typer.Argument(metavar="ID", help="Slug, e.g. bank1.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    kind: Annotated[OrgKind, typer.Option(help="Organisation kind.")],
    msp: Annotated[str, typer.Option(help="Ledger MSP id, e.g. Bank1MSP.")],
) -> None:
    """Register an organisation."""
    with _session() as session:
        org = service.create_org(session, org_id, name, kind, msp)
        _say(f"[green]created org[/green] {escape(org.id)} ({org.kind}, {escape(org.msp_id)})")


@org_app.command("list")
def org_list() -> None:
    """List organisations."""
    with _session() as session:
        table = Table("id", "name", "kind", "msp")
        for org in service.list_orgs(session):
            table.add_row(escape(org.id), escape(org.name), org.kind, escape(org.msp_id))
        Console().print(table)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    org: Annotated[str, typer.Option(help="Organisation id.")],
    role: Annotated[list[Role], typer.Option(help="Role; repeat for several.")],
    # Prompting keeps the password out of shell history when the option is left off.
    password: Annotated[
        str,
        typer.Option(
            help="Asked for when left off.", prompt=True, hide_input=True, confirmation_prompt=True
        ),
    ],
) -> None:
    """Create a user in an organisation."""
    with _session() as session:
        user = service.create_user(session, org, username, password, role)
        roles = ", ".join(user.roles)
        _say(f"[green]created user[/green] {escape(user.username)} in {escape(org)} ({roles})")


@user_app.command("list")
def user_list(org: Annotated[str, typer.Option(help="Organisation id.")]) -> None:
    """List the users of an organisation."""
    with _session() as session:
        service.get_org(session, org)
        table = Table("id", "username", "roles", "active")
        for user in service.list_users(session, org):
            active = "yes" if user.active else "no"
            table.add_row(user.id, escape(user.username), ", ".join(user.roles), active)
        Console().print(table)


@apikey_app.command("create")
def apikey_create(
    org: Annotated[str, typer.Option(help="Organisation id.")],
    name: Annotated[str, typer.Option(help="Which device holds the key.")],
    purpose: Annotated[KeyPurpose, typer.Option(help="Device kind.")],
) -> None:
    """Create a device API key and print its secret once."""
    with _session() as session:
        key, secret = service.create_api_key(session, org, name, purpose)
        _say(f"[green]created api key[/green] {key.id} ({key.prefix}) for {escape(org)}")
        _say(f"secret (shown once): {escape(secret)}")


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Revoke an API key."""
    with _session() as session:
        key = service.revoke_api_key(session, key_id, None)
        _say(f"[green]revoked api key[/green] {key.id} ({key.prefix})")
