"""The account commands of the command line: ``posology user …`` and ``posology token …``.

An account is made with a password (prompted on a terminal, or one line on standard input with
``--password-stdin``), so every account the banner's command makes can log in. A clinic must
exist before its accounts unless ``--create-clinic`` is given: a misspelt clinic name must not
make a new, empty clinic. Disabling an account or revoking a token takes effect at once.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

EXIT_OK = 0
ROLE_CHOICES = ("prescriber", "nurse", "pharmacist", "admin", "clinician")


def _engine() -> Any:
    from .store.db import open_engine, upgrade

    engine = open_engine()
    upgrade(engine)
    return engine


def _password(args: argparse.Namespace) -> str:
    """The new password: one line of standard input, or typed twice at a terminal prompt."""
    from .errors import InputError

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise InputError(
            "password", "give --password-stdin to read it from standard input, or run on a terminal"
        )
    first = getpass.getpass("New password (at least 10 characters): ")
    if getpass.getpass("The same password again: ") != first:
        raise InputError("password", "the two passwords differ; run the command again")
    return first


def cmd_user_add(args: argparse.Namespace) -> int:
    from .services import accounts

    password = _password(args)
    engine = _engine()
    if args.role in accounts.ROLE_ALIASES:
        print(
            f"note: the {args.role} role is now called {accounts.ROLE_ALIASES[args.role]}",
            file=sys.stderr,
        )
    user = accounts.add_user(
        engine, args.email, args.clinic, args.role, password, create_clinic=args.create_clinic
    )
    print(f"added {user.email} ({user.role}) to clinic {user.clinic}; they can log in now")
    return EXIT_OK


def cmd_user_set_password(args: argparse.Namespace) -> int:
    from .services import accounts

    password = _password(args)
    accounts.set_password(_engine(), args.email, password)
    print(f"password of {args.email} set; their open sessions have ended")
    return EXIT_OK


def cmd_user_list(args: argparse.Namespace) -> int:
    from .services import accounts

    for u in accounts.list_users(_engine()):
        state = "active" if u["active"] else "disabled"
        login = "" if u["password_set"] else ", no password (cannot log in)"
        print(f"{u['email']}\t{u['clinic']}\t{u['role']}\t{state}{login}")
    return EXIT_OK


def cmd_user_disable(args: argparse.Namespace) -> int:
    from .services import accounts

    accounts.disable_user(_engine(), args.email)
    print(f"{args.email} disabled: its tokens are revoked and its sessions ended")
    return EXIT_OK


def cmd_token_create(args: argparse.Namespace) -> int:
    from .services import accounts

    print(accounts.create_token(_engine(), args.email, args.days))
    return EXIT_OK


def cmd_token_list(args: argparse.Namespace) -> int:
    from .services import accounts

    for t in accounts.list_tokens(_engine(), args.email):
        state = f"revoked {t['revoked']}" if t["revoked"] else f"expires {t['expires'] or 'never'}"
        print(f"{t['id']}\t{t['email']}\tcreated {t['created']}\t{state}")
    return EXIT_OK


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from .services import accounts

    accounts.revoke_token(_engine(), args.id)
    print(f"token {args.id} revoked")
    return EXIT_OK


def add_commands(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """Register ``user`` and ``token`` on the main parser's subcommands."""
    p = sub.add_parser("user", help="manage accounts")
    user_sub = p.add_subparsers(dest="user_command", metavar="ACTION", parser_class=parser_class)
    user_sub.required = True
    q = user_sub.add_parser("add", help="create an account with its password")
    q.add_argument("email")
    q.add_argument("--clinic", required=True)
    q.add_argument(
        "--role",
        required=True,
        choices=ROLE_CHOICES,
        help="prescriber, nurse, pharmacist or admin (clinician: the old name of prescriber)",
    )
    q.add_argument("--create-clinic", action="store_true", help="create the clinic if it is new")
    q.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    q.set_defaults(run=cmd_user_add)
    q = user_sub.add_parser("set-password", help="set an account's password (ends its sessions)")
    q.add_argument("email")
    q.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    q.set_defaults(run=cmd_user_set_password)
    q = user_sub.add_parser("list", help="every account, its clinic, role and state")
    q.set_defaults(run=cmd_user_list)
    q = user_sub.add_parser("disable", help="disable an account at once (tokens and sessions end)")
    q.add_argument("email")
    q.set_defaults(run=cmd_user_disable)

    p = sub.add_parser("token", help="manage API tokens")
    token_sub = p.add_subparsers(dest="token_command", metavar="ACTION", parser_class=parser_class)
    token_sub.required = True
    q = token_sub.add_parser("create", help="print a new API token for an account")
    q.add_argument("email")
    q.add_argument("--days", type=int, help="valid for this many days (default: until revoked)")
    q.set_defaults(run=cmd_token_create)
    q = token_sub.add_parser("list", help="the tokens (never their secret), with their state")
    q.add_argument("--email", help="only this account's tokens")
    q.set_defaults(run=cmd_token_list)
    q = token_sub.add_parser("revoke", help="revoke a token by its id (from token list)")
    q.add_argument("id", type=int)
    q.set_defaults(run=cmd_token_revoke)
