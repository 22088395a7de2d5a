"""The rules a fitted ``Preprocessor`` keeps, as read back from a model file: each checked
field by field, so that a tampered file gives one clear error and never runs code."""

from __future__ import annotations

import copy
import math

__all__ = ["FEATURE_ROLES", "checked_rule", "strings_list"]

#: The roles whose columns give features.
FEATURE_ROLES = ("numeric", "boolean", "date", "categorical")


def strings_list(value) -> bool:
    """A list of strings (column names, categories)."""
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def checked_rule(plan, drop_first: bool) -> dict:
    """One column's rule from a model file, checked field by field, as a copy."""
    if not (isinstance(plan, dict) and isinstance(plan.get("column"), str)
            and isinstance(plan.get("role"), str) and strings_list(plan.get("outputs"))):
        raise ValueError(f"Preprocessor.from_dict: malformed column rule {plan!r:.120}; "
                         "expected 'column' and 'role' strings and a list of 'outputs'")
    name, role = plan["column"], plan["role"]
    if not plan["outputs"]:
        return copy.deepcopy(plan)
    if role == "categorical":
        categories = plan.get("categories")
        if not (strings_list(categories) and categories
                and len(set(categories)) == len(categories)):
            raise ValueError(f"column {name!r}: categories must be a list of distinct "
                             f"strings, got {categories!r:.80}")
        expected = [f"{name}={c}" for c in (categories[1:] if drop_first else categories)]
    elif role in FEATURE_ROLES:
        median, indicator = plan.get("median"), plan.get("indicator")
        if isinstance(median, bool) or not isinstance(median, (int, float)) or not (
                math.isfinite(median)):
            raise ValueError(f"column {name!r}: its rule needs a finite median, got "
                             f"{median!r:.40}")
        if not isinstance(indicator, bool) or not isinstance(plan.get("dayfirst", False), bool):
            raise ValueError(f"column {name!r}: 'indicator' (and 'dayfirst') must be True or "
                             f"False, got {indicator!r:.40}")
        expected = [name] + ([f"{name} missing"] if indicator else [])
    else:
        raise ValueError(f"column {name!r}: role {role!r} gives no features; the roles that "
                         f"do are {list(FEATURE_ROLES)}")
    if plan["outputs"] != expected:
        raise ValueError(f"column {name!r}: outputs {plan['outputs'][:10]} do not follow "
                         f"from its rule, which gives {expected[:10]}")
    return copy.deepcopy(plan)
