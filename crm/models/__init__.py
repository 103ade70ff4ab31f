"""SQLAlchemy 2 typed models, one module per aggregate."""

from .agreement import (
    Agreement,
    AgreementReport,
    CodeCriterion,
    agreement_contacts,
    agreement_staff,
)
from .audit import AuditEvent
from .contact import Contact
from .delivery import Delivery
from .followup import FollowUp
from .idempotency import IdempotencyKey
from .imports import ImportJob
from .interaction import Interaction, interaction_contacts, interaction_staff
from .partner import Partner, PartnerTag, StageChange, partner_collaborators
from .personal import AuditValue, InteractionMonthCount
from .settings import SiteSetting
from .user import ApiToken, UsedLinkToken, User

__all__ = [
    "Agreement",
    "AgreementReport",
    "CodeCriterion",
    "agreement_contacts",
    "agreement_staff",
    "ApiToken",
    "AuditEvent",
    "AuditValue",
    "Contact",
    "Delivery",
    "FollowUp",
    "IdempotencyKey",
    "ImportJob",
    "Interaction",
    "InteractionMonthCount",
    "Partner",
    "PartnerTag",
    "SiteSetting",
    "StageChange",
    "UsedLinkToken",
    "User",
    "interaction_contacts",
    "interaction_staff",
    "partner_collaborators",
]
