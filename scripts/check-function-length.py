#!/usr/bin/env python3
"""Lists C++ functions longer than a limit (default 80 lines, signature to
closing brace) in the given folders and files (default: the product folders).
Exit status 1 when there is one, so CI or a pre-commit hook can hold the line.

A small brace matcher, not a parser: comments, strings, character literals
and preprocessor lines are blanked first; a block is a function when its
header (the text since the previous ';', '{' or '}', access labels left out)
has a parameter list and it is opened at namespace or class level. Braces
inside a parameter list (a default argument `= {}`) or in a constructor's
member initialisers (`: a_{x} {`) belong to the header. Lambdas and blocks
inside functions count towards their enclosing function.

Usage: scripts/check-function-length.py [--max N] [FOLDER_OR_FILE...]
"""
import argparse
import pathlib
import re
import sys

CONTROL = re.compile(r"^\s*(if|for|while|switch|catch|do|else|try)\b")
TYPE_HEADER = re.compile(r"\b(class|struct|union|enum|namespace)\b[^()]*$")
ACCESS_LABELS = re.compile(r"\s*((public|private|protected)\s*:(?!:)\s*)*")
# A constructor's member initialiser list has begun: `) :` or `) noexcept :`, not `::`.
INIT_LIST = re.compile(r"\)\s*(noexcept\s*)?:(?!:)")
SUFFIXES = (".cpp", ".cc", ".cxx", ".h", ".hpp", ".cu", ".cuh")
PRODUCT_FOLDERS = ["agents", "apps", "envs", "data", "runtime", "bench", "base"]


def blank(text):
    """Comments, strings and char literals replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith('R"', i) and re.match(r'R"([^(\s]*)\(', text[i:]):
            delim = re.match(r'R"([^(\s]*)\(', text[i:]).group(1)
            j = text.find(")" + delim + '"', i)
            j = n if j < 0 else j + len(delim) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + (c if j < n else ""))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def blank_preprocessor(text):
    """Preprocessor lines (a directive and its backslash continuations) replaced by spaces."""
    lines, out, continued = text.split("\n"), [], False
    for line in lines:
        directive = continued or line.lstrip().startswith("#")
        out.append(" " * len(line) if directive else line)
        continued = directive and line.rstrip().endswith("\\")
    return "\n".join(out)


def kind_of(header, inside_function, paren_depth):
    """What a '{' opens, from the header before it: a function, a scope, a block, or a brace
    that belongs to the header (a default argument, a member initialiser)."""
    h = " ".join(header.split())
    if inside_function:
        return "block"
    if paren_depth > 0 or (INIT_LIST.search(h) and re.search(r"[\w>]$", h)):
        return "header"
    if TYPE_HEADER.search(h) or h.startswith("extern"):
        return "scope"
    if "(" in h and not CONTROL.match(h) and not h.endswith("="):
        return "function"
    return "block"


def functions(path):
    text = blank_preprocessor(blank(path.read_text(errors="replace")))
    stack = []  # (kind, start line, name)
    header_start, line, paren_depth = 0, 1, 0
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
        elif c in "()":
            paren_depth += 1 if c == "(" else -1
        elif c in ";{}":
            header = text[header_start:i]
            if c == "{":
                inside_function = any(kind == "function" for kind, _, _ in stack)
                kind = kind_of(header, inside_function, paren_depth)
                h = " ".join(header.split())
                name = re.sub(r"\s*\(.*", "", h).split(" ")[-1] if kind == "function" else ""
                signature = header[ACCESS_LABELS.match(header).end():]
                first_line = line - signature.count("\n")
                stack.append((kind, first_line, name))
                if kind == "header":
                    continue  # the header goes on past this brace
            elif c == "}" and stack:
                kind, start, name = stack.pop()
                if kind == "function":
                    yield name, start, line - start + 1
                if kind == "header":
                    continue
            elif c == ";" and paren_depth > 0:
                continue  # for (;;) and the like
            header_start = i + 1


def sources(root, targets):
    """The C++ files of the folders and files named (relative to the repository or absolute)."""
    for target in targets:
        path = pathlib.Path(target) if pathlib.Path(target).is_absolute() else root / target
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (p for p in sorted(path.rglob("*")) if p.suffix in SUFFIXES and p.is_file())
        else:
            raise FileNotFoundError(f"{target}: no such folder or file")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max", type=int, default=80)
    parser.add_argument("targets", nargs="*", default=PRODUCT_FOLDERS)
    args = parser.parse_args()
    root = pathlib.Path(__file__).resolve().parent.parent
    long_ones = []
    try:
        for path in sources(root, args.targets):
            where = path.relative_to(root) if path.is_relative_to(root) else path
            for name, start, length in functions(path):
                if length > args.max:
                    long_ones.append((length, f"{where}:{start}", name))
    except FileNotFoundError as e:
        print(f"check-function-length.py: {e}", file=sys.stderr)
        return 2
    for length, where, name in sorted(long_ones, reverse=True):
        print(f"{length:5d} lines  {where}  {name}")
    if long_ones:
        print(f"{len(long_ones)} function(s) over {args.max} lines", file=sys.stderr)
        return 1
    print(f"no function over {args.max} lines in {', '.join(args.targets)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
