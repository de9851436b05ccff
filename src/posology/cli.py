"""The ``posology`` command: check, plan, explain, rules, fhir, audit, serve, user, token, db.

A thin shell over the pure core, built on the standard library's argparse so that it starts in
a few milliseconds (a CLI framework that imports a validation library on start-up costs more
than the whole check). Exit status follows the contract: 0 when nothing of severity error or
critical was found, 1 when something was, 2 when the input is unusable. An unusable input gives
one line on standard error naming the field and the fix, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path

from .errors import InputError, PosologyError

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 70

DESCRIPTION = (
    "Check and plan baclofen doses against cited label rules. Posology supports clinical "
    "judgement; it does not replace it."
)


class UsageError(PosologyError):
    """A command line or input file that cannot be used (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    _showing = False  # True while help or usage is being laid out for the terminal

    def error(self, message: str) -> None:  # type: ignore[override]
        """Usage errors: one line naming the problem, then exit 2 (argparse's own status)."""
        self.exit(EXIT_INPUT, f"{self.prog}: {message} (see `{self.prog} --help`)\n")

    def _get_formatter(self) -> argparse.HelpFormatter:
        """argparse makes a formatter for every argument it registers, and each one measures the
        terminal, which imports ``shutil`` (milliseconds of every start); only text that is shown
        needs the width, so only then is it measured."""
        if self._showing:
            return super()._get_formatter()
        return self.formatter_class(prog=self.prog, width=80)  # type: ignore[call-arg]

    def format_usage(self) -> str:
        self._showing = True
        try:
            return super().format_usage()
        finally:
            self._showing = False

    def format_help(self) -> str:
        self._showing = True
        try:
            return super().format_help()
        finally:
            self._showing = False


def _read_input(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{path}: no such file; give the path of a JSON document, or - for stdin")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text; save the document as UTF-8 JSON") from None


def _print_json(document: object) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=2))


def cmd_check(args: argparse.Namespace) -> int:
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


def cmd_plan(args: argparse.Namespace) -> int:
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


def cmd_fhir_export(args: argparse.Namespace) -> int:
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


def cmd_explain(args: argparse.Namespace) -> int:
    from .knowledge import load_pack

    pack = load_pack(args.medicine, args.profile)
    rule = pack.rule(args.rule_id.strip())
    if args.format == "json":
        from .serialize import rule_json

        _print_json(rule_json(rule))
    else:
        from .render import render_rule

        print(render_rule(rule, pack))
    return EXIT_OK


def cmd_rules(args: argparse.Namespace) -> int:
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


def cmd_audit(args: argparse.Namespace) -> int:
    """Judge every event of a dataset; exit 0, 1 (an error or critical finding) or 2 (unusable
    input, the output marked partial)."""
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


def cmd_serve(args: argparse.Namespace) -> int:
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


def cmd_clinic_policy(args: argparse.Namespace) -> int:
    from .services import clinic as clinic_settings
    from .store.db import open_engine, upgrade

    engine = open_engine()
    upgrade(engine)
    clinic_settings.set_clinic_policy(engine, args.clinic, args.policy)
    print(f"override policy of {args.clinic} set to {args.policy}")
    return EXIT_OK


def cmd_clinic_contact(args: argparse.Namespace) -> int:
    from .services import clinic as clinic_settings
    from .store.db import open_engine, upgrade

    engine = open_engine()
    upgrade(engine)
    clinic_settings.set_clinic_contact(engine, args.clinic, args.contact)
    print(f"contact of {args.clinic} set")
    return EXIT_OK


def cmd_clinic_zone(args: argparse.Namespace) -> int:
    from .services.clinic import set_clinic_zone
    from .store.db import open_engine, upgrade

    engine = open_engine()
    upgrade(engine)
    set_clinic_zone(engine, args.clinic, args.zone)
    print(f"time zone of {args.clinic} set to {args.zone}")
    return EXIT_OK


def cmd_clinic_profile(args: argparse.Namespace) -> int:
    from .services.clinic import set_clinic_profile, shipped_profile
    from .store.db import open_engine, upgrade

    shipped_profile(args.profile)  # an unknown profile is refused before the database is opened
    engine = open_engine()
    upgrade(engine)
    set_clinic_profile(engine, args.clinic, args.profile)
    print(f"jurisdiction profile of {args.clinic} set to {args.profile}")
    return EXIT_OK


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from .store.db import database_url, open_engine, upgrade

    upgrade(open_engine())
    url = database_url()
    print(f"database at the latest schema ({url.split('@')[-1] if '@' in url else url})")
    return EXIT_OK


def _profile_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--profile",
        default="default",
        help="jurisdiction profile of the rules, e.g. us (default: the source page's)",
    )


def _medicine_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--medicine", default="baclofen", help="the medicine whose rules to show")


def build_parser(check_only: bool = False) -> argparse.ArgumentParser:
    """The command line's parser; with ``check_only``, one that knows only ``check``.

    ``posology check`` runs far more often than the other commands, and building their parsers
    (and importing the account commands) would cost it milliseconds of every start.
    """
    parser = _Parser(prog="posology", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("check", help="check a proposed dose against the history and the rules")
    p.add_argument("case", metavar="CASE.json", help="the CASE document, or - for stdin")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _profile_option(p)
    p.set_defaults(run=cmd_check)
    if check_only:
        return parser

    p = sub.add_parser("plan", help="a tailored plan for one patient and one goal")
    p.add_argument("request", metavar="REQUEST.json", help="the REQUEST document, or - for stdin")
    p.add_argument("--format", choices=("text", "json", "ics", "csv", "fhir"), default="text")
    _profile_option(p)
    p.set_defaults(run=cmd_plan)

    p = sub.add_parser("explain", help="a rule with its numbers and quoted source")
    p.add_argument("rule_id", metavar="RULE-ID")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _medicine_option(p)
    _profile_option(p)
    p.set_defaults(run=cmd_explain)

    p = sub.add_parser("fhir", help="FHIR R4 documents")
    fhir_sub = p.add_subparsers(dest="fhir_command", metavar="ACTION", parser_class=_Parser)
    fhir_sub.required = True
    q = fhir_sub.add_parser("export", help="the history of a CASE as a FHIR R4 Bundle")
    q.add_argument("case", help="a CASE JSON document, or - for standard input")
    _profile_option(q)
    q.set_defaults(run=cmd_fhir_export)

    p = sub.add_parser("audit", help="judge every event of a dataset (findings, summary, report)")
    p.add_argument("events", metavar="EVENTS", nargs="?", help="events file or dataset folder")
    p.add_argument("--patients", metavar="PATIENTS", help="patients file (--from contract)")
    p.add_argument(
        "--from", dest="source", choices=("contract", "omop", "mimic", "fhir"), default="contract"
    )
    p.add_argument("--out", metavar="DIR", required=True, help="folder for the audit's files")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    p.add_argument("--master", metavar="URL", help="Spark master (default local[*])")
    p.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    p.add_argument("--profile", help="pack profile, e.g. us")
    p.add_argument(
        "--synthetic",
        type=int,
        metavar="N",
        help="write a synthetic dataset of about N events into DIR instead of auditing",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of --synthetic")
    p.set_defaults(run=cmd_audit)

    p = sub.add_parser("serve", help="start the HTTP server (DATABASE_URL, default a SQLite file)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="worker processes (one per core)")
    p.set_defaults(run=cmd_serve)

    from .cli_accounts import add_commands as add_account_commands

    add_account_commands(sub, _Parser)

    p = sub.add_parser("clinic", help="manage clinics")
    clinic_sub = p.add_subparsers(dest="clinic_command", metavar="ACTION", parser_class=_Parser)
    clinic_sub.required = True
    q = clinic_sub.add_parser("contact", help="how patients reach the clinic (printed on handouts)")
    q.add_argument("clinic")
    q.add_argument("contact")
    q.set_defaults(run=cmd_clinic_contact)
    q = clinic_sub.add_parser(
        "zone", help="the clinic's time zone (pump dates, worklists and forms are shown in it)"
    )
    q.add_argument("clinic")
    q.add_argument("zone", help="an IANA time zone name, e.g. Europe/Berlin")
    q.set_defaults(run=cmd_clinic_zone)
    q = clinic_sub.add_parser(
        "profile", help="the jurisdiction profile of the rules its doses are judged by (audited)"
    )
    q.add_argument("clinic")
    q.add_argument("profile", help="a shipped profile, e.g. us (default: the source page's)")
    q.set_defaults(run=cmd_clinic_profile)
    q = clinic_sub.add_parser(
        "policy", help="who signs an override of a critical finding (default co-sign; audited)"
    )
    q.add_argument("clinic")
    q.add_argument("policy", choices=("single-signer", "co-sign"))
    q.set_defaults(run=cmd_clinic_policy)

    p = sub.add_parser("db", help="database maintenance")
    db_sub = p.add_subparsers(dest="db_command", metavar="ACTION", parser_class=_Parser)
    db_sub.required = True
    q = db_sub.add_parser("upgrade", help="apply pending schema migrations")
    q.set_defaults(run=cmd_db_upgrade)

    p = sub.add_parser("rules", help="every rule of the pack")
    p.add_argument("--route", choices=("oral", "intrathecal"))
    p.add_argument("--format", choices=("text", "json"), default="text")
    _medicine_option(p)
    _profile_option(p)
    p.set_defaults(run=cmd_rules)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status (the testable core of :func:`main`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(check_only=argv[:1] == ["check"]).parse_args(argv)
    try:
        status: int = args.run(args)
        return status
    except PosologyError as exc:
        print(f"posology: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a defect, not an input problem: say so in one line
        if os.environ.get("POSOLOGY_DEBUG"):
            raise
        print(
            f"posology: internal error ({type(exc).__name__}: {exc}); please report it with the "
            "input. Set POSOLOGY_DEBUG=1 to see the traceback.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def main() -> None:
    try:
        sys.exit(run())
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
