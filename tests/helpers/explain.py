"""Helpers shared by the explanation tests."""


def balanced(latex: str) -> bool:
    """True when the LaTeX's braces (ignoring escaped ones) open and close in order."""
    depth = 0
    for c in latex.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0
