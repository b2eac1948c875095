"""Subject domains and their skills, in curriculum order, for naming simulated courses."""

from __future__ import annotations

from typing import Final

__all__ = ["DOMAINS", "course_code", "skill_title"]

DOMAINS: Final[dict[str, tuple[str, ...]]] = {
    "algebra": (
        "linear-equations", "inequalities", "functions", "graphing", "systems-of-equations",
        "exponents", "polynomials", "factoring", "quadratics", "rational-expressions",
        "logarithms", "sequences",
    ),
    "statistics": (
        "descriptive-statistics", "probability", "bayes-rule", "distributions", "sampling",
        "confidence-intervals", "hypothesis-testing", "chi-square", "correlation", "regression",
        "anova", "experimental-design",
    ),
    "programming": (
        "variables", "control-flow", "functions", "lists", "dictionaries", "recursion",
        "classes", "exceptions", "file-io", "testing", "sorting", "complexity",
    ),
    "biology": (
        "cells", "proteins", "metabolism", "photosynthesis", "respiration", "mitosis",
        "meiosis", "genetics", "evolution", "homeostasis", "immunity", "ecology",
    ),
    "chemistry": (
        "atoms", "periodic-table", "bonding", "stoichiometry", "gases", "solutions",
        "acids-bases", "thermochemistry", "kinetics", "equilibrium", "redox", "organic-basics",
    ),
    "physics": (
        "kinematics", "forces", "energy", "momentum", "rotation", "gravitation",
        "oscillations", "waves", "thermodynamics", "electrostatics", "circuits", "magnetism",
    ),
    "economics": (
        "supply-demand", "elasticity", "consumer-choice", "production-costs",
        "market-structures", "externalities", "gdp", "inflation", "unemployment",
        "monetary-policy", "fiscal-policy", "trade",
    ),
    "history": (
        "sources", "chronology", "causation", "industrial-revolution", "revolutions",
        "empires", "world-war-one", "world-war-two", "cold-war", "decolonisation",
        "globalisation", "historiography",
    ),
}  # fmt: skip

_NAMES: Final = tuple(DOMAINS)


def course_code(index: int) -> tuple[str, str]:
    """The domain and course id of the index-th course: ``("algebra", "algebra-101")``."""
    domain = _NAMES[index % len(_NAMES)]
    level = 101 + 100 * (index // len(_NAMES))
    return domain, f"{domain}-{level}"


def skill_title(skill_id: str) -> str:
    """A readable name for a skill id: ``algebra.linear-equations`` -> ``Linear Equations``."""
    return skill_id.rsplit(".", 1)[-1].replace("-", " ").title()
