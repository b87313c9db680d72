"""Tally how the public API answers bad and unusual-but-valid input (the table of the reliability issue).

Runs every case of tests/api_cases exhaustively (each listed bad value, and every ``GENERIC_BAD`` value
for every argument of every valid call, and every unusual valid form) and counts the outcomes:

    bad input  -> clear error | vague error | other exception type | silent (a listed bad value returned)
                  | accepted (a generic value returned: fine when the value was valid) | hang | memory
    valid input -> works | fails

Usage: .venv/bin/python tools/fuzz_report.py [module ...]   (writes build/fuzz_report.md as well)
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from api_cases import GENERIC_BAD, all_cases, outcome, run  # noqa: E402
from test_public_api import _variants  # noqa: E402


def main(modules: list[str]) -> None:
    cases = {k: v for k, v in all_cases().items() if not modules or k.split(".")[0] in modules}
    bad, generic, valid = collections.Counter(), collections.Counter(), collections.Counter()
    problems = []
    for name, (obj, case) in sorted(cases.items()):
        target = case.fn or obj
        for argument, values in case.bad.items():
            for value in values:
                kind, message = outcome(target, {**case.call(), argument: value}, argument)
                kind = "silent" if kind == "ok" else kind
                bad[kind] += 1
                if kind != "clear":
                    problems.append(f"bad   {kind:<22} {name}({argument}={value!r}): {message[:150]}")
        for argument in case.call():
            if argument in case.skip:
                continue
            for value in GENERIC_BAD:
                kind, message = outcome(target, {**case.call(), argument: value}, argument)
                kind = "accepted" if kind == "ok" else kind
                generic[kind] += 1
                if kind not in ("clear", "accepted"):
                    problems.append(f"fuzz  {kind:<22} {name}({argument}={value!r}): {message[:150]}")
        forms = [(a, v) for a, vs in case.valid.items() for v in vs]
        forms += [(a, v) for a, v0 in case.call().items() if a not in case.skip for v in _variants(v0)]
        for argument, value in forms:
            kind, exc, _ = run(target, {**case.call(), argument: value})
            valid["works" if kind == "ok" else "fails"] += 1
            if kind != "ok":
                problems.append(f"valid fails                  {name}({argument}={value!r}): {exc!r}"[:240])
    lines = [f"# Public API input report ({len(cases)} public names)", "",
             "| input | outcome | count |", "|---|---|---|"]
    lines += [f"| listed bad | {k} | {v} |" for k, v in sorted(bad.items())]
    lines += [f"| generic bad | {k} | {v} |" for k, v in sorted(generic.items())]
    lines += [f"| unusual valid | {k} | {v} |" for k, v in sorted(valid.items())]
    lines += ["", f"{len(problems)} problems:", *problems]
    text = "\n".join(lines)
    print(text)
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "fuzz_report.md").write_text(text + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
