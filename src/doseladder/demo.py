"""The README's main job: a tour of the shipped example designs, run through the real CLI.

``python -m doseladder.demo [OUTDIR] [--no-serve]`` prints decision tables, replays published worked
examples cohort by cohort, makes a time-to-event decision from a patient table, and selects the
final dose; with ``OUTDIR`` it also writes every result as JSON there.
"""

from __future__ import annotations

import sys
from importlib.resources import as_file, files
from pathlib import Path

from typer.testing import CliRunner

from doseladder.cli.main import app

STEPS: list[tuple[str, list[str]]] = [
    ("BOIN decision table (target 0.30)", ["table", "{designs}/boin.yaml"]),
    (
        "BOIN: the JSS tutorial trial (Han et al. 2019, p.25), decision after each cohort",
        [
            "decide",
            "{designs}/boin.yaml",
            "--outcomes",
            "1NNN 2NNN 3NTT 2NTN 3NNN 3NNN 4TTT 3NTN 3NNT 3TNN",
        ],
    ),
    (
        "BOIN: final MTD selection (Yan et al. example)",
        ["select", "{designs}/boin.yaml", "--outcomes", "1NNN 2NNN 3TTTTNNNNNNNNNNN 4TTTTNNNNN"],
    ),
    (
        "TITE-BOIN decision table (target 0.30, 28-day window), states with up to 6 patients",
        ["table", "{designs}/tite-boin.yaml", "--n-max", "6"],
    ),
    (
        "BOIN12: the published example (Lin et al. 2020, p.1396)",
        [
            "decide",
            "{designs}/boin12.yaml",
            "--outcomes",
            "1NNN 2NNB 3NEE 3NTN 4ETE 4NBE 4BNN 5BEN 5NBT 4NEN",
        ],
    ),
    (
        "BOIN12: OBD selection for the same trial",
        [
            "select",
            "{designs}/boin12.yaml",
            "--outcomes",
            "1NNN 2NNB 3NEE 3NTN 4ETE 4NBE 4BNN 5BEN 5NBT 4NEN",
        ],
    ),
    (
        "TITE-BOIN12: the paper's trial on day 315, two patients still pending",
        [
            "decide",
            "{designs}/tite-boin12.yaml",
            "--patients",
            "{patients}/tite-boin12-day315.csv",
            "--now",
            "315",
        ],
    ),
    ("3+3 decision rules", ["table", "{designs}/3+3.yaml"]),
    (
        "3+3: a trial that stops",
        ["decide", "{designs}/3+3.yaml", "--outcomes", "1NNN 2NTN 2NNN 3TNT"],
    ),
    (
        "Simulation: BOIN, 10,000 trials of scenario S1 (compare BOIN::get.oc)",
        [
            "simulate",
            "{designs}/boin-s1.yaml",
            "--scenario",
            "{scenarios}/s1.yaml",
            "--trials",
            "10000",
            "--seed",
            "6",
        ],
    ),
    (
        "Simulation: BOIN12, 10,000 trials of scenario S2 (true OBD = dose 3)",
        [
            "simulate",
            "{designs}/boin12.yaml",
            "--scenario",
            "{scenarios}/s2.yaml",
            "--trials",
            "10000",
            "--seed",
            "6",
        ],
    ),
    ("The seed protocols shipped with doseladder", ["protocol", "list"]),
    (
        "Seed 000 (STR-P004): its escalation rules as protocol text",
        ["protocol", "show", "str-p004-nct07143617"],
    ),
    (
        "Eligibility screening of an example patient against seed 004 (HN2301)",
        ["screen", "hn2301-nct06801119", "{patients}/hn2301-eligible-sle.json"],
    ),
]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    serve = "--no-serve" not in args
    args = [a for a in args if a != "--no-serve"]
    outdir = Path(args[0]) if args else None
    code = tour(outdir)
    if code != 0 or not serve:
        return code
    print(
        "\n### The trial-conduct service, demonstration mode (Ctrl-C to stop)\n"
        "$ doseladder serve --demo   # demo users, database ./doseladder-demo.db",
        flush=True,
    )
    app(["serve", "--demo"], standalone_mode=False)
    return 0


def tour(outdir: Path | None) -> int:
    """Run every step of the tour through the real CLI; write JSON copies to ``outdir``."""
    if outdir is not None:
        outdir.mkdir(parents=True, exist_ok=True)
    runner = CliRunner()
    with as_file(files("doseladder.examples")) as root:
        paths = {
            "designs": str(root / "designs"),
            "patients": str(root / "patients"),
            "scenarios": str(root / "scenarios"),
        }
        for i, (title, cmd) in enumerate(STEPS, start=1):
            argv_ = [c.format(**paths) for c in cmd]
            shown = " ".join(argv_).replace(str(root), "<examples>")
            print(f"\n### {i}. {title}\n$ doseladder {shown}")
            result = runner.invoke(app, argv_)
            print(result.output.rstrip())
            if result.exit_code != 0:
                print(f"step failed with exit code {result.exit_code}", file=sys.stderr)
                return 1
            if outdir is not None:
                js = runner.invoke(app, [*argv_, "--json"])
                (outdir / f"{i:02d}-{cmd[0]}.json").write_text(js.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
