"""Course simulator: deterministic synthetic learner activity as xAPI 1.0.3 statements.

>>> from edupulse.sim import CourseSimulator, SimConfig
>>> sim = CourseSimulator(SimConfig(seed=7, courses=1, learners_per_course=5, days=14))
>>> statement = sim.take(1)[0]
>>> statement["actor"]["account"]["homePage"]
'https://sim.edupulse.dev'
"""

from __future__ import annotations

from edupulse.sim.config import SimConfig
from edupulse.sim.course import Activity, Course, Deadline
from edupulse.sim.profiles import PROFILES, Profile, ProfileName
from edupulse.sim.simulator import CourseSimulator
from edupulse.sim.statements import XapiStatement
from edupulse.sim.streaming import Pacer, batched, by_event_time, by_rate
from edupulse.sim.truth import LearnerTruth
from edupulse.sim.vocabulary import HOME_PAGE, SKILLS_EXTENSION, VERB_WORDS, VERBS

__all__ = [
    "HOME_PAGE",
    "PROFILES",
    "SKILLS_EXTENSION",
    "VERBS",
    "VERB_WORDS",
    "Activity",
    "Course",
    "CourseSimulator",
    "Deadline",
    "LearnerTruth",
    "Pacer",
    "Profile",
    "ProfileName",
    "SimConfig",
    "XapiStatement",
    "batched",
    "by_event_time",
    "by_rate",
]
