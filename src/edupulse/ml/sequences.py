"""Attempt histories grouped into per-(learner, skill) sequences, laid out for vectorised EM.

EM over thousands of short sequences is fast in numpy when every time step is one array
operation over all the sequences still running at that step. Sequences are sorted by
length, longest first, so the ones running at step ``t`` are always a prefix; the
observations are stored time-major, step after step.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from edupulse.ml import Attempt

__all__ = ["Sequences", "group_sequences"]


IntArray = npt.NDArray[np.int64]


class Sequences:
    """Binary observation sequences, each tagged with a skill index, in time-major order."""

    def __init__(self, seqs: list[list[int]], skill_of: list[int], n_skills: int) -> None:
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        order = np.argsort(-lengths, kind="stable")
        self.n_skills = n_skills
        self.n_seqs = len(seqs)
        self.skill: IntArray = np.asarray(skill_of, dtype=np.int64)[order]
        sorted_lengths = lengths[order]
        steps = int(sorted_lengths[0]) if len(seqs) else 0
        # counts[t]: sequences still running at step t; start[t]: where step t begins.
        self.counts: IntArray = np.searchsorted(-sorted_lengths, -np.arange(steps), side="left").astype(np.int64)
        self.start: IntArray = np.concatenate(([0], np.cumsum(self.counts)[:-1])).astype(np.int64)
        obs = np.zeros(int(lengths.sum()), dtype=np.float64)
        for rank, idx in enumerate(order):
            seq = seqs[idx]
            obs[self.start[: len(seq)] + rank] = seq
        self.obs = obs
        self.flat_skill: IntArray = np.concatenate([self.skill[:n] for n in self.counts]) if steps else self.skill
        self.has_next = np.zeros(len(obs), dtype=bool)
        for t in range(steps - 1):
            self.has_next[self.start[t] : self.start[t] + self.counts[t + 1]] = True

    @property
    def steps(self) -> int:
        return len(self.counts)

    def at(self, t: int) -> slice:
        """The flat positions of step ``t``."""
        return slice(int(self.start[t]), int(self.start[t] + self.counts[t]))

    def replicate(self, times: int) -> Sequences:
        """The same sequences ``times`` over, copy ``r`` tagged with skill ``k + r * n_skills``."""
        out = object.__new__(Sequences)
        out.n_skills = self.n_skills * times
        out.n_seqs = self.n_seqs * times
        shift = np.arange(times, dtype=np.int64) * self.n_skills
        out.skill = (self.skill[:, None] + shift[None, :]).reshape(-1)
        out.counts = self.counts * times
        out.start = self.start * times
        out.obs = np.repeat(self.obs, times)
        out.flat_skill = (self.flat_skill[:, None] + shift[None, :]).reshape(-1)
        out.has_next = np.repeat(self.has_next, times)
        return out


def group_sequences(attempts: Iterable[Attempt]) -> tuple[list[list[int]], list[str]]:
    """Split attempts into one sequence per (learner, skill), in first-seen order.

    Returns the sequences and, for each, its skill.
    """
    index: dict[tuple[str, str], int] = {}
    seqs: list[list[int]] = []
    skills: list[str] = []
    for learner, skill, correct in attempts:
        key = (learner, skill)
        i = index.get(key)
        if i is None:
            i = index[key] = len(seqs)
            seqs.append([])
            skills.append(skill)
        seqs[i].append(1 if correct else 0)
    return seqs, skills
