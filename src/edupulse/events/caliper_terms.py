"""The IMS Caliper 1.1 and 1.2 vocabulary as tables: event types, entity types, properties.

Written from the Caliper Analytics specifications (1.1 and 1.2) and their metric
profiles. Each event type lists the actions it allows and the entity types its actor,
object and other properties may take; each entity type names its supertypes and the
kind of value its own properties hold. A type accepts any of its subtypes
(``CourseSection`` where an ``Organization`` is expected).
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "ACTION_VERBS",
    "ANONYMOUS_TYPES",
    "CONTEXTS",
    "ENTITY_PROPERTIES",
    "EVENTS",
    "EVENT_PROPERTIES",
    "PROFILES",
    "PROFILE_EXTENSIONS",
    "TERMS",
    "Dialect",
    "EventRule",
    "Version",
    "dialect_of",
    "entity_types",
    "is_a",
    "supertypes",
]

Version = Literal["1.1", "1.2"]

CONTEXTS: dict[str, Version] = {
    "http://purl.imsglobal.org/ctx/caliper/v1p1": "1.1",
    "http://purl.imsglobal.org/ctx/caliper/v1p2": "1.2",
}

# Caliper 1.1 profiles published after 1.1 brought their types with a context of their own.
PROFILE_EXTENSIONS = frozenset(
    f"http://purl.imsglobal.org/ctx/caliper/v1p1/{name}Profile-extension"
    for name in ("Feedback", "ResourceManagement", "Search", "Survey", "ToolLaunch", "ToolUse")
)


class Dialect(msgspec.Struct, frozen=True):
    """A Caliper version as an item's ``@context`` states it.

    ``extended``: 1.1 with a profile extension context (the types 1.2 adopted);
    ``foreign``: other contexts sit beside Caliper's and may define types of their own.
    """

    version: Version
    extended: bool = False
    foreign: bool = False


def dialect_of(context: str) -> Dialect | None:
    """The dialect a context IRI names, or None if it is not a Caliper context."""
    if context in CONTEXTS:
        return Dialect(CONTEXTS[context])
    return Dialect("1.1", extended=True) if context in PROFILE_EXTENSIONS else None


PROFILES = frozenset(
    {
        "AnnotationProfile",
        "AssessmentProfile",
        "AssignableProfile",
        "FeedbackProfile",
        "ForumProfile",
        "GeneralProfile",
        "GradingProfile",
        "MediaProfile",
        "ReadingProfile",
        "ResourceManagementProfile",
        "SearchProfile",
        "SessionProfile",
        "SurveyProfile",
        "ToolLaunchProfile",
        "ToolUseProfile",
    }
)

# Entity type -> (its direct supertypes, the first version that has it).
_ENTITY_TREE: dict[str, tuple[tuple[str, ...], Version]] = {
    "Entity": ((), "1.1"),
    "Agent": (("Entity",), "1.1"),
    "Person": (("Agent",), "1.1"),
    "SoftwareApplication": (("Agent",), "1.1"),
    "Organization": (("Agent",), "1.1"),
    "CourseOffering": (("Organization",), "1.1"),
    "CourseSection": (("CourseOffering",), "1.1"),
    "Group": (("Organization",), "1.1"),
    "DigitalResource": (("Entity",), "1.1"),
    "AssignableDigitalResource": (("DigitalResource",), "1.1"),
    "AssessmentItem": (("AssignableDigitalResource",), "1.1"),
    "DigitalResourceCollection": (("DigitalResource",), "1.1"),
    "Assessment": (("AssignableDigitalResource", "DigitalResourceCollection"), "1.1"),
    "Forum": (("DigitalResourceCollection",), "1.1"),
    "Thread": (("DigitalResourceCollection",), "1.1"),
    "Chapter": (("DigitalResource",), "1.1"),
    "Document": (("DigitalResource",), "1.1"),
    "Page": (("DigitalResource",), "1.1"),
    "WebPage": (("DigitalResource",), "1.1"),
    "Frame": (("DigitalResource",), "1.1"),
    "MediaLocation": (("DigitalResource",), "1.1"),
    "Message": (("DigitalResource",), "1.1"),
    "MediaObject": (("DigitalResource",), "1.1"),
    "AudioObject": (("MediaObject",), "1.1"),
    "ImageObject": (("MediaObject",), "1.1"),
    "VideoObject": (("MediaObject",), "1.1"),
    "Collection": (("Entity",), "1.1"),
    "Annotation": (("Entity",), "1.1"),
    "BookmarkAnnotation": (("Annotation",), "1.1"),
    "HighlightAnnotation": (("Annotation",), "1.1"),
    "SharedAnnotation": (("Annotation",), "1.1"),
    "TagAnnotation": (("Annotation",), "1.1"),
    "Attempt": (("Entity",), "1.1"),
    "LearningObjective": (("Entity",), "1.1"),
    "Membership": (("Entity",), "1.1"),
    "Response": (("Entity",), "1.1"),
    "FillinBlankResponse": (("Response",), "1.1"),
    "MultipleChoiceResponse": (("Response",), "1.1"),
    "MultipleResponseResponse": (("Response",), "1.1"),
    "SelectTextResponse": (("Response",), "1.1"),
    "TrueFalseResponse": (("Response",), "1.1"),
    "Result": (("Entity",), "1.1"),
    "Score": (("Entity",), "1.1"),
    "Session": (("Entity",), "1.1"),
    "LtiSession": (("Session",), "1.1"),
    # Added in 1.2.
    "AggregateMeasure": (("Entity",), "1.2"),
    "AggregateMeasureCollection": (("Collection",), "1.2"),
    "Comment": (("Entity",), "1.2"),
    "Link": (("Entity",), "1.2"),
    "LtiLink": (("DigitalResource",), "1.2"),
    "Query": (("Entity",), "1.2"),
    "Question": (("DigitalResource",), "1.2"),
    "DateTimeQuestion": (("Question",), "1.2"),
    "MultiselectQuestion": (("Question",), "1.2"),
    "OpenEndedQuestion": (("Question",), "1.2"),
    "RatingScaleQuestion": (("Question",), "1.2"),
    "Questionnaire": (("DigitalResourceCollection",), "1.2"),
    "QuestionnaireItem": (("DigitalResource",), "1.2"),
    "Rating": (("Entity",), "1.2"),
    "Scale": (("Entity",), "1.2"),
    "LikertScale": (("Scale",), "1.2"),
    "MultiselectScale": (("Scale",), "1.2"),
    "NumericScale": (("Scale",), "1.2"),
    "SearchResponse": (("Entity",), "1.2"),
    "Survey": (("Collection",), "1.2"),
    "SurveyInvitation": (("DigitalResource",), "1.2"),
    "SystemIdentifier": ((), "1.2"),
    "TextPositionSelector": ((), "1.1"),
    "DateTimeResponse": (("Response",), "1.2"),
    "MultiselectResponse": (("Response",), "1.2"),
    "OpenEndedResponse": (("Response",), "1.2"),
    "RatingScaleResponse": (("Response",), "1.2"),
}

# Types whose objects carry no id.
ANONYMOUS_TYPES = frozenset({"SystemIdentifier", "TextPositionSelector"})

# Deprecated in 1.1 and gone from 1.2: still accepted in 1.1 data.
_ONLY_1P1_ENTITIES: dict[str, tuple[str, ...]] = {
    "EpubChapter": ("DigitalResource",),
    "EpubPart": ("DigitalResource",),
    "EpubSubChapter": ("DigitalResource",),
    "EpubVolume": ("DigitalResource",),
    "Reading": ("DigitalResource",),
}


def _ancestors() -> dict[str, frozenset[str]]:
    parents = {t: p for t, (p, _) in _ENTITY_TREE.items()} | _ONLY_1P1_ENTITIES
    done: dict[str, frozenset[str]] = {}

    def up(name: str) -> frozenset[str]:
        if name not in done:
            done[name] = frozenset({name}).union(*(up(p) for p in parents[name]))
        return done[name]

    for name in parents:
        up(name)
    return done


_IS_A = _ancestors()


def supertypes(entity_type: str) -> frozenset[str]:
    """An entity type and all its supertypes (empty for an unknown type)."""
    return _IS_A.get(entity_type, frozenset())


def is_a(entity_type: str, expected: str) -> bool:
    """Whether ``entity_type`` is ``expected`` or one of its subtypes."""
    return expected in _IS_A.get(entity_type, ())


def _types_of(version: Version) -> frozenset[str]:
    known = {t for t, (_, since) in _ENTITY_TREE.items() if since == "1.1" or version == "1.2"}
    return frozenset(known | (set(_ONLY_1P1_ENTITIES) if version == "1.1" else set()))


_TYPES_OF: dict[Version, frozenset[str]] = {"1.1": _types_of("1.1"), "1.2": _types_of("1.2")}


def entity_types(version: Version, *, extended: bool = False) -> frozenset[str]:
    """The entity types a version of Caliper defines (1.1 ``extended`` with those 1.2 adopted)."""
    return _TYPES_OF[version] | _TYPES_OF["1.2"] if extended else _TYPES_OF[version]


# Vocabularies of Term-valued properties.
TERMS: dict[str, frozenset[str]] = {
    "role": frozenset(
        {"Administrator", "ContentDeveloper", "Instructor", "Learner", "Manager", "Member", "Mentor", "Officer"}
    ),
    "status": frozenset({"Active", "Inactive"}),
    "metric": frozenset(
        {
            "AssessmentsPassed",
            "AssessmentsSubmitted",
            "MinutesOnTask",
            "SkillsMastered",
            "StandardsMastered",
            "UnitsCompleted",
            "UnitsPassed",
            "WordsRead",
        }
    ),
    "identifierType": frozenset(
        {
            "AccountUserName",
            "CaseItemUri",
            "EmailAddress",
            "LisSourcedId",
            "LtiContextId",
            "LtiDeploymentId",
            "LtiPlatformId",
            "LtiToolId",
            "LtiUserId",
            "OneRosterSourcedId",
            "Other",
            "SisSourcedId",
            "SystemId",
        }
    ),
    "messageType": frozenset({"LtiResourceLinkRequest", "LtiDeepLinkingRequest", "LtiDeepLinkingResponse"}),
}

# Kinds of property values: "str", "int", "num", "bool", "time" (ISO 8601 date-time),
# "dur" (ISO 8601 duration), "map" (JSON object), "strs" (list of strings), "term:<name>"
# (one word of TERMS[name]), "terms:<name>" (a list of them), "<Type>" (an entity of
# that type or its IRI), "[<Type>]" (a list of those). A trailing "!" marks a required property.
ENTITY_PROPERTIES: dict[str, dict[str, str]] = {
    "Entity": {
        "name": "str",
        "description": "str",
        "dateCreated": "time",
        "dateModified": "time",
        "otherIdentifiers": "[SystemIdentifier]",
        "extensions": "map",
    },
    "SystemIdentifier": {
        "identifier": "str!",
        "identifierType": "term:identifierType!",
        "source": "SoftwareApplication",
        "extensions": "map",
    },
    "Organization": {"subOrganizationOf": "Organization", "members": "[Agent]"},
    "CourseOffering": {"courseNumber": "str", "academicSession": "str"},
    "CourseSection": {"category": "str"},
    "SoftwareApplication": {"host": "str", "ipAddress": "str", "userAgent": "str", "version": "str"},
    "DigitalResource": {
        "storageName": "str",
        "creators": "[Agent]",
        "mediaType": "str",
        "keywords": "strs",
        "learningObjectives": "[LearningObjective]",
        "isPartOf": "Entity",
        "datePublished": "time",
        "version": "str",
    },
    "AssignableDigitalResource": {
        "dateToActivate": "time",
        "dateToShow": "time",
        "dateToStartOn": "time",
        "dateToSubmit": "time",
        "maxAttempts": "int",
        "maxSubmits": "int",
        "maxScore": "num",
    },
    "AssessmentItem": {"isTimeDependent": "bool"},
    "DigitalResourceCollection": {"items": "[DigitalResource]"},
    "Assessment": {"items": "[AssessmentItem]"},
    "Forum": {"items": "[Thread]"},
    "Thread": {"items": "[Message]"},
    "Questionnaire": {"items": "[QuestionnaireItem]!"},
    "Collection": {"items": "[Entity]"},
    "AggregateMeasureCollection": {"items": "[AggregateMeasure]"},
    "Survey": {"items": "[Questionnaire]"},
    "Frame": {"index": "int"},
    "MediaLocation": {"currentTime": "dur"},
    "MediaObject": {"duration": "dur"},
    "AudioObject": {"volumeLevel": "str", "volumeMin": "str", "volumeMax": "str", "muted": "bool"},
    "Message": {"replyTo": "Message", "body": "str", "attachments": "[DigitalResource]"},
    "LtiLink": {"messageType": "term:messageType"},
    "Annotation": {"annotator": "Person", "annotated": "DigitalResource"},
    "BookmarkAnnotation": {"bookmarkNotes": "str"},
    "HighlightAnnotation": {"selectionText": "str", "selection": "TextPositionSelector"},
    "TextPositionSelector": {"start": "int", "end": "int"},
    "SharedAnnotation": {"withAgents": "[Agent]"},
    "TagAnnotation": {"tags": "strs"},
    "Attempt": {
        "assignee": "Person",
        "assignable": "DigitalResource",
        "isPartOf": "Attempt",
        "count": "int",
        "startedAtTime": "time",
        "endedAtTime": "time",
        "duration": "dur",
    },
    "Membership": {
        "organization": "Organization",
        "member": "Person",
        "roles": "terms:role",
        "status": "term:status",
    },
    "Response": {"attempt": "Attempt", "startedAtTime": "time", "endedAtTime": "time", "duration": "dur"},
    "FillinBlankResponse": {"values": "strs"},
    "MultipleChoiceResponse": {"value": "str"},
    "MultipleResponseResponse": {"values": "strs"},
    "SelectTextResponse": {"values": "strs"},
    "TrueFalseResponse": {"value": "str"},
    "OpenEndedResponse": {"value": "str"},
    "DateTimeResponse": {"dateTimeSelected": "time"},
    "MultiselectResponse": {"selections": "strs"},
    "RatingScaleResponse": {"selections": "strs"},
    "Result": {
        "attempt": "Attempt",
        "maxResultScore": "num",
        "resultScore": "num",
        "scoredBy": "Agent",
        "comment": "str",
    },
    "Score": {"attempt": "Attempt", "maxScore": "num", "scoreGiven": "num", "scoredBy": "Agent", "comment": "str"},
    "Session": {
        "user": "Person",
        "client": "SoftwareApplication",
        "startedAtTime": "time",
        "endedAtTime": "time",
        "duration": "dur",
    },
    "LtiSession": {"messageParameters": "map"},
    "AggregateMeasure": {
        "metric": "term:metric!",
        "metricValue": "num!",
        "maxMetricValue": "num",
        "startedAtTime": "time",
        "endedAtTime": "time",
    },
    "Comment": {"commenter": "Person", "commentedOn": "Entity", "value": "str"},
    "Query": {"creator": "Person", "searchTarget": "Entity", "searchTerms": "str"},
    "Question": {"questionPosed": "str"},
    "DateTimeQuestion": {"minDateTime": "time", "minLabel": "str", "maxDateTime": "time", "maxLabel": "str"},
    "MultiselectQuestion": {"points": "int", "itemLabels": "strs", "itemValues": "strs"},
    "RatingScaleQuestion": {"scale": "Scale"},
    "QuestionnaireItem": {"question": "Question", "categories": "strs", "weight": "num"},
    "Rating": {
        "rater": "Person",
        "rated": "Entity",
        "question": "Question",
        "selections": "strs",
        "ratingComment": "Comment",
    },
    "LikertScale": {"scalePoints": "int", "itemLabels": "strs", "itemValues": "strs"},
    "MultiselectScale": {
        "scalePoints": "int",
        "itemLabels": "strs",
        "itemValues": "strs",
        "isOrderedSelection": "bool",
        "minSelections": "int",
        "maxSelections": "int",
    },
    "NumericScale": {"minValue": "num", "minLabel": "str", "maxValue": "num", "maxLabel": "str", "step": "num"},
    "SearchResponse": {
        "searchProvider": "SoftwareApplication",
        "searchTarget": "Entity",
        "query": "Query",
        "searchResultsItemCount": "int",
    },
    "SurveyInvitation": {"rater": "Person", "survey": "Survey", "sentCount": "int", "dateSent": "time"},
}

# Properties every event may carry, with the kind of their value (as above). ``profile``
# is in the 1.2 text and in the later revisions of the 1.1 text (and 1.1 fixtures use it).
EVENT_PROPERTIES: dict[str, str] = {
    "@context": "context",
    "id": "uuid!",
    "type": "type!",
    "actor": "Agent!",
    "action": "action!",
    "object": "Entity!",
    "eventTime": "time!",
    "edApp": "SoftwareApplication",
    "generated": "Entity",
    "target": "Entity",
    "referrer": "Entity",
    "group": "Organization",
    "membership": "Membership",
    "session": "Session",
    "federatedSession": "LtiSession",
    "extensions": "map",
    "profile": "profile",
}


class EventRule(msgspec.Struct, frozen=True):
    """What one event type allows: actions, and entity types per property.

    ``types`` narrows the generic event properties (``actor``, ``object``, ...);
    ``actions_1p1`` are actions 1.1 still allowed (deprecated there, gone in 1.2);
    ``required`` maps an action to a property it makes required.
    """

    since: Version
    actions: frozenset[str]
    types: dict[str, tuple[str, ...]]
    actions_1p1: frozenset[str] = frozenset()
    required: dict[str, str] = {}
    until: Version = "1.2"


def _rule(
    since: Version,
    actions: str,
    *,
    deprecated: str = "",
    required: dict[str, str] | None = None,
    until: Version = "1.2",
    **types: str,
) -> EventRule:
    return EventRule(
        since=since,
        actions=frozenset(actions.split()),
        types={prop: tuple(value.split("|")) for prop, value in types.items()},
        actions_1p1=frozenset(deprecated.split()),
        required=required or {},
        until=until,
    )


_MEDIA_ACTIONS = (
    "Started Ended Paused Resumed Restarted ForwardedTo JumpedTo ChangedResolution ChangedSize ChangedSpeed "
    "ChangedVolume EnabledClosedCaptioning DisabledClosedCaptioning EnteredFullScreen ExitedFullScreen Muted "
    "Unmuted OpenedPopout ClosedPopout"
)
_RESOURCE_ACTIONS = (
    "Archived Copied Created Deleted Described Downloaded Modified Printed Published Restored Retrieved Saved "
    "Unpublished Uploaded"
)

# The generic Event accepts every action of the vocabulary (its ``actions`` are empty).
EVENTS: dict[str, EventRule] = {
    "Event": _rule("1.1", ""),
    "AnnotationEvent": _rule(
        "1.1",
        "Bookmarked Highlighted Shared Tagged",
        deprecated="Attached Classified Commented Described Disliked Identified Liked Linked Questioned Ranked "
        "Recommended Subscribed",
        actor="Person",
        object="DigitalResource",
        target="Frame",
        generated="Annotation",
    ),
    "AssessmentEvent": _rule(
        "1.1",
        "Started Paused Resumed Restarted Reset Submitted",
        actor="Person",
        object="Assessment",
        generated="Attempt",
    ),
    "AssessmentItemEvent": _rule(
        "1.1",
        "Started Skipped Completed",
        deprecated="Reviewed Viewed",
        actor="Person",
        object="AssessmentItem",
        generated="Response|Attempt",
        referrer="AssessmentItem",
    ),
    "AssignableEvent": _rule(
        "1.1",
        "Activated Deactivated Started Completed Submitted Reviewed",
        deprecated="Abandoned Hid Showed",
        actor="Person",
        object="AssignableDigitalResource",
        target="Frame",
        generated="Attempt",
    ),
    "FeedbackEvent": _rule(
        "1.2", "Commented Ranked", actor="Person", object="Entity", target="Frame", generated="Rating|Comment"
    ),
    "ForumEvent": _rule("1.1", "Subscribed Unsubscribed", actor="Person", object="Forum"),
    "GradeEvent": _rule("1.1", "Graded", actor="Agent", object="Attempt", generated="Score"),
    "MediaEvent": _rule(
        "1.1", _MEDIA_ACTIONS, deprecated="Rewound", actor="Person", object="MediaObject", target="MediaLocation"
    ),
    "MessageEvent": _rule("1.1", "MarkedAsRead MarkedAsUnread Posted", actor="Person", object="Message"),
    "NavigationEvent": _rule(
        "1.1",
        "NavigatedTo",
        actor="Person",
        object="DigitalResource|SoftwareApplication",
        target="DigitalResource",
        referrer="DigitalResource|SoftwareApplication",
    ),
    "QuestionnaireEvent": _rule("1.2", "Started Submitted", actor="Person", object="Questionnaire"),
    "QuestionnaireItemEvent": _rule(
        "1.2", "Started Skipped Completed", actor="Person", object="QuestionnaireItem", generated="Response"
    ),
    "ResourceManagementEvent": _rule(
        "1.2",
        _RESOURCE_ACTIONS,
        required={"Copied": "generated"},
        actor="Person",
        object="DigitalResource",
        generated="DigitalResource",
    ),
    "SearchEvent": _rule("1.2", "Searched", actor="Person", object="Entity", generated="SearchResponse"),
    "SessionEvent": _rule(
        "1.1",
        "LoggedIn LoggedOut TimedOut",
        actor="Person|SoftwareApplication",
        object="Session|SoftwareApplication",
        target="DigitalResource",
        referrer="DigitalResource|SoftwareApplication",
    ),
    "SurveyEvent": _rule("1.2", "OptedIn OptedOut", actor="Person", object="Survey"),
    "SurveyInvitationEvent": _rule("1.2", "Accepted Declined Sent", actor="Person", object="SurveyInvitation"),
    "ThreadEvent": _rule("1.1", "MarkedAsRead MarkedAsUnread", actor="Person", object="Thread"),
    "ToolLaunchEvent": _rule(
        "1.2",
        "Launched Returned",
        required={"Launched": "federatedSession"},
        actor="Person",
        object="SoftwareApplication",
        target="Link|DigitalResource",
        generated="Link|DigitalResource",
    ),
    "ToolUseEvent": _rule(
        "1.1",
        "Used",
        actor="Person",
        object="SoftwareApplication",
        target="SoftwareApplication",
        generated="AggregateMeasureCollection",
    ),
    "ViewEvent": _rule("1.1", "Viewed", actor="Person", object="DigitalResource|Result"),
    # Deprecated in 1.1, removed in 1.2.
    "OutcomeEvent": _rule("1.1", "Graded", until="1.1", actor="Agent", object="Attempt", generated="Result"),
    "ReadingEvent": _rule(
        "1.1", "NavigatedTo Searched Viewed", until="1.1", actor="Person", object="DigitalResource", target="Frame"
    ),
}

# Each Caliper action and the word of the shared vocabulary it maps to ("other" when
# no word fits; the original action stays in the payload).
ACTION_VERBS: dict[str, str] = {
    "Abandoned": "exited",
    "Accepted": "interacted",
    "Activated": "other",
    "Added": "other",
    "Archived": "other",
    "Attached": "interacted",
    "Bookmarked": "interacted",
    "ChangedResolution": "interacted",
    "ChangedSize": "interacted",
    "ChangedSpeed": "interacted",
    "ChangedVolume": "interacted",
    "Classified": "interacted",
    "ClosedPopout": "interacted",
    "Commented": "commented",
    "Completed": "completed",
    "Copied": "other",
    "Created": "other",
    "Deactivated": "other",
    "Declined": "skipped",
    "Deleted": "other",
    "Described": "other",
    "DisabledClosedCaptioning": "interacted",
    "Disliked": "interacted",
    "Downloaded": "accessed",
    "EnabledClosedCaptioning": "interacted",
    "Ended": "completed",
    "EnteredFullScreen": "interacted",
    "ExitedFullScreen": "interacted",
    "ForwardedTo": "seeked",
    "Graded": "graded",
    "Hid": "other",
    "Highlighted": "interacted",
    "Identified": "interacted",
    "JumpedTo": "seeked",
    "Launched": "launched",
    "Liked": "interacted",
    "Linked": "interacted",
    "LoggedIn": "logged-in",
    "LoggedOut": "logged-out",
    "MarkedAsRead": "viewed",
    "MarkedAsUnread": "interacted",
    "Modified": "other",
    "Muted": "interacted",
    "NavigatedTo": "navigated",
    "OpenedPopout": "interacted",
    "OptedIn": "interacted",
    "OptedOut": "interacted",
    "Paused": "paused",
    "Posted": "posted",
    "Printed": "accessed",
    "Published": "other",
    "Questioned": "posted",
    "Ranked": "commented",
    "Recommended": "interacted",
    "Removed": "other",
    "Reset": "started",
    "Restarted": "started",
    "Restored": "other",
    "Resumed": "resumed",
    "Retrieved": "accessed",
    "Returned": "exited",
    "Reviewed": "viewed",
    "Rewound": "seeked",
    "Saved": "other",
    "Searched": "searched",
    "Sent": "other",
    "Shared": "posted",
    "Showed": "other",
    "Skipped": "skipped",
    "Started": "started",
    "Submitted": "submitted",
    "Subscribed": "interacted",
    "Tagged": "interacted",
    "TimedOut": "logged-out",
    "Unmuted": "interacted",
    "Unpublished": "other",
    "Unsubscribed": "interacted",
    "Uploaded": "other",
    "Used": "interacted",
    "Viewed": "viewed",
}
