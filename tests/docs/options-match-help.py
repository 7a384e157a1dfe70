#!/usr/bin/env python3
"""options-match-help - the options the docs name for each `axiom` command are options its
--help lists (at the start of a line of its options list, long or short form), and (for a command with a page of its own) the options its --help lists are
named somewhere in the docs (issue 15 item 5: a cheap guard against stale docs).

The docs have no option tables; an option belongs to a command when
  (1) it is in the same code span as `axiom COMMAND` (`axiom verify --signatures`), or on the
      same line of a code block as `axiom COMMAND` (with its `\\` continuations and the `#`
      comment lines right under it), or
  (2) it is a code span of its own that starts with it (`--keep`, `--commands 5000`) in a
      section about the command: a section whose heading names `axiom COMMAND`, with its
      subsections, or one of SECTIONS below.
Options of other tools (`kafka-configs --alter ...`) are in spans that start with the tool,
so they are never taken. Usage: options-match-help.py AXIOM_BINARY SOURCE_ROOT
"""
import re
import subprocess
import sys
from pathlib import Path

COMMANDS = ["topics", "doctor", "migrate", "apply", "audit", "publish", "verify", "replay",
            "bench", "sign", "report"]
# sections whose heading does not name the command they are about: (file, heading) -> command
SECTIONS = {("README.md", "Runbook: the applier"): "apply"}
# a command's own page: every option its --help lists must be named in the docs
PAGES = {"verify": "docs/verify.md", "bench": "docs/benchmarks.md", "report": "docs/reports.md"}
# options --help lists that need no word in the docs (every command has them)
GENERIC = {"--help"}

OPT = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# a short option where it can only be one: `-o FILE`, not `sha256sum`, `-1` or `a-b`
ANY_OPT = re.compile(r"(?<![\w./-])(?:--[a-z][a-z0-9-]*|-[a-zA-Z](?![\w-]))")
CMD = re.compile(r"(?:^|[\s`(/])axiom (" + "|".join(COMMANDS) + r")\b")
SPAN = re.compile(r"`([^`\n]+)`")
HEADING = re.compile(r"^(#+)\s+(.*)$")


def help_text(axiom, cmd):
    p = subprocess.run([axiom, cmd, "--help"], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        sys.exit(f"FAIL axiom {cmd} --help exited {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def listed(text):
    """The options --help defines, at the start of a line of its options list: long name ->
    its short form or None."""
    out = {}
    usage = True  # the usage lines come first, up to the first empty line: not a list
    for line in text.splitlines():
        usage = usage and line.strip() != ""
        if usage:
            continue
        m = re.match(r"^\s+(?:(-\w),?\s+)?(--[a-z][a-z0-9-]*)", line)
        if m:
            out[m.group(2)] = m.group(1)
    return out


def doc_mentions(root):
    """(command, option) -> [file:line, ...] for every mention the rules above attribute."""
    found = {}

    def add(cmd, text, where):
        for o in ANY_OPT.findall(text):
            found.setdefault((cmd, o), []).append(where)

    files = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
    for f in files:
        rel = str(f.relative_to(root))
        section = []  # [(level, command or None)]
        in_block = False
        block_cmd = None  # the command of the code block line being continued
        for n, line in enumerate(f.read_text().splitlines(), 1):
            where = f"{rel}:{n}"
            if line.lstrip().startswith("```"):
                in_block, block_cmd = not in_block, None
                continue
            if in_block:
                m = CMD.search(line)
                if m:
                    block_cmd = m.group(1)
                    add(block_cmd, line[m.end():], where)
                elif block_cmd and (line.lstrip().startswith("#") or line.lstrip().startswith("--")):
                    add(block_cmd, line, where)
                else:
                    block_cmd = None
                if not line.rstrip().endswith("\\") and not (m or block_cmd):
                    block_cmd = None
                continue
            h = HEADING.match(line)
            if h:
                level = len(h.group(1))
                while section and section[-1][0] >= level:
                    section.pop()
                m = CMD.search(h.group(2))
                cmd = m.group(1) if m else SECTIONS.get((rel, h.group(2).strip()))
                section.append((level, cmd))
                continue
            here = next((c for _, c in reversed(section) if c), None)
            for span in SPAN.findall(line):
                m = CMD.search(span)
                if m:
                    add(m.group(1), span[m.end():], where)
                elif here and span.startswith("--"):
                    add(here, span, where)
    return found


def main():
    axiom, root = sys.argv[1], Path(sys.argv[2])
    helps = {c: help_text(axiom, c) for c in COMMANDS}
    fails = 0
    mentions = doc_mentions(root)
    for (cmd, opt), where in sorted(mentions.items()):
        defined = listed(helps[cmd])
        if opt in GENERIC or opt in defined or opt in defined.values():
            continue
        print(f"FAIL the docs name `axiom {cmd} {opt}` ({', '.join(where)}), "
              f"`axiom {cmd} --help` does not list it")
        fails += 1
    for cmd, page in sorted(PAGES.items()):
        named = {o for (c, o) in mentions if c == cmd}
        defined = listed(helps[cmd])
        for opt in sorted(o for o in defined if o not in named and defined[o] not in named
                          and o not in GENERIC):
            print(f"FAIL `axiom {cmd} --help` lists {opt}, the docs never name it "
                  f"(its page: {page})")
            fails += 1
    checked = len(mentions)
    if fails:
        print(f"{fails} stale option(s); {checked} (command, option) pairs named in the docs")
        return 1
    print(f"ok: {checked} (command, option) pairs named in the docs, all listed by --help; "
          f"every option of {', '.join(sorted(PAGES))} named in the docs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
