"""Command line of the journey dashboard; docs/design.md in the project says what every output means.

Results are CSV on standard output (or ``--out FILE``). Bad input exits with status 2 and
one line ``error: <file>: <what is wrong>`` on standard error; warnings about the data go
to standard error as ``warning: ...`` lines so the CSV on standard output stays clean.
"""

from __future__ import annotations

import argparse
import io as _io
import os
import sys
from pathlib import Path

import pandas as pd

from journeylib import import_in_background

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1


class UsageError(Exception):
    """A command-line argument that cannot be used; reported like bad input."""


class _Parser(argparse.ArgumentParser):
    # argparse prints a multi-line usage block; the contract wants one line.
    def error(self, message: str):  # noqa: D401 - argparse hook
        raise UsageError(f"{self.prog}: {message}")


def _not_rated_value(text: str) -> float | None:
    """A --not-rated value: a number, or 'none' (no value means not rated)."""
    if str(text).strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None


def _add_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--touchpoints", metavar="FILE", help="touchpoint events (or one combined file)")
    p.add_argument("--survey", metavar="FILE", help="survey answers (a survey alone is a journey too)")
    p.add_argument("--customers", metavar="FILE", help="customer attributes")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="set a column by hand; repeat --map score=COL for a wide survey (one column per touchpoint)",
    )
    p.add_argument(
        "--not-rated",
        action="append",
        type=_not_rated_value,
        default=None,
        metavar="VALUE",
        help="a score value meaning 'not rated' (e.g. 0), treated as missing and counted; 'none' counts every "
             "value as a score (default: the codes the ratings propose, such as a rare 0 beside 1-5)",
    )
    p.add_argument("--keep-duplicates", action="store_true",
                   help="keep rows that repeat an earlier row exactly (dropped and counted by default)")
    p.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE[,VALUE...]",
                   help="keep only rows whose COLUMN holds one of the values (e.g. lifecycle:transition=COMPLETE)")
    p.add_argument("--stages", metavar='"S1,S2,..."', help="the stage order (default: Awareness, Consideration, "
                   "Intent, Purchase, Retention, Advocacy)")
    p.add_argument("--stage-map", metavar="FILE.csv", help="a table of touchpoint,stage rows placing touchpoints")
    p.add_argument("--stage-prefix", action="append", default=[], metavar="PREFIX=STAGE",
                   help="touchpoints whose name starts with PREFIX sit at STAGE (e.g. A_=Application)")
    p.add_argument("--goal", metavar="stage:NAME|touchpoint:NAME|column:NAME=VALUE",
                   help="the outcome that counts as converting (default: the Purchase stage, when there is one)")
    p.add_argument("--goal-name", metavar="TEXT", help="what to call the goal everywhere (e.g. \"Loan approved\")")
    p.add_argument("--out", metavar="FILE", help="write the CSV here instead of standard output")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m journeylib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("sample", help="write the realistic sample dataset")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--customers", type=int, default=5000, metavar="N")
    p.add_argument("--seed", type=int, default=7, metavar="S")

    p = sub.add_parser("validate", help="check input files and report errors and warnings")
    _add_inputs(p)

    p = sub.add_parser("flows", help="step Sankey links as CSV")
    _add_inputs(p)
    p.add_argument("--level", choices=["touchpoint", "stage"], default="touchpoint")
    p.add_argument("--max-steps", type=int, default=5, metavar="N")
    p.add_argument("--top", type=int, default=10, metavar="N", help="nodes kept per step; 0 = no (other)")
    p.add_argument("--collapse-repeats", action="store_true")
    p.add_argument("--persona", metavar="NAME")

    p = sub.add_parser("transitions", help="consecutive pairs as CSV")
    _add_inputs(p)
    p.add_argument("--level", choices=["touchpoint", "stage"], default="touchpoint")
    p.add_argument("--collapse-repeats", action="store_true")

    p = sub.add_parser("funnel", help="customers reaching each stage towards the goal as CSV")
    _add_inputs(p)
    p.add_argument("--persona", metavar="NAME")

    p = sub.add_parser("personas", help="customer -> persona as CSV")
    _add_inputs(p)
    p.add_argument("--k", default="auto", metavar="auto|N")
    p.add_argument("--seed", type=int, default=0, metavar="S")

    p = sub.add_parser("emotions", help="mean score per stage with 95%% CI as CSV")
    _add_inputs(p)
    p.add_argument("--level", choices=["stage", "touchpoint"], default="stage")
    p.add_argument("--by", choices=["persona", "none"], default="persona")

    p = sub.add_parser("themes", help="comment themes per stage or touchpoint as CSV")
    _add_inputs(p)
    p.add_argument("--by", choices=["stage", "touchpoint"], default="stage")
    p.add_argument("--themes", default="auto", metavar="auto|N", help="themes per group; auto chooses per group")

    p = sub.add_parser("compare", help="two views side by side with tests of difference, as CSV")
    _add_inputs(p)
    p.add_argument("--a", required=True, metavar="VIEW", help="persona=NAME | from=YYYY-MM-DD,to=YYYY-MM-DD | "
                   "channel=NAME | attribute:COLUMN=VALUE (a comma joins conditions), or dataset=FILE")
    p.add_argument("--b", required=True, metavar="VIEW", help="the view compared with --a (differences are b - a)")
    p.add_argument("--level", choices=["stage", "touchpoint"], default="stage")

    p = sub.add_parser("report", help="write an HTML report or a PPTX deck")
    _add_inputs(p)
    p.add_argument("--persona", metavar="NAME")
    return parser


def _parse_mapping(items: list[str]) -> dict[str, str | list[str]]:
    mapping: dict[str, str | list[str]] = {}
    for item in items:
        field, sep, column = item.partition("=")
        field, column = field.strip(), column.strip()
        if not sep or not field or not column:
            raise UsageError(f"--map: expected FIELD=COLUMN, got {item!r}")
        if field == "score" and "score" in mapping:
            previous = mapping["score"]
            mapping["score"] = (previous if isinstance(previous, list) else [previous]) + [column]
        else:
            mapping[field] = column
    return mapping


def _check_files(args: argparse.Namespace) -> None:
    if not getattr(args, "touchpoints", None) and not getattr(args, "survey", None):
        raise UsageError(f"{args.command}: give --touchpoints FILE, --survey FILE or both")
    for option in ("touchpoints", "survey", "customers", "stage_map"):
        path = getattr(args, option, None)
        if path is None:
            continue
        if not Path(path).exists():
            raise _input_error(path, "file not found")
        if Path(path).is_dir():
            raise _input_error(path, "is a folder, not a file")


def _input_error(file: str, message: str) -> Exception:
    from journeylib.ingest import InputError

    return InputError(file, message)


def _journey(args: argparse.Namespace):
    """The journey model from --stages, --stage-map, --stage-prefix, --goal and --goal-name."""
    from journeylib.journey import DEFAULT_STAGES, GoalError, JourneyModel, default_goal, parse_goal

    stages = DEFAULT_STAGES
    if args.stages:
        stages = tuple(s.strip() for s in args.stages.split(",") if s.strip())
        if not stages:
            raise UsageError(f"--stages: expected stage names separated by commas, got {args.stages!r}")
    prefixes = []
    for item in args.stage_prefix:
        prefix, sep, stage = item.partition("=")
        if not sep or not prefix or not stage.strip():
            raise UsageError(f"--stage-prefix: expected PREFIX=STAGE, got {item!r}")
        prefixes.append((prefix, stage.strip()))
    table = _stage_map(args.stage_map) if args.stage_map else {}
    try:
        goal = parse_goal(args.goal, args.goal_name) if args.goal else default_goal(stages)
        if goal is not None and args.goal_name and not args.goal:
            goal = type(goal)(goal.kind, goal.target, goal.value, args.goal_name)
        model = JourneyModel(stages=stages, stage_map=table, stage_prefixes=tuple(prefixes), goal=goal)
    except GoalError as exc:
        raise UsageError(f"--goal: {exc}" if "goal" in str(exc) else f"--stages: {exc}") from None
    if args.goal_name and goal is None:
        raise UsageError("--goal-name: there is no goal to name; give --goal too")
    missing = model.unknown_rule_stages()
    if missing:
        raise UsageError(f"stages {', '.join(map(repr, missing))} are used by --stage-map, --stage-prefix or --goal "
                         f"but are not in the stage order ({', '.join(model.stages)}); add them to --stages")
    return model


def _stage_map(path: str) -> dict[str, str]:
    """touchpoint -> stage from a two-column CSV (a header row touchpoint,stage optional)."""
    from journeylib.ingest import read_table

    frame = read_table(path)
    if frame.shape[1] < 2:
        raise _input_error(path, f"a stage map needs two columns, touchpoint and stage; found {frame.shape[1]}")
    cols = {str(c).strip().lower(): c for c in frame.columns}
    tp, stage = (cols["touchpoint"], cols["stage"]) if {"touchpoint", "stage"} <= set(cols) else frame.columns[:2]
    out = {}
    for i, (t, s) in enumerate(zip(frame[tp], frame[stage]), start=1):
        if pd.isna(t) or pd.isna(s):
            raise _input_error(path, f"row {i} has no {'touchpoint' if pd.isna(t) else 'stage'}")
        out[str(t)] = str(s)
    return out


def _load(args: argparse.Namespace):
    from journeylib.ingest import InputError, load_journey, parse_where

    _check_files(args)
    mapping = _parse_mapping(args.map)
    journey = _journey(args)
    try:
        where = parse_where(args.where)
    except InputError as exc:
        raise UsageError(exc.message) from None
    data = load_journey(
        touchpoints=args.touchpoints,
        survey=args.survey,
        customers=args.customers,
        mapping=mapping or None,
        not_rated=None if args.not_rated is None else tuple(v for v in args.not_rated if v is not None),
        keep_duplicates=args.keep_duplicates,
        where=where or None,
        journey=journey,
    )
    for issue in data.warnings:
        print(issue, file=sys.stderr)
    return data


def _summary(data) -> list[str]:
    from journeylib.engine import execute

    events = data.events.aggregate(
        rows=data.events.count(),
        customers=data.events.customer_id.nunique(),
        touchpoints=data.events.touchpoint.nunique(),
        first=data.events.timestamp.min(),
        last=data.events.timestamp.max(),
    )
    events = execute(events).iloc[0]
    label = data.source_names.get("touchpoints", "touchpoints")
    if events["rows"]:
        lines = [
            f"ok: {label}: {events['rows']:,} events, {events['customers']:,} customers, "
            f"{events['touchpoints']:,} touchpoints, {events['first']:%Y-%m-%d} to {events['last']:%Y-%m-%d}"
        ]
    else:
        lines = [f"ok: {label}: no events (survey only)"]
    if data.survey is not None:
        answers = data.survey.aggregate(rows=data.survey.count(), customers=data.survey.customer_id.nunique())
        answers = execute(answers).iloc[0]
        scale = f", scores {data.score_scale.label}" if data.score_scale else ""
        lines.append(
            f"ok: {data.source_names.get('survey', 'survey')}: {answers['rows']:,} answers from "
            f"{answers['customers']:,} customers{scale}"
        )
    if data.customers is not None:
        n = int(execute(data.customers.count()))
        lines.append(f"ok: {data.source_names.get('customers', 'customers')}: {n:,} customers")
    lines.append(f"{sum(1 for w in data.warnings if w.severity == 'warning')} warning(s)")
    return lines


def _write_csv(frame: pd.DataFrame, out: str | None) -> None:
    if out:
        target = Path(out)
        tmp = target.with_name(f".{target.name}.tmp")
        frame.to_csv(tmp, index=False)
        os.replace(tmp, target)
    else:
        buffer = _io.StringIO()
        frame.to_csv(buffer, index=False)
        sys.stdout.write(buffer.getvalue())


def _personas(data, k: str = "auto", seed: int = 0):
    from journeylib.personas import find_personas

    if k != "auto":
        try:
            n = int(k)
        except ValueError:
            raise UsageError(f"--k: expected 'auto' or a whole number, got {k!r}") from None
        if n < 2:
            raise UsageError(f"--k: needs at least 2 personas, got {n}")
    else:
        n = "auto"
    try:
        return find_personas(data, n_personas=n, random_state=seed)
    except ValueError as exc:  # e.g. more personas asked for than there are customers
        raise UsageError(f"personas: {exc}") from None


def _persona_customers(result, name: str) -> pd.Series:
    assignments = result.assignments
    names = list(dict.fromkeys(assignments["persona"]))
    match = [n for n in names if n.casefold() == name.strip().casefold()]
    if not match:
        raise UsageError(f"--persona: no persona named {name!r}; personas are: " + ", ".join(names))
    return assignments.loc[assignments["persona"] == match[0], "customer_id"]


def _compare_views(args: argparse.Namespace) -> list:
    """--a and --b read before any file is loaded, so a typo fails at once."""
    from journeylib.compare import ViewError, parse_view

    views = []
    for option in ("a", "b"):
        try:
            views.append(parse_view(getattr(args, option)))
        except ViewError as exc:
            raise UsageError(f"--{option}: {exc}") from None
    return views


def _compare(args: argparse.Namespace, data, views: list) -> None:
    from journeylib.compare import COMPARE_COLUMNS, ViewError, apply_view, compare

    personas = _personas(data).assignments if any(v.personas for v in views) else None

    def load(file: str):
        # Another file of the same shape, read with the same options: it takes the place
        # of the events file (or of the survey, for a survey-only comparison).
        other = argparse.Namespace(**vars(args))
        setattr(other, "touchpoints" if args.touchpoints else "survey", file)
        return _load(other)

    sides = []
    for option, view in zip(("a", "b"), views):
        try:
            sides.append(apply_view(data, view, personas=personas, load=load))
        except ViewError as exc:
            raise UsageError(f"--{option}: {exc}") from None
    result = compare(sides[0], sides[1], level=args.level, label_a=views[0].label, label_b=views[1].label)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    _write_csv(result.table[list(COMPARE_COLUMNS)], args.out)


def _run(args: argparse.Namespace) -> None:
    cmd = args.command
    if cmd == "sample":
        from journeylib.sample import write_sample

        if args.customers < 1:
            raise UsageError(f"--customers: must be at least 1, got {args.customers}")
        paths = write_sample(args.out, n_customers=args.customers, seed=args.seed)
        for path in paths:
            print(path)
        return

    if cmd in ("flows", "report") and getattr(args, "max_steps", 2) < 2:
        raise UsageError(f"--max-steps: must be at least 2, got {args.max_steps}")
    if getattr(args, "top", 0) < 0:
        raise UsageError(f"--top: must be 0 or more, got {args.top}")

    if cmd == "themes" and args.themes != "auto" and not (args.themes.isdigit() and int(args.themes) >= 1):
        raise UsageError(f"--themes: expected 'auto' or a whole number of at least 1, got {args.themes!r}")

    views = _compare_views(args) if cmd == "compare" else None
    if (cmd in ("personas", "report") or getattr(args, "persona", None) or getattr(args, "by", None) == "persona"
            or (views and any(v.personas for v in views))):
        import_in_background("journeylib.personas")
    data = _load(args)

    if cmd == "validate":
        for line in _summary(data):
            print(line)
        return

    if cmd == "flows":
        from journeylib.flows import step_sankey

        if args.persona:
            data = data.filter(customer_ids=_persona_customers(_personas(data), args.persona))
        frame = step_sankey(
            data.events,
            level=args.level,
            max_steps=args.max_steps,
            top=args.top,
            collapse_repeats=args.collapse_repeats,
        )
        _write_csv(frame[["step", "source", "target", "customers"]], args.out)
    elif cmd == "funnel":
        from journeylib.flows import funnel

        if args.persona:
            data = data.filter(customer_ids=_persona_customers(_personas(data), args.persona))
        try:
            frame = funnel(data)
        except ValueError as exc:  # a GoalError too: what to set is in its words
            raise UsageError(f"funnel: {exc}") from None
        if len(frame) and not frame["customers"].iloc[0]:  # a column of zeros needs its reason
            from journeylib.export import funnel_takeaway

            print(f"warning: funnel: {funnel_takeaway(frame, data)}", file=sys.stderr)
        _write_csv(frame[["stage", "customers", "share", "conversion"]], args.out)
    elif cmd == "transitions":
        from journeylib.flows import transitions

        frame = transitions(data.events, level=args.level, collapse_repeats=args.collapse_repeats)
        _write_csv(frame[["source", "target", "transitions", "customers"]], args.out)
    elif cmd == "personas":
        result = _personas(data, args.k, args.seed)
        _write_csv(result.assignments[["customer_id", "persona"]], args.out)
    elif cmd == "emotions":
        from journeylib.emotions import emotion_curve

        if data.survey is None:
            raise _input_error(args.touchpoints or args.survey, "no survey scores: pass --survey FILE or map a score column")
        personas = _personas(data).assignments if args.by == "persona" else None
        frame = emotion_curve(data.survey, data.stages, level=args.level, personas=personas)
        _write_csv(frame[[args.level, "persona", "mean", "ci_low", "ci_high", "n"]], args.out)
    elif cmd == "themes":
        from journeylib.engine import execute
        from journeylib.voice import comment_themes, theme_table

        n_themes = "auto" if args.themes == "auto" else int(args.themes)
        source = args.survey or args.touchpoints
        if data.survey is None:
            raise _input_error(source, "no survey answers: pass --survey FILE with a comment column")
        text = data.survey.comment.cast("string").strip() if "comment" in data.survey.columns else None
        if text is None or not bool(execute((text.notnull() & (text != "")).any())):
            raise _input_error(source, "no comments: no column was read as comment text; name it with "
                                       "--map comment=COLUMN")
        themes = comment_themes(data.survey, by=args.by, n_themes=n_themes, order=data.stages,
                                scale=data.score_scale)
        _write_csv(theme_table(themes), args.out)
    elif cmd == "compare":
        _compare(args, data, views)
    elif cmd == "report":
        from journeylib.export import ImageExportUnavailable, ReportError, write_report

        if not args.out:
            raise UsageError("report: --out FILE.html or FILE.pptx is required")
        if Path(args.out).suffix.lower() not in (".html", ".pptx"):
            raise UsageError(f"--out: report files end in .html or .pptx, got {args.out!r}")
        result = _personas(data)
        if args.persona:
            _persona_customers(result, args.persona)
        try:
            write_report(data, args.out, persona=args.persona, personas=result)
        except ImageExportUnavailable as exc:
            raise UsageError(f"{args.out}: {exc}") from None
        except ReportError as exc:
            raise UsageError(str(exc)) from None
        print(args.out)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    from journeylib.engine import CLI_MEMORY_LIMIT, CLI_MEMORY_LIMITS, MEMORY_LIMIT_ENV
    from journeylib.ingest import InputError

    added = False
    try:
        args = build_parser().parse_args(argv)
        if MEMORY_LIMIT_ENV not in os.environ:  # read when the engine starts, in _run
            os.environ[MEMORY_LIMIT_ENV] = CLI_MEMORY_LIMITS.get(args.command, CLI_MEMORY_LIMIT)
            added = True
        _run(args)
    except (InputError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except Exception as exc:  # never a traceback for users; JOURNEY_DEBUG=1 shows one
        if os.environ.get("JOURNEY_DEBUG"):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: internal error ({type(exc).__name__}): {message}", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if added:  # main() called in process (tests, scripts) leaves the environment as it was
            os.environ.pop(MEMORY_LIMIT_ENV, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
