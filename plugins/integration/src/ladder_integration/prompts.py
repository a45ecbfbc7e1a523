"""What the integration domain says to models, and how it reads variant replies.

Two audiences: the policy model, asked to solve an integral (``solve_prompt``),
and a variant generator, asked for easier or equivalent integrals
(``variant_prompt``, parsed back by ``parse_variant_reply``). The wording
follows the LADDER paper and its public code: SymPy syntax, the final answer in
``<ANSWER>`` tags, no constant of integration; variants as
``integrate(<integrand>, x)``.

``parse_variant_reply`` only cuts text: it never evaluates anything, because
the reply is model output (hostile input). Validation (safe parsing,
triviality, de-duplication) is the domain's ``validate_variant``.

This module imports only the standard library, so that building prompts is
cheap in data loaders and CLI help.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from ladder_core.records import Problem, TransformationMenu, VariantProposal

# ------------------------------------------------------------------ solving

_INSTRUCT_INDEFINITE = """\
Solve the following integral step by step.

{problem}

Show your full working, then give the final antiderivative as a single SymPy expression \
wrapped in <ANSWER> tags, for example <ANSWER>x**3/3 + sin(2*x)/2 + log(x)</ANSWER>.
Rules for the answer:
- Use SymPy/Python syntax: write * for every multiplication and ** for powers; use exp, log, sqrt, \
sin, cos, tan, atan, asin, sinh, cosh, ... and pi, E.
- Do not include a constant of integration.
- Do not use integrate(...) or Integral(...) in the answer, and do not use LaTeX.
- Put only the expression inside the tags; the last <ANSWER>...</ANSWER> block is graded."""

_INSTRUCT_DEFINITE = """\
Evaluate the following definite integral step by step.

{problem}

Show your full working, then give the exact value as a number or closed-form SymPy expression \
wrapped in <ANSWER> tags, for example <ANSWER>pi/4 - log(2)/2</ANSWER>.
Rules for the answer:
- Use SymPy/Python syntax: write * for every multiplication and ** for powers; use pi, E, sqrt, log, \
exp, ... (a decimal number is accepted if no closed form is known).
- Do not use integrate(...) or Integral(...) in the answer, and do not use LaTeX.
- Put only the value inside the tags; the last <ANSWER>...</ANSWER> block is graded."""

SOLVE_STYLES = ("instruct", "compact")


def is_definite_text(text: str) -> bool:
    """Whether ``integrate(f, (x, a, b))``-style text has limits, judged from its shape alone.

    Used to word the prompt without parsing the problem (prompts stay
    sympy-free); a problem's ``meta["kind"]`` takes precedence when present.
    """
    call = _first_call(text, "integrate") or _first_call(text, "Integral")
    if call is None:
        return False
    args = _split_top_level(call[call.index("(") + 1 : -1])
    return len(args) >= 2 and args[-1].strip().startswith("(")


def solve_prompt(problem: Problem, style: str = "instruct") -> str:
    """The prompt asking a model to solve ``problem``.

    ``compact`` is exactly ``f"{problem.text}\\n"``: the embedded tiny model is
    trained on ``integrate(f, x)\\n`` -> ``<ANSWER>F</ANSWER>`` and any other
    wording would be out of its distribution.
    """
    if style == "compact":
        return f"{problem.text}\n"
    if style != "instruct":
        raise ValueError(f"unknown prompt style {style!r}; expected one of {', '.join(SOLVE_STYLES)}")
    kind = problem.meta.get("kind") if problem.meta else None
    definite = kind == "definite" if kind in ("definite", "indefinite") else is_definite_text(problem.text)
    template = _INSTRUCT_DEFINITE if definite else _INSTRUCT_INDEFINITE
    return template.format(problem=problem.text.strip())


# -------------------------------------------------------- transformation menu

EASIER: tuple[str, ...] = (
    "reduce an exponent (for example x**3 -> x**2)",
    "drop a term of a sum",
    "replace a nested function by its argument (for example sin(x**2) -> x**2)",
    "simplify a coefficient to 1",
    "replace the argument of an inner function by x (for example exp(3*x) -> exp(x))",
    "drop a factor of a product",
    "remove a constant shift (for example x + 3 -> x)",
    "lower the degree of a polynomial",
    "split a sum and keep only one of its terms",
    "replace a quotient by its numerator or its denominator's reciprocal",
    "remove a square root (for example sqrt(x + 1) -> x + 1)",
    "replace a product of trigonometric functions by a single one",
    "replace an exponential of a polynomial by an exponential of x",
    "replace a power of a trigonometric function by the function itself",
    "turn a rational function into a polynomial by dropping the denominator",
    "make the denominator a linear factor (for example x**2 + 1 -> x + 1)",
    "replace a hyperbolic function by the matching exponential",
    "drop the logarithm around an expression",
    "replace a large integer by a smaller one",
    "remove a fractional exponent (for example x**(3/2) -> x)",
)

EQUIVALENT: tuple[str, ...] = (
    "change a coefficient",
    "multiply the whole integrand by a constant",
    "swap sin and cos",
    "change the sign of a term",
    "change a constant shift (for example x + 3 -> x + 5)",
    "swap sinh and cosh",
    "replace x by a multiple of x inside a function (for example sin(x) -> sin(2*x))",
    "replace one exponent by another of the same size",
    "exchange the numerator's constant and linear terms",
    "replace exp(x) by exp(-x)",
    "rewrite the integrand in an algebraically equivalent but different-looking form",
    "swap tan and cot",
    "replace a constant in the denominator by another constant",
    "replace a logarithm's argument by a similar linear expression",
    "reorder the factors of a product and change one coefficient",
    "replace a square by a square of a different linear expression",
)

HARDER: tuple[str, ...] = (
    "introduce a nested function (for example sin(x) -> sin(x**2))",
    "raise an exponent",
    "add a term to a sum",
    "multiply by another factor (for example x, exp(x) or sin(x))",
    "add a constant shift inside a function",
    "put a square root around a subexpression",
    "replace x by a polynomial inside a function",
    "divide by a polynomial",
    "compose two elementary functions",
    "raise a trigonometric function to a power",
    "add a logarithmic factor",
    "replace a coefficient by a parameter-like large integer",
    "turn a polynomial denominator into a product of factors",
    "combine a trigonometric and an exponential factor",
    "introduce a hyperbolic function",
    "replace a linear argument by a quadratic one",
)

TRANSFORMATION_MENU = TransformationMenu(easier=EASIER, equivalent=EQUIVALENT, harder=HARDER)

PERSONAS: tuple[str, ...] = (
    "Think like Euler, focusing on series expansions and clever substitutions.",
    "Think like Gauss, looking for hidden symmetry and structure.",
    "Think like Riemann, paying attention to where the integrand is well behaved.",
    "Think like a patient calculus teacher writing a graded set of exercises for beginners.",
    "Think like Ramanujan, spotting elegant special forms and patterns.",
    "Think like Cauchy, insisting on rigour and simple building blocks.",
    "Think like an engineer who wants the simplest integral that keeps the same technique.",
    "Think like Leibniz, focusing on the chain rule and substitution.",
    "Think like a competition coach breaking a hard problem into warm-up problems.",
    "Think like Lagrange, reducing everything to polynomials and their manipulation.",
)

# ---------------------------------------------------------- variant requests

_VARIANT_PROMPT = """\
{persona}

You are building a ladder of practice problems that lead up to the integral below.

Original integral:
{problem}

Write {n} new integrals that are variants of the original, each obtained by applying one or more of \
these transformations:
{transformations}

Requirements:
- Every variant must be an indefinite integral in SymPy syntax: integrate(<integrand>, x), \
with * for every multiplication and ** for powers (no LaTeX, no ^).
- Every variant must differ from the original and from the other variants, and must not be a \
constant or zero.
- Give exactly one variant per line, in this exact format:
<VARIANT>integrate(<integrand>, x)</VARIANT> # one short line saying which transformation you applied

Example line:
<VARIANT>integrate(x**2*exp(x), x)</VARIANT> # reduced the exponent of x from 3 to 2

Write the {n} lines now and nothing else."""


def variant_prompt(problem: Problem, transformations: Sequence[str], persona: str, n: int) -> str:
    """A prompt asking for ``n`` variants of ``problem`` using ``transformations``.

    The ``<VARIANT>`` tag plus a ``#`` comment is a format instruction models
    follow well and that :func:`parse_variant_reply` reads even when a model
    adds numbering, code fences or prose around it.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    listed = "\n".join(f"- {t}" for t in transformations) or "- any transformation that makes it easier"
    return _VARIANT_PROMPT.format(
        persona=persona.strip() or PERSONAS[0], problem=problem.text.strip(), n=n, transformations=listed
    ).strip()


# ------------------------------------------------------------ reply parsing

MAX_REPLY_CHARS = 200_000
MAX_PROPOSALS = 256
MAX_CANDIDATE_CHARS = 2_000

_OPEN_TAG_RE = re.compile(r"<[ \t]*variant[ \t]*>", re.IGNORECASE)
_CLOSE_TAG_RE = re.compile(r"<[ \t]*/[ \t]*variant[ \t]*>", re.IGNORECASE)
_CALL_NAME_RE = re.compile(r"\b(integrate|Integral)[ \t]*\(")
_PAREN_OR_BLANK_LINE_RE = re.compile(r"[()]|\n[ \t]*\n")
_LATEX_INT_RE = re.compile(
    r"\\int(?![a-zA-Z])(.{0,300}?)(?:\\[,;!: ]|\s)*(?:\\mathrm\{d\}|\\,d|(?<![A-Za-z\\])d)\s*x\b", re.DOTALL
)


def parse_variant_reply(reply: str) -> list[VariantProposal]:
    """Candidate variants in a generator's reply, in order, without duplicates.

    Reads ``<VARIANT>...</VARIANT>`` blocks first; text outside any tag is
    scanned for bare ``integrate(...)`` / ``Integral(...)`` calls (numbered
    lists, code fences, ``$...$``) and, failing that, for simple LaTeX
    ``\\int ... dx``. Each proposal's ``text`` is an ``integrate(...)`` string
    and its ``note`` the reasoning written after it on the same line. Nothing
    is evaluated; the text may still be invalid.
    """
    if not isinstance(reply, str) or not reply:
        return []
    reply = reply[:MAX_REPLY_CHARS]
    found: list[tuple[int, str, str]] = []  # (position in the reply, call text, note)
    outside: list[tuple[int, str]] = []
    latex_budget = [MAX_PROPOSALS]
    pos = 0
    for start, inner_start, inner_end, end, closed in _variant_blocks(reply):
        outside.append((pos, reply[pos:start]))
        pos = end
        inner = reply[inner_start:inner_end]
        calls = _calls_with_end(inner)
        if closed:
            note = _note_after(reply, end)
            texts = [c for c, _ in calls]
            if not texts:
                latex = _latex_integral(inner, latex_budget)
                texts = [latex] if latex else []
            found.extend((start, c, note) for c in texts)
        elif calls:  # an unterminated last tag (truncated generation): its first complete call counts
            call, call_end = calls[0]
            found.append((start, call, _note_after(inner, call_end)))
    outside.append((pos, reply[pos:]))
    for offset, chunk in outside:
        for call, end in _calls_with_end(chunk):
            found.append((offset + end - len(call), call, _note_after(chunk, end)))
        if "\\int" not in chunk:
            continue
        line_start = 0
        for line in chunk.splitlines(keepends=True):
            if "\\int" in line and not _CALL_NAME_RE.search(line):
                latex = _latex_integral(line, latex_budget)
                if latex:
                    found.append((offset + line_start, latex, _clean_note(line.split("dx", 1)[-1][:400])))
            line_start += len(line)
    found.sort(key=lambda item: item[0])

    proposals: list[VariantProposal] = []
    seen: set[str] = set()
    for _, text, note in found:
        text = _normalise_call(text)
        if not text or len(text) > MAX_CANDIDATE_CHARS:
            continue
        key = re.sub(r"\s+", "", text)
        if key in seen:
            continue
        seen.add(key)
        proposals.append(VariantProposal(text=text, note=note))
        if len(proposals) >= MAX_PROPOSALS:
            break
    return proposals


def _first_call(text: str, name: str) -> str | None:
    for call, _ in _calls_with_end(text, names=(name,)):
        return call
    return None


def _variant_blocks(reply: str) -> list[tuple[int, int, int, int, bool]]:
    """``(start, inner_start, inner_end, end, closed)`` of each ``<VARIANT>`` block, in one linear pass.

    An opening tag pairs with the next closing tag; an opening tag with no
    closing tag after it starts an unterminated block that runs to the end.
    """
    closes = list(_CLOSE_TAG_RE.finditer(reply))
    close_starts = [m.start() for m in closes]
    blocks: list[tuple[int, int, int, int, bool]] = []
    pos = 0
    for o in _OPEN_TAG_RE.finditer(reply):
        if o.start() < pos:
            continue
        k = bisect.bisect_left(close_starts, o.end())
        if k == len(closes):
            blocks.append((o.start(), o.end(), len(reply), len(reply), False))
            break
        c = closes[k]
        blocks.append((o.start(), o.end(), c.start(), c.end(), True))
        pos = c.end()
    return blocks


def _calls_with_end(text: str, names: tuple[str, ...] = ("integrate", "Integral")) -> list[tuple[str, int]]:
    """Outermost balanced ``integrate(...)`` calls in ``text``, each with the index just after it.

    One pass over the parentheses with a stack (linear time whatever the
    input); a blank line resets the stack so a runaway call does not swallow
    the rest of a reply; calls longer than ``MAX_CANDIDATE_CHARS`` are ignored.
    """
    starts = {m.end() - 1: m.start() for m in _CALL_NAME_RE.finditer(text) if m.group(1) in names}
    if not starts:
        return []
    matched: list[tuple[int, int]] = []
    stack: list[int] = []
    for m in _PAREN_OR_BLANK_LINE_RE.finditer(text):
        token = m.group()
        if token == "(":
            stack.append(m.start())
        elif token == ")":
            if stack:
                begin = starts.get(stack.pop())
                if begin is not None and m.end() - begin <= MAX_CANDIDATE_CHARS:
                    matched.append((begin, m.end()))
        else:
            stack.clear()
    matched.sort()
    out: list[tuple[str, int]] = []
    last_end = -1
    for begin, end in matched:
        if begin >= last_end:
            out.append((text[begin:end], end))
            last_end = end
    return out


def _split_top_level(args: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(args):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(args[start:i])
            start = i + 1
    parts.append(args[start:])
    return parts


def _normalise_call(call: str) -> str:
    """Collapse whitespace, spell ``Integral`` as ``integrate`` and strip stray markup inside the call."""
    text = " ".join(call.replace("`", " ").split())
    if text.startswith("Integral"):
        text = "integrate" + text[len("Integral") :]
    text = text.replace("( ", "(").replace(" )", ")").replace(" ,", ",")
    return text


def _note_after(text: str, end: int) -> str:
    line_end = text.find("\n", end, end + 400)
    return _clean_note(text[end : line_end if line_end >= 0 else end + 400])


def _clean_note(note: str) -> str:
    note = _OPEN_TAG_RE.sub("", note)
    note = re.sub(r"<[^>]{0,20}>", "", note)
    for _ in range(4):
        before = note
        note = note.strip().strip("`$*_").strip()
        note = re.sub(r"^(#|//|--|-|:|\u2014|\u2013|reasoning:|reason:|\()\s*", "", note, flags=re.IGNORECASE)
        if note == before:
            break
    note = note.rstrip(")").strip()
    return note[:300]


_LATEX_REPLACEMENTS: tuple[tuple[str, str], ...] = (
    (r"\left", ""),
    (r"\right", ""),
    (r"\cdot", "*"),
    (r"\times", "*"),
    (r"\,", " "),
    (r"\;", " "),
    (r"\!", ""),
    (r"\pi", " pi "),
    (r"\ln", " log"),
)
_LATEX_FUNCS = ("arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sin", "cos", "tan", "sec", "csc", "cot",
                "exp", "log", "sqrt")


def _latex_integral(text: str, budget: list[int] | None = None) -> str | None:
    """Best-effort ``\\int body dx`` -> ``integrate(body, x)`` for simple LaTeX; ``None`` when unsure.

    Pure text rewriting for the common shapes (``\\frac``, ``\\sqrt``, ``^``,
    ``\\sin``, ``e^{...}``); anything with a command left over is dropped
    rather than guessed, and the safe parser has the last word.
    """
    if len(text) > MAX_CANDIDATE_CHARS or "\\int" not in text:
        return None
    if budget is not None:
        if budget[0] <= 0:
            return None
        budget[0] -= 1
    m = _LATEX_INT_RE.search(text)
    if m is None:
        return None
    body = m.group(1).strip()
    if not body or body.startswith("_"):  # definite LaTeX integrals are not variants
        return None
    for old, new in _LATEX_REPLACEMENTS:
        body = body.replace(old, new)
    # \sin^2(x) and \sin^2 x mean (sin(x))**2
    body = re.sub(r"\\([a-z]+)\s*\^\s*\{?(\d+)\}?\s*\(([^()]*)\)", r"(\\\1(\3))**\2", body)
    body = re.sub(r"\\([a-z]+)\s*\^\s*\{?(\d+)\}?\s*([A-Za-z0-9]+)", r"(\\\1(\3))**\2", body)
    for _ in range(10):
        new = re.sub(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"((\1)/(\2))", body)
        new = re.sub(r"\\sqrt\s*\{([^{}]*)\}", r"sqrt(\1)", new)
        new = re.sub(r"\be\s*\^\s*\{([^{}]*)\}", r"exp(\1)", new)
        new = re.sub(r"\^\s*\{\s*([A-Za-z0-9.]+)\s*\}", r"**\1", new)
        new = re.sub(r"\^\s*\{([^{}]*)\}", r"**(\1)", new)
        if new == body:
            break
        body = new
    body = re.sub(r"\be\s*\^\s*([A-Za-z0-9]+)", r"exp(\1)", body)
    body = re.sub(r"\^\s*([A-Za-z0-9.]+)", r"**\1", body)
    for name in _LATEX_FUNCS:
        target = {"arcsin": "asin", "arccos": "acos", "arctan": "atan"}.get(name, name)
        body = re.sub(rf"\\{name}\b", f" {target} ", body)
    # \sin x -> sin(x) (single-token argument without parentheses)
    body = re.sub(r"\b(a?sin|a?cos|a?tan|sinh|cosh|tanh|sec|csc|cot|exp|log|sqrt)\s+([A-Za-z0-9]+)\b", r"\1(\2)", body)
    body = body.replace("{", "(").replace("}", ")")
    if "\\" in body or "$" in body:
        return None
    body = _explicit_products(body)
    if not body:
        return None
    return f"integrate({body}, x)"


_TOKEN_RE = re.compile(r"[A-Za-z_]+|\d+(?:\.\d*)?|\*\*|\S")
_FUNC_NAMES = frozenset({"sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "sec", "csc", "cot",
                         "exp", "log", "sqrt"})


def _explicit_products(body: str) -> str:
    """Insert ``*`` where LaTeX juxtaposes factors (``2x``, ``x sin(x)``, ``)(``); text-only."""
    tokens = _TOKEN_RE.findall(body)
    out: list[str] = []
    for tok in tokens:
        if out:
            prev = out[-1]
            prev_operand = prev == ")" or prev[0].isdigit() or (prev[0].isalpha() and prev not in _FUNC_NAMES)
            starts_operand = tok == "(" or tok[0].isalnum() or tok[0] == "_"
            if prev_operand and starts_operand:
                out.append("*")
        out.append(tok)
    return "".join(out)
