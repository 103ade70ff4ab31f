"""What a digest says: the result types `compile_digest` fills and the email template reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass
class InteractionItem:
    partner_id: int
    partner_name: str
    kind: str
    occurred_at: datetime
    who: str
    outcome: str


@dataclass
class SensitiveCount:
    """Restricted or confidential interactions with one partner: a count, never the text."""

    partner_id: int
    partner_name: str  #: as `outside` names it: "a restricted partner" when secret
    count: int
    label: str = ""  #: "2 interactions with a restricted partner"


@dataclass
class FollowUpItem:
    id: int
    title: str | None  #: None: restricted, the title stays in the application
    due_at: datetime
    partner_id: int
    partner_name: str  #: as `outside` names it
    assignee: str
    label: str = ""  #: the title, or "A follow-up with a restricted partner"


@dataclass
class PartnerItem:
    id: int
    name: str  #: as `outside` names it
    sector: str | None  #: None for a restricted partner (with the country, it identifies)
    country: str | None
    note: str = ""


@dataclass
class StageItem:
    partner_id: int
    partner_name: str
    from_stage: str | None
    to_stage: str
    changed_at: datetime


@dataclass
class CountRow:
    key: str
    current: int
    previous: int


@dataclass
class TeamSection:
    region: str | None
    by_sector: list[CountRow] = field(default_factory=list)
    by_country: list[CountRow] = field(default_factory=list)
    overdue_by_person: list[tuple[str, int]] = field(default_factory=list)
    lapsed: list[PartnerItem] = field(default_factory=list)
    lapsed_total: int = 0
    #: (country, [missing sectors])
    coverage_gaps: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def interactions_current(self) -> int:
        return sum(r.current for r in self.by_sector)

    @property
    def interactions_previous(self) -> int:
        return sum(r.previous for r in self.by_sector)


@dataclass
class NetworkSection:
    by_stage: list[tuple[str, int]] = field(default_factory=list)
    by_sector: list[tuple[str, int]] = field(default_factory=list)
    partners_total: int = 0
    interactions_current: int = 0
    interactions_previous: int = 0
    #: (delivery kind, failed count)
    failures: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class AgreementItem:
    """A live agreement expiring soon or with a report due (named as `outside` allows)."""

    id: int
    label: str  #: the title, or "An agreement with a restricted partner"
    kind: str
    partner_id: int
    partner_name: str
    on: date  #: the expiry or the report's due date


@dataclass
class AgreementSection:
    """Agreements of the reader's partners (a manager's: also their region's): only what the
    reader may see; restricted or confidential ones are counted, never named."""

    today: date | None = None  #: the reader's local date when compiled ("overdue since")
    expiring: list[AgreementItem] = field(default_factory=list)
    expiring_total: int = 0  #: the standard ones, listed or not (the list is capped)
    expiring_restricted: int = 0
    reports: list[AgreementItem] = field(default_factory=list)
    reports_total: int = 0
    reports_restricted: int = 0

    def __bool__(self) -> bool:
        return bool(self.expiring or self.expiring_restricted or self.reports
                    or self.reports_restricted)


@dataclass
class DigestData:
    user_id: int
    user_name: str
    role: str
    frequency: str
    timezone: str
    period_start: datetime
    period_end: datetime
    interactions: list[InteractionItem] = field(default_factory=list)
    interactions_total: int = 0
    sensitive: list[SensitiveCount] = field(default_factory=list)
    due_soon: list[FollowUpItem] = field(default_factory=list)
    overdue: list[FollowUpItem] = field(default_factory=list)
    turned_cooling: list[PartnerItem] = field(default_factory=list)
    turned_lapsed: list[PartnerItem] = field(default_factory=list)
    new_partners: list[PartnerItem] = field(default_factory=list)
    stage_changes: list[StageItem] = field(default_factory=list)
    team: TeamSection | None = None
    network: NetworkSection | None = None
    #: "Agreements expiring in the next 60 days" and "Reports due or overdue" (issue 15)
    agreements: AgreementSection | None = None

    @property
    def has_personal(self) -> bool:
        return any((self.interactions, self.sensitive, self.due_soon, self.overdue,
                    self.turned_cooling, self.turned_lapsed, self.new_partners,
                    self.stage_changes))


def is_empty(data: DigestData) -> bool:
    """Nothing happened and nothing needs doing: standing facts alone (totals, coverage
    gaps) do not make a digest worth sending."""
    if data.has_personal or data.agreements:
        return False
    team = data.team
    if team and (team.interactions_current or team.interactions_previous
                 or team.overdue_by_person or team.lapsed):
        return False
    net = data.network
    return not (net and (net.interactions_current or net.interactions_previous
                         or net.failures))
