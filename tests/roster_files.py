"""A small OneRoster 1.1 CSV export, written by the tests that need one."""

from __future__ import annotations

from pathlib import Path

FILES = {
    "manifest.csv": """propertyName,value
manifest.version,1.0
oneroster.version,1.1
file.academicSessions,bulk
file.categories,absent
file.classes,bulk
file.classResources,absent
file.courses,bulk
file.courseResources,absent
file.demographics,bulk
file.enrollments,bulk
file.lineItems,absent
file.orgs,bulk
file.resources,absent
file.results,absent
file.users,bulk
""",
    "orgs.csv": """sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId
org1,,,Northwind High,school,NW1,
""",
    "academicSessions.csv": """sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear
term1,,,Fall 2026,term,2026-09-01,2026-12-20,,2027
""",
    "courses.csv": """sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes
crs-bio,,,term1,Biology,BIO101,,org1,,
crs-chem,,,term1,Chemistry,CHEM101,,org1,,
""",
    "classes.csv": """sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods
cls-bio-1,,,Biology period 1,,crs-bio,https://example.edu/courses/bio,scheduled,,org1,term1,,,
cls-chem-1,,,Chemistry period 2,,crs-chem,https://example.edu/courses/chem,scheduled,,org1,term1,,,
""",
    "users.csv": """sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password
t-ada,,,true,org1,teacher,ada,,Ada,Lovelace,,T001,ada@school.example,,,,,
t-alan,,,true,org1,teacher,alan,,Alan,Turing,,T002,alan@school.example,,,"s-bea,s-cy",,
s-bea,,,true,org1,student,bea,,Bea,Ortiz,,S001,bea@school.example,,,g-dan,10,
s-cy,,,true,org1,student,cy,,Cy,Nakamura,,S002,cy@school.example,,,,10,
s-eve,,,true,org1,student,eve,,Eve,Adebayo,,S003,eve@school.example,,,,10,
g-dan,,,true,org1,guardian,dan,,Dan,Ortiz,,,dan@home.example,,,s-bea,,
a-root,,,true,org1,administrator,root,,Rita,Admin,,A001,rita@school.example,,,,,
""",
    "enrollments.csv": """sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate
e1,,,cls-bio-1,org1,t-ada,teacher,true,,
e2,,,cls-bio-1,org1,s-bea,student,false,,
e3,,,cls-bio-1,org1,s-cy,student,false,,
e4,,,cls-chem-1,org1,t-alan,teacher,true,,
e5,,,cls-chem-1,org1,s-eve,student,false,,
""",
    "demographics.csv": """sourcedId,status,dateLastModified,birthDate,sex
s-bea,,,2010-01-01,female
""",
}


def write_roster(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (directory / name).write_text(text)
    return directory
