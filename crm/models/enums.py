"""The enumerations of the domain (docs/domain.md), as plain tuples of codes plus labels."""

from __future__ import annotations

ROLES = ("admin", "manager", "staff", "viewer")
SECTORS = (
    "law_enforcement",
    "technology",
    "travel_tourism",
    "government",
    "intergovernmental",
    "civil_society",
    "faith_based",
    "academia",
    "media",
    "funder",
    "private_sector",
)
SECTOR_LABELS = {
    "law_enforcement": "Law enforcement",
    "technology": "Technology",
    "travel_tourism": "Travel & tourism",
    "government": "Government",
    "intergovernmental": "Intergovernmental",
    "civil_society": "Civil society",
    "faith_based": "Faith-based",
    "academia": "Academia",
    "media": "Media",
    "funder": "Funder",
    "private_sector": "Private sector",
}
STAGES = ("prospect", "dialogue", "agreement", "active", "dormant", "closed")
SENSITIVITIES = ("standard", "restricted", "confidential")
#: ordering used by "a contact can be more sensitive than its partner, never less"
SENSITIVITY_RANK = {s: i for i, s in enumerate(SENSITIVITIES)}
INTERACTION_KINDS = ("meeting", "call", "email", "event", "training", "visit", "letter", "other")
FOLLOW_UP_STATUSES = ("open", "done", "cancelled")
DIGEST_FREQUENCIES = ("weekly", "daily", "off")
DELIVERY_KINDS = (
    "reminder_due",
    "reminder_overdue",
    "reminder_escalation",
    "digest",
    "invitation",
    "password_reset",
    "import_report",
    "security_alert",
    "other",
    #: an agreement's expiry or report reminder to the partner's owner (issue 15)
    "agreement_reminder",
    #: an agreement expired unrenewed, or a report 14 days overdue: to the covering managers
    "agreement_escalation",
)
DELIVERY_STATUSES = ("queued", "sending", "sent", "failed")
#: engagement health (crm.services.engagement); deliberately not the words of STAGES
HEALTH_STATES = ("new", "engaged", "cooling", "lapsed")
IMPORT_STATUSES = ("pending", "running", "done", "failed")
#: what an import job creates: partners (and contacts), or agreements (issue 15)
IMPORT_KINDS = ("partners", "agreements")
#: why the network may hold a contact's data (GDPR art. 6); a contact may have none recorded
LAWFUL_BASES = ("consent", "legitimate_interests", "contract", "legal_obligation",
                "public_task", "vital_interests")
#: agreements with partners (crm.services.agreements)
AGREEMENT_KINDS = ("mou", "the_code", "data_sharing", "funding", "letter_of_intent", "other")
AGREEMENT_KIND_LABELS = {"mou": "MoU", "the_code": "The Code", "data_sharing": "Data sharing",
                         "funding": "Funding", "letter_of_intent": "Letter of intent",
                         "other": "Other"}
#: draft → negotiation → signed → active → expired / terminated; renewed links to a successor
AGREEMENT_STATUSES = ("draft", "negotiation", "signed", "active", "expired", "terminated",
                      "renewed")
#: The Code's six criteria, numbered 1-6, each with one of these statuses
CODE_CRITERIA = (
    "Establish a policy and procedures against sexual exploitation of children",
    "Train employees in children's rights, prevention of sexual exploitation and reporting",
    "Include a clause in contracts throughout the value chain",
    "Provide information to travellers on children's rights and how to report",
    "Support, collaborate and engage stakeholders in the prevention of sexual exploitation",
    "Report annually on the implementation of the Code",
)
CODE_CRITERION_STATUSES = ("not_started", "in_progress", "met")
#: what retention does to an interaction older than its sensitivity's period
RETENTION_ACTIONS = ("redact", "delete")


def label(code: str) -> str:
    """Human label for any enumeration code."""
    return (SECTOR_LABELS.get(code) or AGREEMENT_KIND_LABELS.get(code)
            or code.replace("_", " ").capitalize())
