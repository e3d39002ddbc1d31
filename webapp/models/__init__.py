"""All tables. Engine tables, accounts and the business records written by workers."""

from .accounts import ApiToken, LoginThrottle, RateLimitCounter, Role, User, user_roles  # noqa: F401
from .engine import (  # noqa: F401
    Definition,
    HistoryEvent,
    InboxTask,
    Instance,
    Job,
    MessageWait,
    NumberSequence,
    PendingMessage,
    ScriptOutput,
    SnapshotPiece,
)
from .records import ComplaintCase, ContactLog, Customer, Escalation, HotlineCall  # noqa: F401

from .quality import CorrectiveAction, CustomerFile, FollowUp, FollowUpCall, FollowUpRequest, ReturnRequest, SafetyFinding, SafetyInspection, SafetyRectification, SatisfactionSurvey  # noqa: F401,E402,E501  # isort: skip
from .service import (  # noqa: F401,E402,E501
    ClaimPart,
    FieldServiceReport,
    Inspection,
    Part,
    PartsReturn,
    QualityFeedback,
    RepairOrder,
    ReturnedPart,
    ServiceApproval,
    StockMove,
    Vehicle,
    WarrantyClaim,
)

from .audit import Checkpoint, SystemLogEvent, SystemLogHead  # noqa: F401,E402  # isort: skip
from .staff import Attachment, Mention, SavedFilter, TaskFollowUp  # noqa: F401,E402  # isort: skip
from .workshop import PartsWait, RepairAccident, RepairQualityReport  # noqa: F401,E402  # isort: skip
from .webhooks import WebhookDelivery, WebhookSubscription  # noqa: F401,E402  # isort: skip
