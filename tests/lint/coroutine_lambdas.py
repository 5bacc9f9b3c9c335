#!/usr/bin/env python3
"""Finds code GCC 12 miscompiles around co_await.

Besides the temporaries below, a co_await inside a conditional operator
(`x ? co_await f() : g()`) double-frees its temporaries: use if/else.

GCC 12 double-destroys aggregate temporaries with non-trivial members when
they appear in a co_await expression: lambdas with by-value captures (a
closure is an aggregate) and brace-initialized aggregates such as
`probe{true, text}` or `{.url = u}` (a double free at run time; see
equeim/tremotesf2#551). The rule: build such values as named locals first
and pass them by name (std::move where it helps). Lambdas capturing nothing,
`this`, or only references are trivially destructible and safe; so are
constructor calls like `std::string(n, c)`. Lambdas nested inside another
lambda's body are not part of the co_await expression.

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


def lambda_body_start(expr, i):
    """True when the '{' at expr[i] opens a lambda body."""
    before = expr[:i].rstrip()
    if before.endswith("]") or before.endswith("mutable"):
        return True
    if before.endswith(")"):
        depth = 0
        for j in range(len(before) - 1, -1, -1):
            if before[j] == ")":
                depth += 1
            elif before[j] == "(":
                depth -= 1
                if depth == 0:
                    return before[:j].rstrip().endswith(("]", "mutable"))
    # `-> type {`
    return re.search(r"\)\s*(mutable\s*)?->\s*[\w:<>, ]+$", before) is not None


def blank_strings(expr):
    """Replaces the contents of string and character literals with spaces."""
    return re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'',
                  lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', expr)


def braced_temporaries(expr):
    """Offsets of '{' that start braced initializers at the top of expr."""
    expr = blank_strings(expr)
    depth_braces = 0
    for i, c in enumerate(expr):
        if c == "{":
            if depth_braces == 0 and not lambda_body_start(expr, i):
                yield i
            depth_braces += 1
        elif c == "}":
            depth_braces -= 1


def conditional_with_co_await(text):
    """Offsets of statements where co_await appears inside a ?: expression."""
    for m in re.finditer(r"\bco_await\b", text):
        # The statement around this co_await, by the nearest ; { } delimiters.
        start = max(text.rfind(";", 0, m.start()), text.rfind("{", 0, m.start()),
                    text.rfind("}", 0, m.start())) + 1
        end = m.start()
        while end < len(text) and text[end] not in ";{}":
            end += 1
        stmt = blank_strings(text[start:end])
        if re.search(r"\?(?!\?)", stmt) and ":" in stmt[stmt.find("?"):]:
            yield m.start()


def offenders(path):
    text = strip_comments(path.read_text(errors="replace"))
    if "co_await" not in text:
        return
    for at in conditional_with_co_await(text):
        line = text.count("\n", 0, at) + 1
        yield (f"{path}:{line}: co_await inside a ?: expression (GCC 12 destroys its "
               "temporaries twice): use if/else")
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
        for i in braced_temporaries(expr):
            line = text.count("\n", 0, start + i) + 1
            snippet = expr[max(0, i - 30):i + 20].replace("\n", " ")
            yield (f"{path}:{line}: braced temporary '...{snippet.strip()}...' in a co_await "
                   "expression (GCC 12 destroys aggregates twice): make it a named local")


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
