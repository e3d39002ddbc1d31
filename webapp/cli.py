"""Command-line: deploy processes, demo accounts, API tokens, the worker, audit verify."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app

from .extensions import db

# `audit verify` starts a pool of processes (one per core) from this many instances on: each
# process needs a second or two to start its own application.
AUTO_POOL_MIN_INSTANCES = 1000


def register_cli(app: Flask) -> None:
    app.cli.add_command(deploy_processes)
    app.cli.add_command(create_demo_users)
    app.cli.add_command(api_token)
    app.cli.add_command(create_user_command)
    app.cli.add_command(worker)
    app.cli.add_command(audit)


@click.command("deploy-processes")
@click.option("--dir", "directory", default=None, help="folder of .bpmn files (default: processes/)")
@click.option("--replace", is_flag=True, help="a diagram whose process id belongs to another file becomes its new version")
def deploy_processes(directory: str | None, replace: bool) -> None:
    """Deploy every diagram in processes/ (a new version only where the content changed)."""
    from workers import registry

    from .audit import system_log
    from .engine import clock, definitions
    from .engine.errors import EngineError

    directory = directory or current_app.config["PROCESSES_DIR"]
    try:
        results = definitions.deploy_directory(
            directory, actor="cli", now=clock.now(), known_operators=registry.names(), replace=replace
        )
        system_log.deployed_all(results, actor="cli")
        db.session.commit()
    except EngineError as err:
        db.session.rollback()
        click.echo(f"deploy failed: {err.message}", err=True)
        for element, reason in err.errors.items():
            click.echo(f"  {element}: {reason}", err=True)
        sys.exit(2)
    for definition, created in results:
        state = "deployed" if created else "unchanged"
        click.echo(f"{definition.key} v{definition.version} {state}")


@click.command("create-demo-users")
@click.option("--file", "path", default=None, help="where to keep the logins (mode 600)")
def create_demo_users(path: str | None) -> None:
    """One account per role plus admin, random passwords, printed once and kept in a file."""
    from .accounts import create_demo_accounts
    from .audit import system_log

    created = create_demo_accounts()
    system_log.accounts_created(created, actor="cli")
    path = Path(path or Path(current_app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")).parent / "demo-logins.txt")
    if created:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            for username, password in created.items():
                out.write(f"{username}\t{password}\n")
        os.chmod(path, 0o600)
        click.echo("New demo accounts (username / password):")
        for username, password in created.items():
            click.echo(f"  {username:22s} {password}")
    click.echo(f"Logins are kept in {path} (readable only by you).")


@click.command("api-token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="what the token is for (listed in the settings page)")
@click.option("--expires", default=None, metavar="DAYS|never",
              help="days until the token expires (default API_TOKEN_DAYS, 90), or 'never'")
def api_token(username: str, name: str, expires: str | None) -> None:
    """Print a new API bearer token for USERNAME (only its SHA-256 is stored)."""
    from datetime import timedelta

    from .accounts import default_token_days, issue_token
    from .audit import system_log
    from .models import User

    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        click.echo(f"no user {username!r}", err=True)
        sys.exit(2)
    if expires is None:
        lifetime: timedelta | None = timedelta(days=default_token_days())
    elif expires.strip().lower() == "never":
        lifetime = None
    elif expires.strip().isdigit() and 1 <= int(expires) <= 36500:
        lifetime = timedelta(days=int(expires))
    else:
        click.echo(f"--expires: give a number of days from 1 to 36500, or 'never' (not {expires!r})", err=True)
        sys.exit(2)
    token = issue_token(user, name.strip()[:100], lifetime, commit=False)
    system_log.record("api_token_issued", actor="cli", subject=user.username,
                      payload={"name": name.strip()[:100], "days": lifetime.days if lifetime else None})
    db.session.commit()
    click.echo(token)


@click.command("create-user")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", "roles", multiple=True, required=True)
def create_user_command(username: str, password: str, roles: tuple[str, ...]) -> None:
    """Create a staff account with one or more roles."""
    from .accounts import create_user
    from .audit import system_log

    try:
        system_log.account_created(create_user(username, password, list(roles)), actor="cli")
        db.session.commit()
    except ValueError as err:
        db.session.rollback()
        click.echo(str(err), err=True)
        sys.exit(2)
    click.echo(f"created {username}")


@click.command("worker")
@click.option("--once", is_flag=True, help="run until nothing is due, then exit")
@click.option("--id", "worker_id", default=None)
def worker(once: bool, worker_id: str | None) -> None:
    """Run service-task jobs and fire due timers."""
    from workers.loop import WorkerSettings, default_worker_id, drain, run_forever

    from .logging_setup import configure_logging

    configure_logging()
    settings = WorkerSettings.from_config(current_app.config)
    worker_id = worker_id or default_worker_id()
    if once:
        click.echo(f"work done: {drain(worker_id, settings)}")
        return
    # As in gunicorn.conf.py's post_worker_init: the ~170,000 objects of the loaded app live as
    # long as the process, and the cycle collector's full walks over them cost ~1 ms a command.
    gc.freeze()
    run_forever(worker_id, settings)


@click.group("audit")
def audit() -> None:
    """Auditors' commands."""


@audit.command("verify")
@click.option("--instance", "only", type=int, multiple=True, help="verify only these instance ids")
@click.option("--against", "against", type=click.Path(exists=True, dir_okay=False), default=None,
              help="a digest.json exported from a signed checkpoint: also prove nothing before it was rewritten")
@click.option("--processes", "processes", type=click.IntRange(min=1), default=None,
              help="verify in this many processes (default: one per CPU core when there are more than "
                   f"{AUTO_POOL_MIN_INSTANCES} instances, else one)")
def audit_verify(only: tuple[int, ...], against: str | None, processes: int | None) -> None:
    """Verify every instance (hash chain, replay equals snapshot, definitions match their hash) and the system log;
    with --against, also compare the record with a signed checkpoint digest."""
    from .audit import bulk_verify, checkpoints, system_log
    from .models import Instance

    checkpoint_failed = False
    if against:
        try:
            result = checkpoints.verify_against(checkpoints.load_document(open(against, "rb").read()))
        except checkpoints.DigestRefused as err:
            click.echo(f"digest refused: {err}", err=True)
            sys.exit(2)
        db.session.rollback()
        at = result["checkpoint"]["at"]
        if result["verified"]:
            click.echo(f"checkpoint {at}: signature valid; {result['instances']} instances and {result['definitions']} "
                       "process versions as signed")
        else:
            checkpoint_failed = True
            click.echo(f"checkpoint {at}: signature valid; {len(result['problems'])} change(s) since it was signed:")
            for problem in result["problems"]:
                click.echo(f"  {checkpoints.describe(problem)}")
    query = db.select(Instance.id).order_by(Instance.id)
    ids = db.session.scalars(query.where(Instance.id.in_(only)) if only else query).all()
    if processes is None:
        processes = (os.cpu_count() or 1) if len(ids) > AUTO_POOL_MIN_INSTANCES else 1
    with click.progressbar(length=len(ids), label="verifying", file=sys.stderr) as bar:
        run = bulk_verify.verify_ids(current_app._get_current_object(), ids, processes, progress=bar.update)
    failures = run.failures
    click.echo(f"{len(ids)} instances, {run.events} events verified, {len(failures)} failed")
    click.echo(run.summary(), err=True)
    for instance_id, result in failures:
        click.echo(f"  instance {instance_id}: first bad event {result['first_bad_seq']}: {result['reason']}")
    log = system_log.verify()
    db.session.rollback()
    _echo_system_log(log)
    if failures or not log["verified"] or checkpoint_failed:
        sys.exit(1)


@audit.command("checkpoint")
@click.option("--export", "export", type=click.Path(dir_okay=False), default=None, help="also write its digest.json here")
def audit_checkpoint(export: str | None) -> None:
    """Sign a checkpoint of the whole record now (Ed25519, key in CHECKPOINT_KEY_PATH)."""
    from .audit import checkpoints

    row = checkpoints.create("cli")
    db.session.commit()
    click.echo(f"checkpoint {row.id} at {row.at}: digest {row.digest}")
    if export:
        with open(export, "wb") as handle:
            handle.write(checkpoints.document_bytes(row))
        click.echo(f"written {export}")


@audit.command("export-checkpoint")
@click.argument("checkpoint_id", type=int, required=False)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default="digest.json", show_default=True)
def audit_export_checkpoint(checkpoint_id: int | None, output: str) -> None:
    """Write a checkpoint's digest.json (default: the latest)."""
    from .audit import checkpoints
    from .models import Checkpoint

    row = db.session.get(Checkpoint, checkpoint_id) if checkpoint_id else checkpoints.latest()
    if row is None:
        click.echo("no such checkpoint (create one with `flask audit checkpoint`)", err=True)
        sys.exit(1)
    with open(output, "wb") as handle:
        handle.write(checkpoints.document_bytes(row))
    click.echo(f"checkpoint {row.id} at {row.at} written to {output}")


@audit.command("public-key")
def audit_public_key() -> None:
    """Print the checkpoint signing key's public half (PEM) for auditors."""
    from .audit import signing

    click.echo(signing.public_pem().decode("ascii"), nl=False)


def _echo_system_log(result: dict) -> None:
    if result["verified"]:
        click.echo(f"system log: {result['events']} entries verified, head {result['head'] or '-'}")
    else:
        click.echo(f"system log: FAILED: first bad entry {result['first_bad_seq']}: {result['reason']}")


@audit.command("verify-system-log")
def audit_verify_system_log() -> None:
    """Verify the system log's hash chain up to its head."""
    from .audit import system_log
    from .models import SystemLogEvent

    total = db.session.scalar(db.select(db.func.count(SystemLogEvent.id))) or 0
    with click.progressbar(length=total, label="verifying the system log", file=sys.stderr) as bar:
        result = system_log.verify(progress=bar.update)
    db.session.rollback()
    _echo_system_log(result)
    if not result["verified"]:
        sys.exit(1)
