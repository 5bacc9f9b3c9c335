#!/usr/bin/env python3
"""Finds lambdas with by-value captures inside co_await expressions.

GCC 12 destroys such closure temporaries twice (a double free at run time;
see equeim/tremotesf2#551). The rule: build the lambda as a named local
first and pass it with std::move. Lambdas capturing nothing, `this`, or only
references are trivially destructible and safe. Lambdas nested inside
another lambda's body are not part of the co_await expression and are fine.

Usage: coroutine_lambdas.py ROOT [ROOT...]; exits 1 and lists offenders.
"""
import pathlib
import re
import sys

INTRODUCER = re.compile(r"\[([^\[\]]*)\]\s*(?:\(|\{|mutable\b|->)")


def strip_comments(text):
    """Blanks out // and /* */ comments (keeping newlines and string literals)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def co_await_expressions(text):
    """Yields (offset, expression) from each co_await to the end of its statement."""
    for m in re.finditer(r"\bco_await\b", text):
        depth = 0
        j = m.start()
        while j < len(text):
            c = text[j]
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
                if depth < 0:
                    break
            elif c == ";" and depth == 0:
                break
            j += 1
        yield m.start(), text[m.start():j]


def offenders(path):
    text = strip_comments(path.read_text(errors="replace"))
    if "co_await" not in text:
        return
    for start, expr in co_await_expressions(text):
        for lm in INTRODUCER.finditer(expr):
            before = expr[:lm.start()]
            # Inside some lambda's body: not a temporary of this expression.
            if before.count("{") > before.count("}"):
                continue
            stripped = before.rstrip()
            # `x[i](...)` or `a[0]{...}` is indexing, not a lambda.
            if stripped and (stripped[-1].isalnum() or stripped[-1] in "_)]\""):
                continue
            captures = [c.strip() for c in lm.group(1).split(",") if c.strip()]
            unsafe = [c for c in captures if c != "this" and not c.startswith("&")]
            if unsafe:
                line = text.count("\n", 0, start + lm.start()) + 1
                yield (f"{path}:{line}: lambda [{lm.group(1)}] is a temporary in a co_await "
                       "expression (GCC 12 destroys it twice): make it a named local and "
                       "std::move it in")


def main(roots):
    bad = []
    for root in roots:
        for path in sorted(pathlib.Path(root).rglob("*")):
            if path.suffix in (".cpp", ".hpp"):
                bad.extend(offenders(path))
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["."]))
