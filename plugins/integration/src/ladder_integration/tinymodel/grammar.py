"""Seeded grammar of easy and hard integrands for the embedded tiny calculus model.

Why a grammar at all: the tiny model must be trained from nothing on this
machine, and the LADDER demonstration needs a *controlled* gap between what
the model learnt in pre-training and the hard problems that only a tree of
easier variants leads to. Every integrand is a sum of terms
``c * base`` where ``base`` is one of a small set of base terms (see
:class:`BaseTerm`); antiderivatives are computed once per base term by SymPy
(in a worker process with a hard time limit) and combined by linearity, so
the whole data set costs a few hundred ``integrate`` calls.

Families (``a`` is an integer rate, ``g`` is one of ``sin(a*x)``,
``cos(a*x)``, ``exp(a*x)``, ``exp(-a*x)``). A product ``x**k * g(a*x)`` sits
on *rung* ``k + (a > 1)``: the number of easier-variant rewrites (lower the
exponent, replace ``a*x`` by ``x``) between it and a single ``g``.

* easy (pre-training): ``x**n`` (n 0..5), ``g`` alone (a 1..9),
  ``1/(x + a)`` (a 1..9) and rung 1, ``x*g(x)``;
* rare (pre-training, about 0.5% of terms): rung 2, ``x*g(a*x)`` (a 2..5)
  and ``x**2*g(x)``, so the first rung below the hard problems is partly in
  reach of the base model;
* held out of pre-training proper: rungs 3 and 4, ``x**2*g(a*x)`` (a 2..5)
  and ``x**3*g(a*x)`` (a 1..5). The hard problem sets are built from these.
  ``train.py``'s short second stage ("exposure", :func:`exposure_weights`)
  shows them about 100 times each, so that the base model solves about 1%
  of the hard problems: the LADDER paper's starting point. A model that has
  never seen a family samples it never, and RL cannot reinforce what the
  policy never samples (measured: 0 of 64 samples on every rung-3 problem,
  and 0% after 200 GRPO steps on the variant tree).

Only our own generated expressions are ever handed to SymPy here: this module
never sees model output.
"""

from __future__ import annotations

import multiprocessing as mp
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sympy

X = sympy.Symbol("x")

ANSWER_OPEN = "<ANSWER>"
ANSWER_CLOSE = "</ANSWER>"

#: Transcendental factors ``g``; ``expneg`` is ``exp(-a*x)``.
TRANSCENDENTAL = ("sin", "cos", "exp", "expneg")
#: Base-term kinds: a power of x alone, a transcendental factor (possibly times
#: a power of x) or a reciprocal ``1/(x + a)``.
KINDS = ("power",) + TRANSCENDENTAL + ("recip",)

EASY_POWERS = range(0, 6)
EASY_RATES = range(1, 10)
PRODUCT_POWERS = range(1, 4)
PRODUCT_RATES = range(1, 6)
ROOT_POWERS = (2, 3)
#: Products on this rung or above never occur in pre-training.
HELD_OUT_RUNG = 3
COEFFICIENTS = tuple(c for c in range(-9, 10) if c != 0)

#: Relative weights of the term kinds in easy integrands (``rung1`` is ``x*g(x)``, ``rung2`` the rare products).
EASY_WEIGHTS = {"power": 0.30, "sin": 0.12, "cos": 0.12, "exp": 0.09, "expneg": 0.09, "recip": 0.10,
                "rung1": 0.175, "rung2": 0.005}

_FORBIDDEN = ("Integral", "Piecewise", "Si", "Ci", "Ei", "li", "erf", "erfi", "fresnel", "gamma", "polylog",
              "LambertW", "hyper", "meijerg", "Shi", "Chi", "expint", "uppergamma", "lowergamma")


@dataclass(frozen=True, order=True)
class BaseTerm:
    """``x**power * g(rate*x)`` (kind in TRANSCENDENTAL), ``x**power`` (kind ``power``) or ``1/(x + rate)``."""

    kind: str
    power: int = 0
    rate: int = 1

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown base-term kind {self.kind!r}")

    def expr(self) -> sympy.Expr:
        if self.kind == "power":
            return X**self.power
        if self.kind == "recip":
            return 1 / (X + self.rate)
        arg = self.rate * X
        factor = {"sin": sympy.sin(arg), "cos": sympy.cos(arg), "exp": sympy.exp(arg),
                  "expneg": sympy.exp(-arg)}[self.kind]
        return X**self.power * factor

    @property
    def is_product(self) -> bool:
        return self.kind in TRANSCENDENTAL and self.power >= 1

    @property
    def rung(self) -> int:
        """Rewrites from a single ``g`` (lower the exponent, replace ``a*x`` by ``x``); 0 for non-products."""
        return self.power + (self.rate > 1) if self.is_product else 0

    @property
    def held_out(self) -> bool:
        """True for the hard products kept out of pre-training entirely (rung 3 and above)."""
        return self.rung >= HELD_OUT_RUNG


@dataclass(frozen=True)
class Example:
    """One integrand with its antiderivative, both as SymPy ``str()`` text."""

    integrand: str
    antiderivative: str
    terms: tuple[tuple[int, BaseTerm], ...] = ()

    @property
    def problem(self) -> str:
        return f"integrate({self.integrand}, x)"

    @property
    def prompt(self) -> str:
        return prompt_for(self.problem)

    @property
    def completion(self) -> str:
        return completion_for(self.antiderivative)


def prompt_for(problem_text: str) -> str:
    """The tiny model's compact prompt: the problem text and a newline, nothing else."""
    return f"{problem_text}\n"


def completion_for(antiderivative: str) -> str:
    """The completion the tiny model is trained to produce (EOS is appended by the tokenizer step)."""
    return f"{ANSWER_OPEN}{antiderivative}{ANSWER_CLOSE}"


# ------------------------------------------------------------------ base terms
def product_terms(rung: int | None = None) -> list[BaseTerm]:
    """All products ``x**k * g(a*x)`` (k 1..3, a 1..5), optionally only those on ``rung``."""
    out = [BaseTerm(kind, k, a) for kind in TRANSCENDENTAL for k in PRODUCT_POWERS for a in PRODUCT_RATES]
    return [t for t in out if rung is None or t.rung == rung]


def easy_base_terms() -> list[BaseTerm]:
    """Every base term allowed in pre-training (rung 2 only rarely, see ``EASY_WEIGHTS``)."""
    terms = [BaseTerm("power", n) for n in EASY_POWERS]
    terms += [BaseTerm(kind, 0, a) for kind in TRANSCENDENTAL for a in EASY_RATES]
    terms += [BaseTerm("recip", 0, a) for a in EASY_RATES]
    terms += product_terms(1) + product_terms(2)
    return terms


def held_out_base_terms() -> list[BaseTerm]:
    """Products held out of pre-training proper (rungs 3 and 4; only the exposure stage shows them)."""
    return [t for t in product_terms() if t.held_out]


# ------------------------------------------------------------ antiderivatives
def _integrate_worker(conn) -> None:  # pragma: no cover - runs in a child process
    import sympy as sp

    x = sp.Symbol("x")
    while True:
        try:
            item = conn.recv()
        except EOFError:
            return
        if item is None:
            return
        try:
            conn.send(("ok", sp.integrate(item, x)))
        except Exception as exc:  # noqa: BLE001 - report and keep serving
            conn.send(("error", repr(exc)))


class _Integrator:
    """One SymPy worker process; a call that runs past ``timeout_s`` kills and replaces it."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        # fork: the worker holds only SymPy and our own expressions, and a
        # script without a ``__main__`` guard must still work.
        methods = mp.get_all_start_methods()
        self._ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        self._proc = None
        self._conn = None

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(target=_integrate_worker, args=(child,), daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent

    def __call__(self, expr: sympy.Expr) -> sympy.Expr | None:
        if self._proc is None:
            self._start()
        try:
            self._conn.send(expr)
            if not self._conn.poll(self.timeout_s):
                self.close(kill=True)
                return None
            status, value = self._conn.recv()
        except (EOFError, OSError):
            self.close(kill=True)
            return None
        return value if status == "ok" else None

    def close(self, kill: bool = False) -> None:
        if self._proc is None or self._conn is None:
            return
        if kill:
            self._proc.kill()
        else:
            try:
                self._conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._conn.close()
        self._proc = None
        self._conn = None


def _elementary(expr: sympy.Expr) -> bool:
    names = {type(node).__name__ for node in sympy.preorder_traversal(expr)}
    return not any(name in names for name in _FORBIDDEN)


class AntiderivativeTable:
    """Antiderivatives of base terms, computed by SymPy once each (time-limited) and cached.

    A base term whose integral times out, fails, or is not elementary maps to
    ``None`` and is never used in an example.
    """

    def __init__(self, timeout_s: float = 10.0) -> None:
        self.timeout_s = timeout_s
        self._cache: dict[BaseTerm, sympy.Expr | None] = {}

    def ensure(self, terms: Iterable[BaseTerm]) -> None:
        todo = sorted({t for t in terms if t not in self._cache})
        if not todo:
            return
        integrator = _Integrator(self.timeout_s)
        try:
            for term in todo:
                result = integrator(term.expr())
                self._cache[term] = result if result is not None and _elementary(result) else None
        finally:
            integrator.close()

    def get(self, term: BaseTerm) -> sympy.Expr | None:
        if term not in self._cache:
            self.ensure([term])
        return self._cache[term]

    def available(self, terms: Iterable[BaseTerm]) -> list[BaseTerm]:
        terms = list(terms)
        self.ensure(terms)
        return [t for t in terms if self._cache[t] is not None]


# --------------------------------------------------------------- assembling
def build_integrand(terms: Sequence[tuple[int, BaseTerm]]) -> sympy.Expr:
    return sympy.Add(*[c * t.expr() for c, t in terms])


def build_example(terms: Sequence[tuple[int, BaseTerm]], table: AntiderivativeTable | None) -> Example:
    """An :class:`Example` for ``sum(c * base)``; without a table the antiderivative is left empty."""
    f = build_integrand(terms)
    if table is None:
        return Example(str(f), "", tuple(terms))
    parts = []
    for c, t in terms:
        anti = table.get(t)
        if anti is None:
            raise ValueError(f"no elementary antiderivative for {t}")
        parts.append(c * anti)
    # Expanded, every family reads the same way: a sum of c * x**j * g(a*x)
    # (SymPy would otherwise print ``-9*(-125*x**3 - ...)*exp(-5*x)/625``).
    return Example(str(f), str(sympy.expand(sympy.Add(*parts))), tuple(terms))


def _coefficient(rng: random.Random, p_one: float = 0.25) -> int:
    if rng.random() < p_one:
        return 1 if rng.random() < 0.75 else -1
    return rng.choice(COEFFICIENTS)


def exposure_weights(held_out_share: float) -> dict[str, float]:
    """``EASY_WEIGHTS`` plus the held-out products (rungs 3 and 4) at ``held_out_share`` of all terms.

    Used by the tiny model's short second training stage (``train.py``,
    ``--exposure-*``): a base model that has seen a hard family a handful of
    times solves it about 1% of the time, the regime of the LADDER paper's
    base models; one that has never seen it solves it never, and no amount of
    RL on variants can find what the policy never samples.
    """
    weights = {k: v * (1.0 - held_out_share) for k, v in EASY_WEIGHTS.items()}
    weights["held_out"] = held_out_share
    return weights


def sample_easy_base(rng: random.Random, weights: dict[str, float] | None = None) -> BaseTerm:
    weights = weights or EASY_WEIGHTS
    kinds = list(weights)
    kind = rng.choices(kinds, weights=[weights[k] for k in kinds])[0]
    if kind == "power":
        return BaseTerm("power", rng.choice(EASY_POWERS))
    if kind == "recip":
        return BaseTerm("recip", 0, rng.choice(EASY_RATES))
    if kind == "rung1":
        return rng.choice(_RUNG1)
    if kind == "rung2":
        return rng.choice(_RUNG2)
    if kind == "held_out":
        return rng.choice(_HELD_OUT)
    return BaseTerm(kind, 0, rng.choice(EASY_RATES))


_RUNG1 = product_terms(1)
_RUNG2 = product_terms(2)
_HELD_OUT = [t for t in product_terms() if t.held_out]


def sample_easy_terms(rng: random.Random, max_terms: int = 3, min_terms: int = 1,
                      weights: dict[str, float] | None = None) -> list[tuple[int, BaseTerm]]:
    """1-3 distinct easy base terms with non-zero integer coefficients."""
    n = rng.choices(range(min_terms, max_terms + 1), weights=[(3, 4, 3)[i - 1] for i in range(min_terms, max_terms + 1)])[0]
    chosen: list[BaseTerm] = []
    while len(chosen) < n:
        t = sample_easy_base(rng, weights)
        if t not in chosen:
            chosen.append(t)
    return [(_coefficient(rng), t) for t in chosen]


def hard_rates(power: int) -> list[int]:
    """Rates that put ``x**power * g(a*x)`` on a held-out rung."""
    return [a for a in PRODUCT_RATES if BaseTerm("sin", power, a).held_out]


def sample_hard_terms(rng: random.Random, kind: str | None = None, power: int | None = None,
                      p_extra: float = 0.5) -> list[tuple[int, BaseTerm]]:
    """``c * x**k * g(a*x)`` on a held-out rung, half the time plus one easy non-product term.

    The extra term makes "split the sum" one of the rewrites that lead down.
    """
    kind = kind or rng.choice(TRANSCENDENTAL)
    power = power or rng.choice(ROOT_POWERS)
    main = BaseTerm(kind, power, rng.choice(hard_rates(power)))
    terms = [(_coefficient(rng, p_one=0.35), main)]
    if rng.random() < p_extra:
        while True:
            extra = sample_easy_base(rng)
            if not extra.is_product:
                break
        terms.append((_coefficient(rng), extra))
    return terms


TermSet = tuple[tuple[int, BaseTerm], ...]


def term_key(terms: Sequence[tuple[int, BaseTerm]]) -> frozenset:
    """Identity of an integrand: the base terms are linearly independent, so equal keys mean equal integrands."""
    return frozenset(terms)


def sample_easy_term_sets(n: int, seed: int, *, min_terms: int = 1, exclude: Iterable[frozenset] = (),
                          max_tries_factor: int = 20, weights: dict[str, float] | None = None,
                          held_out_min_terms: int = 1) -> list[TermSet]:
    """``n`` distinct easy integrands (as term sets) from ``seed``, skipping keys in ``exclude``.

    A draw holding a held-out product (rung 3-4) with fewer than ``held_out_min_terms`` terms is
    rejected: with 3, such products appear only inside 3-term sums, a shape no hard problem set
    (one product, at most one extra term) uses, so no such problem can be a training integrand.
    """
    rng = random.Random(seed)
    seen = set(exclude)
    out: list[TermSet] = []
    tries = 0
    while len(out) < n and tries < n * max_tries_factor:
        tries += 1
        terms = tuple(sample_easy_terms(rng, min_terms=min_terms, weights=weights))
        if len(terms) < held_out_min_terms and not is_pretraining_integrand(terms):
            continue
        key = term_key(terms)
        if key in seen:
            continue
        seen.add(key)
        out.append(terms)
    return out


_POOL_TABLE: AntiderivativeTable | None = None


def _build_chunk(chunk: list[TermSet]) -> list[Example]:  # pragma: no cover - runs in pool workers
    return [build_example(terms, _POOL_TABLE) for terms in chunk]


def build_examples(term_sets: Sequence[TermSet], table: AntiderivativeTable | None, workers: int = 1) -> list[Example]:
    """Examples for ``term_sets`` in order; ``workers > 1`` splits the SymPy printing over forked processes."""
    if table is not None:
        table.ensure({t for terms in term_sets for _, t in terms})
    if workers <= 1 or table is None or len(term_sets) < 2000 or "fork" not in mp.get_all_start_methods():
        return [build_example(terms, table) for terms in term_sets]
    global _POOL_TABLE
    _POOL_TABLE = table
    size = 1000
    chunks = [list(term_sets[i:i + size]) for i in range(0, len(term_sets), size)]
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_build_chunk, chunks)
    finally:
        _POOL_TABLE = None
    return [e for part in parts for e in part]


def easy_examples(n: int, seed: int, table: AntiderivativeTable | None = None, *, min_terms: int = 1,
                  exclude: Iterable[frozenset] = (), workers: int = 1) -> list[Example]:
    """``n`` distinct easy examples from ``seed`` (see :func:`sample_easy_term_sets`).

    With ``table=None`` the antiderivative field is empty (cheap: no SymPy
    integration), which is all a verifier-based check needs.
    """
    return build_examples(sample_easy_term_sets(n, seed, min_terms=min_terms, exclude=exclude), table, workers)


#: Seeds of the easy samples that ``train.py`` keeps out of pre-training by construction.
TEST_EASY_SEED = 7_001
EVAL_EASY_SEED = 1_001


def heldout_easy_term_sets(n: int = 40, seed: int = TEST_EASY_SEED) -> list[TermSet]:
    """Easy integrands that ``train.py`` removes from its training data (it calls this with the same arguments).

    A test can therefore use them as unseen material without shipping a file.
    """
    return sample_easy_term_sets(n, seed)


def heldout_easy_problems(n: int = 40, seed: int = TEST_EASY_SEED) -> list[str]:
    """Problem texts of :func:`heldout_easy_term_sets` (no SymPy integration needed)."""
    return [build_example(terms, None).problem for terms in heldout_easy_term_sets(n, seed)]


def is_pretraining_integrand(terms: Sequence[tuple[int, BaseTerm]]) -> bool:
    return not any(t.held_out for _, t in terms)
