"""The command line's argparse parser: every command, its arguments and its help.

Kept apart from :mod:`posology.cli` so that the plainest ``posology check`` lines, which the
command reads by itself (:func:`posology.cli.check_arguments`), never import argparse.
"""

from __future__ import annotations

import argparse

from .cli import (
    DESCRIPTION,
    EXIT_INPUT,
    cmd_audit,
    cmd_check,
    cmd_clinic_contact,
    cmd_clinic_policy,
    cmd_clinic_profile,
    cmd_clinic_zone,
    cmd_db_upgrade,
    cmd_explain,
    cmd_fhir_export,
    cmd_plan,
    cmd_rules,
    cmd_serve,
)


class Parser(argparse.ArgumentParser):
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
    parser = Parser(prog="posology", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
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
    fhir_sub = p.add_subparsers(dest="fhir_command", metavar="ACTION", parser_class=Parser)
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

    add_account_commands(sub, Parser)

    p = sub.add_parser("clinic", help="manage clinics")
    clinic_sub = p.add_subparsers(dest="clinic_command", metavar="ACTION", parser_class=Parser)
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
    db_sub = p.add_subparsers(dest="db_command", metavar="ACTION", parser_class=Parser)
    db_sub.required = True
    q = db_sub.add_parser("upgrade", help="apply pending schema migrations")
    q.set_defaults(run=cmd_db_upgrade)

    p = sub.add_parser("rules", help="every rule of the pack")
    p.add_argument("--route", choices=("oral", "intrathecal", "intramuscular"))
    p.add_argument("--format", choices=("text", "json"), default="text")
    _medicine_option(p)
    _profile_option(p)
    p.set_defaults(run=cmd_rules)
    return parser
