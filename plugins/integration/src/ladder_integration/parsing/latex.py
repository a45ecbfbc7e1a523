"""LaTeX command tables for the lexer and parser.

LaTeX answers are lexed into the same token stream as plain text (``\\frac`` becomes a
command token, ``\\left(`` a plain parenthesis, ``\\cdot`` a ``*``) and parsed by the same
grammar; nothing is rewritten into Python source.
"""

from __future__ import annotations

# Commands that only affect spacing or style: dropped by the lexer.
IGNORED = frozenset(
    {
        ",", ";", ":", "!", " ", "quad", "qquad", "displaystyle", "textstyle",
        "limits", "nolimits", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
        "biggl", "biggr", "Biggl", "Biggr", "middle",
    }
)

# Sizing prefixes that take the next delimiter (\left( ... \right)).
DELIMITER_PREFIXES = frozenset({"left", "right", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr", "Biggl", "Biggr", "big", "Big", "bigg", "Bigg"})

# Commands that are binary operators.
OPERATORS = {"cdot": "*", "times": "*", "ast": "*", "div": "/"}

# Commands that stand for an absolute-value bar.
ABS_OPEN = frozenset({"lvert", "lVert"})
ABS_CLOSE = frozenset({"rvert", "rVert"})
ABS_EITHER = frozenset({"vert", "mid", "|"})

# Function commands: \sin -> sin, \arctan -> arctan...
FUNCTIONS = frozenset(
    {
        "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "arccot",
        "arcsec", "arccsc", "sinh", "cosh", "tanh", "coth", "sech", "csch", "arsinh",
        "arcosh", "artanh", "arcoth", "arcsinh", "arccosh", "arctanh", "arccoth",
        "exp", "ln", "log", "sgn", "cosec",
    }
)

# \operatorname{...}, \mathrm{...}: their braced letters are read as one name.
NAME_WRAPPERS = frozenset({"operatorname", "mathrm", "rm", "text", "textrm", "mathit", "mathbf", "mathcal"})

# Commands read as plain names (constants or variables).
NAMES = {
    "pi": "pi", "infty": "oo", "e": "e",
    "alpha": "alpha", "beta": "beta", "gamma": "gamma", "theta": "theta",
    "phi": "phi", "varphi": "phi", "psi": "psi", "omega": "omega", "lambda": "lambda",
    "mu": "mu", "tau": "tau", "sigma": "sigma", "rho": "rho", "xi": "xi", "eta": "eta",
    "zeta": "zeta", "epsilon": "epsilon", "varepsilon": "epsilon", "delta": "delta",
    "kappa": "kappa", "nu": "nu", "chi": "chi",
}

# Commands that are a group around their single braced argument.
TRANSPARENT = frozenset({"boxed", "mathbf", "displaystyle"})

# Fractions.
FRACTIONS = frozenset({"frac", "dfrac", "tfrac", "cfrac"})

# Commands with a dedicated, more helpful refusal.
REFUSED = {
    "int": "integral sign in the answer",
    "iint": "integral sign in the answer",
    "oint": "integral sign in the answer",
    "sum": "unsupported: sums",
    "prod": "unsupported: products",
    "lim": "unsupported: limits",
    "binom": "unsupported: binomial coefficients",
    "lfloor": "unsupported: floor",
    "lceil": "unsupported: ceiling",
    "partial": "unsupported: derivatives",
}

# Unicode characters mapped to ASCII spellings before lexing.
UNICODE = str.maketrans(
    {
        "\u2212": "-", "\u2013": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*",
        "\u2217": "*", "\u00f7": "/", "\u03c0": "\\pi ", "\u221e": " oo ", "\u00b2": "^2",
        "\u00b3": "^3", "\u221a": "\\sqrt ", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
        "\u200b": " ", "\u2223": "|", "\u2044": "/", "\u03b8": "\\theta ",
    }
)
