"""Jupyter's view of a model: ``model_html`` is what ``Module._repr_html_`` returns (the
package root wires it into ``dp.nn.module.FRONT_ENDS["html"]``).

The HTML is self-contained (no scripts, no external styles) and every string from the
model (its title, parameter names, labels, feature names) is escaped.

>>> import dlprimer as dp
>>> page = model_html(dp.SigmoidModel(2))
>>> "Model I, the sigmoid model" in page and "d = 3" in page
True
"""

from __future__ import annotations

import html

__all__ = ["model_html"]

#: Rows of the parameter table shown before the rest are summarized in one line.
MAX_PARAMETER_ROWS = 24
#: Entries of a list (classes, feature names) shown before "… and k more".
MAX_LIST_ITEMS = 12


def title_of(model) -> str:
    """The model's title from its explanation (``model.explain().title``), or its class
    name for a Module nothing explains (a user-defined one)."""
    try:
        return str(model.explain().title)
    # NOTE: a repr must not raise: a user Module's explain() may fail in any way.
    except Exception:
        return f"{type(model).__name__} (a dp.nn.Module)"


def abbreviated(values, limit: int = MAX_LIST_ITEMS) -> str:
    """The first ``limit`` values, comma-separated, then how many were left out.

    >>> abbreviated(range(5), limit=3)
    '0, 1, 2, … and 2 more (5 in all)'
    """
    values = [str(v) for v in values]
    shown = ", ".join(values[:limit])
    if len(values) > limit:
        shown += f", … and {len(values) - limit} more ({len(values)} in all)"
    return shown


def _row(key: str, value: str) -> str:
    return (f"<tr><th style='text-align:left'>{html.escape(key)}</th>"
            f"<td style='text-align:left'>{html.escape(value)}</td></tr>")


def _parameter_table(named) -> str:
    head = ("<tr><th style='text-align:left'>parameter</th><th style='text-align:left'>"
            "shape</th><th style='text-align:right'>entries</th>"
            "<th style='text-align:left'>dtype</th></tr>")
    body = "".join(
        f"<tr><td style='text-align:left'><code>{html.escape(name)}</code></td>"
        f"<td style='text-align:left'>{html.escape(' × '.join(map(str, p.shape)) or 'scalar')}"
        f"</td><td style='text-align:right'>{p.size:,}</td>"
        f"<td style='text-align:left'>{html.escape(str(p.dtype))}</td></tr>"
        for name, p in named[:MAX_PARAMETER_ROWS])
    if len(named) > MAX_PARAMETER_ROWS:
        rest = named[MAX_PARAMETER_ROWS:]
        body += (f"<tr><td colspan='4' style='text-align:left'>… and {len(rest)} more "
                 f"parameter tensors ({sum(p.size for _, p in rest):,} entries)</td></tr>")
    return f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"


def model_html(model) -> str:
    """The model as HTML: its title, a table of its named parameters (shape, entries,
    dtype), d (the length of θ, Sec. 8) and, once fitted, its task, output, classes and
    feature names (long lists abbreviated)."""
    named = model.named_parameters()
    d = sum(p.size for _, p in named)
    facts = [("parameters", f"d = {d:,}" + ("" if named else " (no trainable parameters)"))]
    if model.task_ is not None:
        facts.append(("task", str(model.task_)))
    if model.output is not None:
        facts.append(("output", str(model.output)))
    if model.classes_ is not None:
        facts.append(("classes", abbreviated(list(model.classes_))))
    if model.feature_names:
        facts.append(("features", f"p = {len(model.feature_names)}: "
                                  + abbreviated(model.feature_names)))
    if model.preprocessor is not None:
        facts.append(("inputs", "raw columns, encoded and standardized as in fit"))
    elif model.standardizer is not None:
        facts.append(("inputs", "raw rows, standardized as in fit (eq. (13))"))
    if model.task_ is None:
        facts.append(("fitted", "no (train it with dp.fit)"))
    table = "".join(_row(k, v) for k, v in facts)
    parameters = _parameter_table(named) if named else ""
    return (f"<div class='dlprimer-model'><p><b>{html.escape(title_of(model))}</b></p>"
            f"<table>{table}</table>{parameters}</div>")
