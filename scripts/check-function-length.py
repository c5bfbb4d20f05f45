#!/usr/bin/env python3
"""Lists C++ functions longer than a limit (default 80 lines, signature to
closing brace) in the given folders (default: agents apps). Exit status 1
when there is one, so CI or a pre-commit hook can hold the line.

A small brace matcher, not a parser: comments, strings and character
literals are blanked first; a block is a function when its header (the text
since the previous ';', '{' or '}') has a parameter list and it is opened at
namespace or class level. Lambdas and blocks inside functions count towards
their enclosing function.

Usage: scripts/check-function-length.py [--max N] [FOLDER...]
"""
import argparse
import pathlib
import re
import sys

CONTROL = re.compile(r"^\s*(if|for|while|switch|catch|do|else|try)\b")
TYPE_HEADER = re.compile(r"\b(class|struct|union|enum|namespace)\b[^()]*$")


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


def functions(path):
    text = blank(path.read_text(errors="replace"))
    stack = []  # (kind, start line, name)
    header_start, line = 0, 1
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
        elif c in ";{}":
            header = text[header_start:i]
            if c == "{":
                inside_function = any(kind == "function" for kind, _, _ in stack)
                h = " ".join(header.split())
                if inside_function:
                    kind = "block"
                elif TYPE_HEADER.search(h) or h.startswith("extern"):
                    kind = "scope"
                elif "(" in h and not CONTROL.match(h) and not h.endswith("="):
                    kind = "function"
                else:
                    kind = "block"
                name = re.sub(r"\s*\(.*", "", h).split(" ")[-1] if kind == "function" else ""
                first_line = line - header[len(header) - len(header.lstrip()):].count("\n")
                stack.append((kind, first_line, name))
            elif c == "}" and stack:
                kind, start, name = stack.pop()
                if kind == "function":
                    yield name, start, line - start + 1
            header_start = i + 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max", type=int, default=80)
    parser.add_argument("folders", nargs="*", default=["agents", "apps"])
    args = parser.parse_args()
    root = pathlib.Path(__file__).resolve().parent.parent
    long_ones = []
    for folder in args.folders:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in (".cpp", ".h", ".cu") and path.is_file():
                for name, start, length in functions(path):
                    if length > args.max:
                        long_ones.append((length, f"{path.relative_to(root)}:{start}", name))
    for length, where, name in sorted(long_ones, reverse=True):
        print(f"{length:5d} lines  {where}  {name}")
    if long_ones:
        print(f"{len(long_ones)} function(s) over {args.max} lines", file=sys.stderr)
        return 1
    print(f"no function over {args.max} lines in {', '.join(args.folders)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
