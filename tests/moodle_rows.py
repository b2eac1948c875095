"""Rows of Moodle's logstore_standard_log as a site writes them, and export files of them.

Written from the event classes' definitions (what each event sets as userid,
relateduserid, context and ``other``): a student (user 23) in course 4 views the
course and a file, takes a quiz, posts in a forum, submits an assignment and
completes an activity; a teacher (user 2) enrols user 24 and grades user 23.
``other`` is PHP-serialized in some rows, JSON in others, as on sites of different ages.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from edupulse.events.moodle import COLUMNS

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z

# id, eventname, component, action, target, objecttable, objectid, crud, edulevel, contextid,
# contextlevel, contextinstanceid, userid, courseid, relateduserid, anonymous, other, timecreated
ROWS: list[tuple[str | None, ...]] = [
    ("1001", "\\core\\event\\course_viewed", "core", "viewed", "course", None, None, "r", "2", "57", "50", "4",
     "23", "4", None, "0", "N;", str(T0)),
    ("1002", "\\mod_resource\\event\\course_module_viewed", "mod_resource", "viewed", "course_module", "resource",
     "7", "r", "2", "210", "70", "31", "23", "4", None, "0", "null", str(T0 + 60)),
    ("1003", "\\mod_quiz\\event\\attempt_started", "mod_quiz", "started", "attempt", "quiz_attempts", "88", "c",
     "2", "215", "70", "35", "23", "4", "23", "0", 'a:1:{s:6:"quizid";s:2:"12";}', str(T0 + 120)),
    ("1004", "\\mod_quiz\\event\\attempt_submitted", "mod_quiz", "submitted", "attempt", "quiz_attempts", "88",
     "u", "2", "215", "70", "35", "23", "4", "23", "0", '{"submitterid":23,"quizid":12}', str(T0 + 900)),
    ("1005", "\\core\\event\\user_graded", "core", "graded", "user", "grade_grades", "301", "u", "1", "57", "50",
     "4", "2", "4", "23", "0", 'a:3:{s:6:"itemid";i:14;s:10:"overridden";b:0;s:10:"finalgrade";d:7.5;}',
     str(T0 + 960)),
    ("1006", "\\core\\event\\user_graded", "core", "graded", "user", "grade_grades", "302", "u", "1", "57", "50",
     "4", "2", "4", "23", "0", '{"itemid":15,"overridden":true,"finalgrade":"8.00000"}', str(T0 + 970)),
    ("1007", "\\core\\event\\user_enrolment_created", "core", "created", "user_enrolment", "user_enrolments", "55",
     "c", "0", "57", "50", "4", "2", "4", "24", "0", '{"enrol":"manual"}', str(T0 + 1000)),
    ("1008", "\\mod_forum\\event\\post_created", "mod_forum", "created", "post", "forum_posts", "640", "c", "2",
     "230", "70", "40", "23", "4", None, "0", '{"discussionid":5,"forumid":3,"forumtype":"general"}',
     str(T0 + 1200)),
    ("1009", "\\mod_assign\\event\\assessable_submitted", "mod_assign", "submitted", "assessable",
     "assign_submission", "71", "u", "2", "240", "70", "44", "23", "4", None, "0",
     'a:1:{s:19:"submission_editable";b:0;}', str(T0 + 1500)),
    ("1010", "\\core\\event\\course_module_completion_updated", "core", "updated", "course_module_completion",
     "course_modules_completion", "90", "u", "2", "240", "70", "44", "23", "4", "23", "0",
     'a:3:{s:13:"relateduserid";s:2:"23";s:10:"overrideby";N;s:15:"completionstate";s:1:"2";}', str(T0 + 1510)),
    ("1011", "\\core\\event\\user_loggedin", "core", "loggedin", "user", "user", "23", "r", "0", "1", "10", "0",
     "23", "0", None, "0", 'a:1:{s:8:"username";s:3:"ana";}', str(T0 - 30)),
    ("1012", "\\local_reminders\\event\\reminder_sent", "local_reminders", "sent", "reminder", None, None, "c",
     "0", "57", "50", "4", "23", "4", None, "0", "[]", str(T0 + 2000)),
    ("1013", "\\mod_scorm\\event\\status_submitted", "mod_scorm", "submitted", "status", "scorm_scoes_track",
     "17", "u", "2", "250", "70", "50", "23", "4", None, "0",
     '{"attemptid":1,"cmielement":"cmi.core.lesson_status","cmivalue":"passed"}', str(T0 + 2100)),
    ("1014", "\\mod_book\\event\\chapter_viewed", "mod_book", "viewed", "chapter", "book_chapters", "3", "r", "2",
     "260", "70", "52", "23", "4", None, "0", "[]", str(T0 + 2200)),
    # skipped: an anonymous forum post, and a scheduled task run from the CLI (no user)
    ("1015", "\\mod_forum\\event\\post_created", "mod_forum", "created", "post", "forum_posts", "641", "c", "2",
     "230", "70", "40", "23", "4", None, "1", '{"discussionid":5,"forumid":3,"forumtype":"general"}',
     str(T0 + 2300)),
    ("1016", "\\core\\event\\course_reset_started", "core", "started", "course_reset", None, None, "u", "0", "57",
     "50", "4", "0", "4", None, "0", "[]", str(T0 + 2400)),
]  # fmt: skip
TAIL = ("web", "10.0.0.5", None)  # origin, ip, realuserid


def csv_line(fields: list[str | None]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(["" if v is None else v for v in fields])
    return out.getvalue()


def tsv_line(fields: list[str | None]) -> str:
    return "\t".join("\\N" if v is None else v.replace("\\", "\\\\") for v in fields)


def write_csv(path: Path, rows: list[tuple[str | None, ...]] = ROWS) -> Path:
    """A comma-separated export with a header, NULL as an empty field (a database client's CSV)."""
    lines = [",".join(COLUMNS)] + [csv_line([*row, *TAIL]) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_tsv(path: Path, rows: list[tuple[str | None, ...]] = ROWS) -> Path:
    r"""A tab-separated export with a header, NULL as ``\N`` (MySQL's ``INTO OUTFILE``, PostgreSQL's ``COPY``)."""
    lines = ["\t".join(COLUMNS)] + [tsv_line([*row, *TAIL]) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path
