"""Fitting BKT parameters per skill by EM (Baum-Welch), vectorised over all sequences.

Every skill is fitted at once: each time step of the forward and backward passes is one
numpy operation over all the (learner, skill) sequences still running at that step, each
with its own skill's parameters. Several random restarts run side by side as extra copies
of the skills, and each skill keeps the restart with the best objective.

The objective is the log-likelihood plus, when ``prior_strength > 0``, the log-density of
Beta priors centred on ``FitOptions.centre`` (MAP-EM): skills with little data stay near
sensible values instead of running to degenerate ones. Without priors it is plain maximum
likelihood, and every iteration raises the likelihood.
"""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt

from edupulse.ml.bkt import BktParams
from edupulse.ml.sequences import Sequences

__all__ = ["FitOptions", "FitResult", "fit"]

FloatArray = npt.NDArray[np.float64]
_EPS = 1e-6
_TINY = 1e-300
_NAMES = ("prior", "learn", "forget", "guess", "slip")


class FitOptions(msgspec.Struct, frozen=True):
    """How to fit: iterations, restarts, forgetting, priors and bounds."""

    forgetting: bool = True
    iterations: int = 60
    tolerance: float = 1e-7  # stop when an iteration gains less than this, relative
    restarts: int = 4
    seed: int = 0
    prior_strength: float = 4.0  # pseudo-observations of each Beta prior; 0: plain ML
    centre: BktParams = BktParams(prior=0.5, learn=0.15, forget=0.05, guess=0.25, slip=0.12)
    max_guess: float = 0.5
    max_slip: float = 0.5


class FitResult(msgspec.Struct, frozen=True):
    """Fitted parameters per skill index and the objective's trace."""

    params: list[BktParams]
    log_likelihood: float
    history: list[float]  # the total objective after each iteration (best restart per skill)


class _Params:
    """Parameter arrays, one entry per skill (times restarts)."""

    def __init__(self, values: FloatArray) -> None:
        self.values = values  # shape (5, n_skills)

    def __getitem__(self, name: str) -> FloatArray:
        row: FloatArray = self.values[_NAMES.index(name)]
        return row


def _initial(n_skills: int, options: FitOptions) -> _Params:
    rng = np.random.default_rng(options.seed)
    c = options.centre
    centre = np.array([c.prior, c.learn, c.forget if options.forgetting else 0.0, c.guess, c.slip])
    values = np.repeat(centre[:, None], n_skills * options.restarts, axis=1)
    low = np.array([0.05, 0.01, 0.0, 0.05, 0.05])
    high = np.array([0.95, 0.4, 0.2 if options.forgetting else 0.0, 0.4, 0.3])
    random = rng.uniform(low[:, None], high[:, None], size=(5, n_skills * (options.restarts - 1)))
    values[:, n_skills:] = random  # restart 0 starts at the prior centre
    return _Params(values)


def _e_step(seqs: Sequences, p: _Params) -> dict[str, FloatArray]:
    """Forward filtering, then backward smoothing: expected counts per flat position.

    The backward pass works on posteriors (the two-slice form
    ``P(x_t, x_t+1 | all) = filt_t(x_t) A(x_t, x_t+1) smooth_t+1(x_t+1) / pred_t+1(x_t+1)``),
    not on scaled beta messages, which overflow on sequences of a thousand attempts.
    """
    sk = seqs.skill
    prior, learn, forget, guess, slip = (p[n][sk] for n in _NAMES)
    obs = seqs.obs
    filt = np.empty(len(obs))  # P(known | attempts up to and including t)
    pred = np.empty(len(obs))  # P(known | attempts before t)
    scale = np.empty(len(obs))  # P(attempt t | attempts before t)
    known = prior.copy()
    for t in range(seqs.steps):
        at, n = seqs.at(t), int(seqs.counts[t])
        o, k = obs[at], known[:n]
        joint = k * np.where(o > 0, 1.0 - slip[:n], slip[:n])
        c = joint + (1.0 - k) * np.where(o > 0, guess[:n], 1.0 - guess[:n])
        a = joint / c
        filt[at], pred[at], scale[at] = a, k, c
        known = a * (1.0 - forget[:n]) + (1.0 - a) * learn[:n]
    smooth = filt.copy()  # at the last step of a sequence, smoothed = filtered
    xi01 = np.zeros(len(obs))
    xi10 = np.zeros(len(obs))
    for t in range(seqs.steps - 2, -1, -1):
        at, m = seqs.at(t), int(seqs.counts[t + 1])
        here, nxt = slice(at.start, at.start + m), seqs.at(t + 1)
        a = filt[here]
        ratio1 = smooth[nxt] / np.maximum(pred[nxt], _TINY)
        ratio0 = (1.0 - smooth[nxt]) / np.maximum(1.0 - pred[nxt], _TINY)
        xi01[here] = (1.0 - a) * learn[:m] * ratio1
        xi10[here] = a * forget[:m] * ratio0
        smooth[here] = a * (1.0 - forget[:m]) * ratio1 + xi10[here]
    return {"gamma1": np.clip(smooth, 0.0, 1.0), "xi01": xi01, "xi10": xi10, "log_scale": np.log(scale)}


def _beta_prior(options: FitOptions) -> tuple[FloatArray, float]:
    """Pseudo-counts (successes, trials) of each parameter's Beta prior."""
    c = options.centre
    centre = np.array([c.prior, c.learn, c.forget, c.guess, c.slip])
    return centre * options.prior_strength, options.prior_strength


def _m_step(seqs: Sequences, stats: dict[str, FloatArray], n_skills: int, options: FitOptions) -> _Params:
    """New parameters from the expected counts, with the priors' pseudo-counts added."""

    def total(weights: FloatArray, where: npt.NDArray[np.bool_] | None = None) -> FloatArray:
        skill = seqs.flat_skill if where is None else seqs.flat_skill[where]
        w = weights if where is None else weights[where]
        return np.bincount(skill, weights=w, minlength=n_skills).astype(np.float64)

    g1, obs, nxt = stats["gamma1"], seqs.obs, seqs.has_next
    g0 = 1.0 - g1
    first = seqs.at(0)
    hits, trials = _beta_prior(options)
    num = [
        np.bincount(seqs.skill, weights=g1[first], minlength=n_skills),
        total(stats["xi01"]),
        total(stats["xi10"]),
        total(g0 * obs),
        total(g1 * (1.0 - obs)),
    ]
    den = [
        np.bincount(seqs.skill, minlength=n_skills).astype(np.float64),
        total(g0, nxt),
        total(g1, nxt),
        total(g0),
        total(g1),
    ]
    values = np.array([(n + h) / np.maximum(d + trials, _EPS) for n, d, h in zip(num, den, hits, strict=True)])
    values = np.clip(values, _EPS, 1.0 - _EPS)
    if not options.forgetting:
        values[2] = 0.0
    values[3] = np.minimum(values[3], options.max_guess)
    values[4] = np.minimum(values[4], options.max_slip)
    return _Params(values)


def _log_prior(p: _Params, options: FitOptions) -> FloatArray:
    """Log-density (up to a constant) of the Beta priors, per skill."""
    if options.prior_strength <= 0:
        return np.zeros(p.values.shape[1])
    hits, trials = _beta_prior(options)
    v = np.clip(p.values, _EPS, 1.0 - _EPS)
    terms = hits[:, None] * np.log(v) + (trials - hits)[:, None] * np.log1p(-v)
    if not options.forgetting:
        terms[2] = 0.0
    return np.asarray(terms.sum(axis=0))


def fit(seqs: Sequences, options: FitOptions) -> FitResult:
    """Fit every skill of ``seqs`` by EM with restarts; see the module docstring."""
    k, r = seqs.n_skills, options.restarts
    work = seqs.replicate(r) if r > 1 else seqs
    params = _initial(k, options)
    history: list[float] = []
    for i in range(max(options.iterations, 1)):
        stats = _e_step(work, params)
        loglik = np.bincount(work.flat_skill, weights=stats["log_scale"], minlength=k * r)
        history.append(float(_best(loglik + _log_prior(params, options), k, r)[1].sum()))
        converged = len(history) > 1 and history[-1] - history[-2] < options.tolerance * abs(history[-2])
        if converged or i == options.iterations - 1:
            break
        params = _m_step(work, stats, k * r, options)
    best, _ = _best(loglik + _log_prior(params, options), k, r)
    chosen = params.values[:, best]
    fitted = [BktParams(*(float(x) for x in chosen[:, i])) for i in range(k)]
    return FitResult(params=fitted, log_likelihood=float(loglik[best].sum()), history=history)


def _best(objective: FloatArray, k: int, r: int) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Per skill, the index of its best restart and that restart's objective."""
    by_restart = objective.reshape(k, r, order="F")  # [skill, restart]: skill + restart * k
    pick = np.argmax(by_restart, axis=1)
    return pick * k + np.arange(k), by_restart[np.arange(k), pick]
