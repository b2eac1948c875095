"""A few real OULAD rows (the first learner of AAA 2013J, and one who withdrew), as tiny tables."""

from __future__ import annotations

import random
from pathlib import Path

TABLES = {
    "assessments": [
        "code_module,code_presentation,id_assessment,assessment_type,date,weight",
        "AAA,2013J,1752,TMA,19,10.0",
        "AAA,2013J,1753,TMA,54,20.0",
        "AAA,2013J,1757,Exam,,100.0",
    ],
    "studentInfo": [
        "code_module,code_presentation,id_student,gender,region,highest_education,imd_band,age_band,"
        "num_of_prev_attempts,studied_credits,disability,final_result",
        "AAA,2013J,11391,M,East Anglian Region,HE Qualification,90-100%,55<=,0,240,N,Pass",
        "AAA,2013J,30268,F,North Western Region,A Level or Equivalent,30-40%,35-55,0,60,Y,Withdrawn",
    ],
    "studentRegistration": [
        "code_module,code_presentation,id_student,date_registration,date_unregistration",
        "AAA,2013J,11391,-159,",
        "AAA,2013J,30268,-92,12",
    ],
    "studentAssessment": [
        "id_assessment,id_student,date_submitted,is_banked,score",
        "1752,11391,18,0,78",
        "1753,11391,53,0,85",
    ],
}


def write_tables(where: Path, tables: dict[str, list[str]] | None = None) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    for name, lines in (tables or TABLES).items():
        (where / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return where


def synthetic_tables(learners: int = 150, seed: int = 1) -> dict[str, list[str]]:
    """OULAD-shaped tables for 2013J and 2014J where weak learners score low, submit less and withdraw."""
    rnd = random.Random(seed)
    tables = {name: [lines[0]] for name, lines in TABLES.items()}
    for year in ("2013J", "2014J"):
        first = 1000 if year == "2013J" else 2000
        tables["assessments"] += [f"AAA,{year},{first + k},TMA,{20 + 30 * k},20.0" for k in range(5)]
        for n in range(learners):
            student = (1 if year == "2013J" else 5) * 100_000 + n
            weak = rnd.random() < 0.4
            left = weak and rnd.random() < 0.5
            result = "Withdrawn" if left else ("Fail" if weak else "Pass")
            tables["studentInfo"].append(
                f"AAA,{year},{student},{rnd.choice('MF')},Wales,HE Qualification,20-30%,0-35,0,60,N,{result}"
            )
            unreg = str(rnd.randint(40, 200)) if left else ""
            tables["studentRegistration"].append(f"AAA,{year},{student},{rnd.randint(-100, 0)},{unreg}")
            for k in range(5):
                due = 20 + 30 * k
                if (left and due > int(unreg)) or (weak and rnd.random() < 0.3):
                    continue
                score = rnd.randint(20, 70) if weak else rnd.randint(50, 100)
                tables["studentAssessment"].append(f"{first + k},{student},{due - rnd.randint(-3, 5)},0,{score}")
    return tables
