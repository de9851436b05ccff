"""The ``posology`` command: check, plan, explain, rules, fhir, audit, serve, user, token, db.

A thin shell over the pure core, built on the standard library's argparse (``cli_parser``) so
that it starts in a few milliseconds (a CLI framework that imports a validation library on
start-up costs more than the whole check); the plainest ``check`` lines skip even argparse.
Exit status follows the contract: 0 when nothing of severity error or critical was found, 1
when something was, 2 when the input is unusable. An unusable input gives one line on standard
error naming the field and the fix, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC
from types import SimpleNamespace
from typing import TYPE_CHECKING

from .errors import InputError, PosologyError

if TYPE_CHECKING:
    from argparse import Namespace

    from .knowledge.schema import Pack

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 70

DESCRIPTION = (
    "Check and plan baclofen doses against cited label rules. Posology supports clinical "
    "judgement; it does not replace it."
)


class UsageError(PosologyError):
    """A command line or input file that cannot be used (exit status 2)."""


def _read_input(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    if not os.path.isfile(path):  # os.path, not pathlib: pathlib costs `check` its start-up
        raise UsageError(f"{path}: no such file; give the path of a JSON document, or - for stdin")
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text; save the document as UTF-8 JSON") from None


def _print_json(document: object) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=2))


def cmd_check(args: Namespace) -> int:
    from .knowledge import load_pack
    from .model import read_case
    from .rules import check

    try:
        case = read_case(_read_input(args.case))
    except InputError as exc:
        raise UsageError(f"input error: {exc}") from None
    pack = load_pack(case.proposal.medicine, profile=args.profile)
    findings = check(case.patient, case.history, case.proposal, pack)
    if args.format == "json":
        from .serialize import check_answer

        _print_json(check_answer(findings, pack))
    else:
        from .render import render_check

        print(render_check(findings, pack))
    serious = any(f.severity.value in ("error", "critical") for f in findings)
    return EXIT_FINDINGS if serious else EXIT_OK


def cmd_plan(args: Namespace) -> int:
    from .knowledge import load_pack
    from .planning import plan, read_request

    try:
        request = read_request(_read_input(args.request))
    except InputError as exc:
        raise UsageError(f"input error: {exc}") from None
    pack = load_pack(request.goal.medicine, profile=args.profile)
    result = plan(request, pack)
    if args.format == "json":
        from .serialize import plan_json

        _print_json(plan_json(result, pack))
    elif args.format == "fhir":
        from .interop.fhir_out import daily_ceiling, plan_bundle

        _print_json(plan_bundle(result, pack, daily_ceiling(request, pack)))
    elif args.format == "csv":
        from .export.plan_csv import render_csv

        sys.stdout.write(render_csv(result))
    elif args.format == "ics":
        from datetime import datetime

        from .export.plan_ics import render_ics

        sys.stdout.flush()
        sys.stdout.buffer.write(render_ics(result, datetime.now(UTC)))
    else:
        from .export.plan_text import render_plan

        print(render_plan(result, pack))
    return EXIT_OK if result.made else EXIT_FINDINGS


def cmd_fhir_export(args: Namespace) -> int:
    """The history of a CASE as a FHIR R4 Bundle, one resource per event, that the FHIR reader
    (and so the CDS Hooks prefetch) reads back as the same events."""
    from .interop.fhir_out import history_bundle
    from .knowledge import load_pack
    from .model import read_case

    try:
        case = read_case(_read_input(args.case))
    except InputError as exc:
        raise UsageError(f"input error: {exc}") from None
    _print_json(history_bundle(case.history, load_pack(profile=args.profile)))
    return EXIT_OK


def cmd_explain(args: Namespace) -> int:
    from .knowledge import load_pack

    pack = load_pack(args.medicine, args.profile)
    rule_id = args.rule_id.strip()
    if rule_id.upper() not in pack.rules:
        pack = _pack_holding(rule_id.upper(), pack, args.profile)
    rule = pack.rule(rule_id)
    if args.format == "json":
        from .serialize import rule_json

        _print_json(rule_json(rule))
    else:
        from .render import render_rule

        print(render_rule(rule, pack))
    return EXIT_OK


def _pack_holding(rule_id: str, asked: Pack, profile: str) -> Pack:
    """The loaded pack whose rules hold ``rule_id`` (rule IDs are unique across the shipped
    packs: each medicine's have their own prefix), ``asked`` when none does (its look-up then
    names the nearest ID)."""
    from .knowledge import load_pack
    from .knowledge.loader import shipped_profiles

    for medicine, profiles in shipped_profiles().items():
        if medicine != asked.medicine:
            other = load_pack(medicine, profile if profile in profiles else "default")
            if rule_id in other.rules:
                return other
    return asked


def cmd_rules(args: Namespace) -> int:
    from .knowledge import load_pack

    pack = load_pack(args.medicine, args.profile)
    selected = pack.by_route(args.route)
    if args.format == "json":
        from .serialize import rule_json

        _print_json([rule_json(r) for r in selected])
    else:
        from .render import render_rules

        print(render_rules(selected, pack))
    return EXIT_OK


def cmd_audit(args: Namespace) -> int:
    """Judge every event of a dataset; exit 0, 1 (an error or critical finding) or 2 (unusable
    input, the output marked partial)."""
    from pathlib import Path

    if args.synthetic is not None:
        from .audit.synthetic import write_dataset

        written = write_dataset(Path(args.out), args.synthetic, seed=args.seed, fmt=args.format)
        for path in written:
            print(path)
        return EXIT_OK
    if args.events is None:
        raise UsageError("audit: EVENTS missing; give the events file or dataset folder")
    from .audit import AuditOptions, run_audit

    result = run_audit(
        AuditOptions(
            events=Path(args.events),
            out=Path(args.out),
            patients=None if args.patients is None else Path(args.patients),
            source=args.source,
            fmt=args.format,
            engine=args.engine,
            master=args.master,
            workers=args.workers,
            profile=args.profile,
        )
    )
    s = result.summary
    line = (
        f"{s['events_judged']:,} events of {s['patients']:,} patients judged: "
        f"{s['findings']:,} findings ({s['serious_findings']:,} error or critical); "
        f"{s['problems']['unmapped']:,} rows unmapped; output in {result.out}"
    )
    print(line)
    if result.exit_status == EXIT_INPUT:
        first = result.invalid[0] if result.invalid else {}
        where = first.get("source_file", "")
        if first.get("source_row"):
            where += f": row {first['source_row']}"
        if first.get("column"):
            where += f", column {first['column']}"
        count = s["problems"]["invalid"]
        print(
            f"posology: {where}: {first.get('message', '')}; {count} row(s) could not be read "
            f"(listed in {result.out / 'problems.csv'}); the output is partial",
            file=sys.stderr,
        )
    return result.exit_status


def cmd_serve(args: Namespace) -> int:
    import logging

    import uvicorn

    from .server.app import create_app, settle_memory
    from .server.workers import GRACEFUL_SECONDS
    from .store.db import open_engine

    # the access log (method, path, status, time; never a query, header or body) on stderr
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its set-up chatter is no news
    if args.workers > 1:
        from .server.workers import serve

        create_app(open_engine())  # migrate once, before the workers start
        serve(args.host, args.port, args.workers)  # each worker builds its app from DATABASE_URL
        return EXIT_OK
    app = create_app(open_engine())
    settle_memory()
    print(f"Posology listening on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )
    return EXIT_OK


def cmd_clinic_policy(args: Namespace) -> int:
    from .services import clinic as clinic_settings
    from .store.db import open_engine, upgrade

    engine = open_engine()
    upgrade(engine)
    clinic_settings.set_clinic_policy(engine, args.clinic, args.policy)
    print(f"override policy of {args.clinic} set to {args.policy}")
    return EXIT_OK


def cmd_clinic_contact(args: Namespace) -> int:
    from .services import clinic as clinic_settings
    from .store.db import open_engine, upgrade

    engine = open_engine()
    upgrade(engine)
    clinic_settings.set_clinic_contact(engine, args.clinic, args.contact)
    print(f"contact of {args.clinic} set")
    return EXIT_OK


def cmd_clinic_zone(args: Namespace) -> int:
    from .services.clinic import set_clinic_zone
    from .store.db import open_engine, upgrade

    engine = open_engine()
    upgrade(engine)
    set_clinic_zone(engine, args.clinic, args.zone)
    print(f"time zone of {args.clinic} set to {args.zone}")
    return EXIT_OK


def cmd_clinic_profile(args: Namespace) -> int:
    from .services.clinic import set_clinic_profile, shipped_profile
    from .store.db import open_engine, upgrade

    shipped_profile(args.profile)  # an unknown profile is refused before the database is opened
    engine = open_engine()
    upgrade(engine)
    set_clinic_profile(engine, args.clinic, args.profile)
    print(f"jurisdiction profile of {args.clinic} set to {args.profile}")
    return EXIT_OK


def cmd_db_upgrade(args: Namespace) -> int:
    from .store.db import database_url, open_engine, upgrade

    upgrade(open_engine())
    url = database_url()
    print(f"database at the latest schema ({url.split('@')[-1] if '@' in url else url})")
    return EXIT_OK


def check_arguments(argv: Sequence[str]) -> Namespace | None:
    """The arguments of the plainest ``posology check`` command lines, read without argparse.

    ``check CASE`` with at most ``--format text|json`` and ``--profile NAME`` (each given once,
    as two words or with ``=``) is what scripts run most; argparse's import, its translations
    look-up and the building of the parser cost such a run several milliseconds of its start.
    Anything else (help, an unknown or repeated option, a missing value, an option's value
    that argparse would refuse) gives None, and argparse reads the line with its own messages.
    """
    if len(argv) < 2 or argv[0] != "check":
        return None
    given: dict[str, str] = {}
    case: str | None = None
    words = iter(argv[1:])
    for word in words:
        if word.startswith("--") and word != "--":
            name, equals, value = word.partition("=")
            if name not in ("--format", "--profile") or name in given:
                return None
            if not equals:
                value = next(words, "")
            if not value or value.startswith("-"):
                return None
            given[name] = value
        elif word.startswith("-") and word != "-":
            return None
        elif case is None:
            case = word
        else:
            return None
    if case is None or given.get("--format", "text") not in ("text", "json"):
        return None
    arguments: Namespace = SimpleNamespace(  # type: ignore[assignment]  # read as argparse's
        command="check",
        case=case,
        format=given.get("--format", "text"),
        profile=given.get("--profile", "default"),
        run=cmd_check,
    )
    return arguments


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status (the testable core of :func:`main`)."""
    return _run(sys.argv[1:] if argv is None else list(argv))[0]


def _run(argv: list[str]) -> tuple[int, bool]:
    """:func:`run`, and whether the command was one that holds nothing to close when it ends."""
    args = check_arguments(argv)
    if args is None:
        from .cli_parser import build_parser

        args = build_parser(check_only=argv[:1] == ["check"]).parse_args(argv)
    holds_nothing = args.run in HOLD_NOTHING
    try:
        status: int = args.run(args)
        return status, holds_nothing
    except PosologyError as exc:
        print(f"posology: {exc}", file=sys.stderr)
        return EXIT_INPUT, holds_nothing
    except BrokenPipeError:
        return EXIT_OK, holds_nothing
    except Exception as exc:  # a defect, not an input problem: say so in one line
        if os.environ.get("POSOLOGY_DEBUG"):
            raise
        print(
            f"posology: internal error ({type(exc).__name__}: {exc}); please report it with the "
            "input. Set POSOLOGY_DEBUG=1 to see the traceback.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL, holds_nothing


HOLD_NOTHING = frozenset({cmd_check, cmd_plan, cmd_explain, cmd_rules, cmd_fhir_export})
"""Commands that only read their input and print: no database, worker, server or file of
theirs is open when they end, and nothing is registered to run at exit."""


def main() -> None:
    """The console script. A command that holds nothing ends as soon as its output is flushed:
    tearing the interpreter down (every module and value freed one by one) would add several
    milliseconds to every ``posology check`` for nothing the operating system does not do."""
    try:
        status, holds_nothing = _run(sys.argv[1:])
    except KeyboardInterrupt:
        sys.exit(130)
    if holds_nothing:
        _end_now(status)
    sys.exit(status)


def _end_now(status: int) -> None:
    """Flush standard output and error, then end the process with ``status`` at once."""
    import contextlib

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # a reader gone, a stream closed
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
