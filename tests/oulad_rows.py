"""A few real OULAD rows (the first learner of AAA 2013J, and one who withdrew), as tiny tables."""

from __future__ import annotations

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
