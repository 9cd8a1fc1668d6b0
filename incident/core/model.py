"""The incident file format as typed models.

One `Incident` per folder (`incident.yaml`). Field by field documentation is
in docs/format.md; `incident schema` prints the JSON Schema generated from
these classes. Times stay as the text the author wrote (their precision is
part of the fact) and are resolved with `Incident.when`.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import cached_property
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, field_validator, model_validator,
)

from incident.core.times import TIME_PATTERN, When, parse_when, zone

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
TimeText = Annotated[str, StringConstraints(pattern=TIME_PATTERN)]
Sources = Annotated[list[Id], Field(min_length=1, description="ids of the sources behind this fact")]
Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Number = Annotated[float, Field(allow_inf_nan=False)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]  # ISO 4217


def _real_date(text: str) -> str:
    """A date written YYYY, YYYY-MM or YYYY-MM-DD must be one of the calendar (not 2019-02-30)."""
    parts = [int(p) for p in text.split("-")]
    try:
        date(*(parts + [1, 1][len(parts) - 1:]))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a real date ({exc})") from None
    return text


# a day of the calendar, YYYY-MM-DD (2019-02-30 is refused here, not by pandas in a notebook later)
DateText = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_real_date)]


class CrossFieldError(ValueError):
    """Rules that span fields, broken: (field path relative to the model, message) pairs.

    Raised by the models' validators, so that `Incident.model_validate` applies
    the same rules as the loader; the loader reports each pair at its field.
    """

    def __init__(self, problems: list[tuple[tuple, str]]):
        self.problems = list(problems)
        super().__init__("; ".join(f"{path_text(path)}: {message}" for path, message in self.problems))


def path_text(parts: tuple) -> str:
    """('milestones', 3, 'at') -> 'milestones[3].at'; a key that is not a plain name is quoted (['a b'])."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not re.fullmatch(r"\w[\w-]*", str(part)):
            out += f"[{str(part)!r}]"
        else:
            out += f".{part}" if out else str(part)
    return out


MAX_ECHO = 200  # characters of a bad value repeated in a message: enough to find it, not a 5 MB wall


def shown(value: Any, limit: int = MAX_ECHO) -> str:
    """`repr(value)`, cut to about `limit` characters (a message repeats a bad value, not a 5 MB wall)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


MilestoneKind = Literal[
    "trigger", "impact", "detection", "diagnosis", "mitigation", "recovery",
    "communication", "market", "legal", "other",
]
ImpactLevel = Literal["major_outage", "partial_outage", "degraded_performance", "under_maintenance", "operational"]


class Strict(BaseModel):
    """Base: unknown fields are errors, values are not coerced across types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Quote = Annotated[str, StringConstraints(min_length=1, max_length=2_000)]
MilestoneStatus = Literal["happened", "planned", "estimate"]


class Fact(Strict):
    """A sourced statement in words."""

    text: Text = Field(description="the fact, in the file's words (English)")
    quote: Quote | None = Field(None, description="the source's own words, verbatim, in its language and script")
    sources: Sources


SourceKind = Literal["public", "ticket", "chat", "dashboard", "log", "document", "person"]
PUBLIC_KIND: SourceKind = "public"


class Source(Strict):
    """A document, record or person the facts rest on: a public page, or an internal ticket, chat thread, dashboard,
    log query, document or person (a team's postmortem cites what it has; no public URL is invented for it)."""

    id: Id = Field(description="what facts cite it by, e.g. S1")
    kind: SourceKind = Field(
        PUBLIC_KIND, description="public (a published page), ticket, chat (a message or thread), dashboard, log "
                                 "(a log query or export), document (internal) or person (an interview)")
    title: Text = Field(description="the document's title, in its own language")
    publisher: Text = Field(description="who published it")
    date: Annotated[str, StringConstraints(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$"), AfterValidator(_real_date)] = Field(
        description="when it was published, as precisely as known"
    )
    author: str | None = Field(None, description="who wrote it, if named")
    url: str | None = Field(None, description="where it is; an http(s) URL is a link in reports (never fetched); "
                                              "optional, and not invented, for an internal kind")
    ticket: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        None, description="the tracker's id (INC-1234) of a ticket, chat thread or log query; a link with `url`")
    locator: str | None = Field(None, description="where in the source, or where a copy is, when there is no URL")
    language: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] | None = Field(
        None, description="language of the source's text (BCP 47, e.g. zh-Hant, en), for its quotes"
    )
    note: str | None = Field(None, description="why it matters, or how it was read")


class Organisation(Strict):
    name: Text = Field(description="romanised or English name")
    name_original: str | None = Field(None, description="the name in its own script")
    description: str | None = Field(None, description="what it does, in a sentence")
    facts: list[Fact] = Field([], description="sourced facts about it")


class Milestone(Strict):
    id: Id = Field(description="referenced by phases, claims and the compensated window")
    at: TimeText = Field(description="local time in the incident's zone unless an offset is given; a bare date is day precision")
    precision: Literal["second", "minute", "hour", "day"] | None = Field(
        None, description="defaults to what `at` shows; may only be coarser"
    )
    approximate: bool = Field(False, description="the source says 'about'")
    kind: MilestoneKind = Field(description="what the moment is; drives the standard durations (see Durations)")
    status: MilestoneStatus = Field(
        "happened", description="happened (reported as done), planned (announced or expected) or estimate"
    )
    title: Text = Field(description="a short label")
    description: str = Field("", description="what happened, in more words")
    quote: Quote | None = Field(None, description="the source's own words for this time, verbatim")
    ends_impact: bool = Field(
        False, description="customers stopped being affected here (a source says so): the end of 'customer impact'")
    sources: Sources


class Phase(Strict):
    id: Id | None = Field(None, description="an id, if something refers to the phase")
    name: Text = Field(description="what users saw, in a few words")
    start: str = Field(description="a milestone id or a time")
    end: str | None = Field(
        None, description="a milestone id or a time; left out while the incident is ongoing (the phase is open)")
    impact: ImpactLevel = Field(description="the level of user impact (Statuspage's levels)")
    component: str | None = Field(None, description="the affected component, when phases are per component")
    description: str = Field("", description="more words")
    sources: list[Id] = Field([], description="sources of the phase's reading of the milestones")


class Party(Strict):
    party: Text = Field(description="romanised name of who bears this part")
    name_original: str | None = Field(None, description="the name in its own script")
    role: str | None = Field(None, description="the party's role (replaces the name in a blameless report)")
    amount: Money = Field(description="the party's part, in the provision's currency")
    sources: Sources


class Provision(Strict):
    total: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    currency: Currency = Field(description="ISO 4217 code, e.g. CNY")
    parties: list[Party] = Field(description="named parts; the remainder is computed")
    remainder_party: Text = Field(description="who bears what the named parties do not")
    remainder_sources: list[Id] = Field(
        [], description="sources for the remainder, if they differ from the provision's"
    )
    description: str = Field("", description="what the provision is, in the source's terms")
    sources: Sources

    # Sums of money are exact on the decimals the author wrote: 0.1 + 0.2 is 0.3, not
    # 0.30000000000000004. A float's repr is the shortest decimal that reads back as it,
    # i.e. the YAML text itself (up to 15 significant digits), whatever the currency's
    # minor unit (JPY has none, BHD three), which rounding to cents would have to know.
    @property
    def named_total(self) -> float:
        """What the named parties bear together; the remainder party bears the rest."""
        return float(self._named())

    @property
    def remainder(self) -> float:
        """What the remainder party bears: the total minus the named parts, computed exactly."""
        return float(_decimal(self.total) - self._named())

    def _named(self) -> Decimal:
        return sum((_decimal(p.amount) for p in self.parties), Decimal(0))

    @model_validator(mode="after")
    def _parts_within_total(self):
        named, total = self._named(), _decimal(self.total)
        if named > total:
            raise CrossFieldError([(("parties",), f"named parts add up to {_plain(named)}, more than the total "
                                                   f"{_plain(total)}")])
        return self


def _decimal(amount: float) -> Decimal:
    """The decimal an amount was written as (see `Provision`)."""
    return Decimal(repr(float(amount)))


def _plain(amount: Decimal) -> str:
    """1,000.01 and 1,000: grouped, with the decimals written and no more."""
    text = f"{amount:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class CashScheme(Strict):
    formula: Text = Field(description="the payout formula in words")
    window_start: str = Field(description="milestone id or time: start of the compensated failure time")
    window_end: str = Field(description="milestone id or time: end of the compensated failure time")
    revenue_basis: Text = Field(description="which revenue the formula uses")
    margin_basis: Text = Field(description="which margin the formula uses")
    example_daily_revenue: Money | None = Field(None, description="illustrative input for the worked example")
    example_margin: Annotated[float, Field(ge=0, le=1)] | None = None
    sensitivity_revenues: list[Money] = Field([], description="daily revenues of the sensitivity grid")
    sensitivity_margins: list[Annotated[float, Field(ge=0, le=1)]] = []
    currency: Currency = Field("CNY", description="ISO 4217 code")
    sources: Sources


class TrafficItem(Strict):
    item: Text = Field(description="what is offered")
    quantity: Number | None = Field(None, description="how much, if a source says")
    unit: str | None = Field(None, description="of what")


class TrafficScheme(Strict):
    items: Annotated[list[TrafficItem], Field(min_length=1)]
    sources: Sources


class Compensation(Strict):
    description: str = Field("", description="how the schemes relate (e.g. customers choose one)")
    cash: CashScheme | None = Field(None, description="a cash formula")
    traffic: TrafficScheme | None = Field(None, description="a scheme in kind")


class Person(Strict):
    person: Text = Field(description="romanised name")
    name_original: str | None = Field(None, description="the name in its own script")
    role: str | None = Field(None, description="the person's role (replaces the name in a blameless report)")
    findings: list[Text] = Field([], description="what the organisation found each was responsible for")
    sources: Sources


class Accountability(Strict):
    people: list[Person] = Field([], description="people held responsible")
    notes: list[Fact] = Field([], description="other sourced facts on responsibility")


class Remediation(Strict):
    category: Text = Field(description="a group of actions, as the source groups them")
    action: Text = Field(description="the change, in a sentence")
    status: Literal["planned", "in_progress", "done", "unknown"] = Field(
        "unknown", description="whether the source reports it done"
    )
    sources: Sources


class ActionItem(Strict):
    """Follow-up work, as postmortem templates track it (Google SRE, PagerDuty, incident.io)."""

    action: Text
    type: Literal["mitigate", "prevent", "detect", "process"] = Field(
        description="mitigate (limit the next one's harm), prevent (stop a repeat), detect (see it sooner) or process")
    owner: str | None = Field(None, description="a team or a role (or a person, for an internal report)")
    priority: Literal["P0", "P1", "P2", "P3"] | None = None
    due: DateText | None = Field(
        None, description="YYYY-MM-DD")
    ticket: str | None = Field(None, description="the tracker's id or link, shown as text")
    status: Literal["open", "in_progress", "done", "wont_do"] = "open"
    sources: list[Id] = Field([], description="sources, when the item is public; an internal item may have none")


class Responder(Strict):
    """Who worked on the incident, and in what role."""

    name: Text = Field(description="a person, team or organisation")
    name_original: str | None = None
    role: Text = Field(description="e.g. incident commander, communications, recovery")
    sources: Sources


class CustomerImpact(Strict):
    """A number a source gives for who or what was affected (users, requests, merchants, ...)."""

    metric: Text = Field(description="what was counted, e.g. 'merchants affected', 'failed requests'")
    value: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    unit: str = ""
    approximate: bool = False
    note: str | None = None
    quote: Quote | None = None
    sources: Sources


class Lessons(Strict):
    went_well: list[Fact] = Field([], description="sourced facts")
    went_wrong: list[Fact] = Field([], description="sourced facts")
    got_lucky: list[Fact] = Field([], description="sourced facts")


class Figure(Strict):
    id: Id = Field(description="what claims refer to it by")
    metric: Text = Field(description="e.g. revenue")
    period: Text = Field(description="e.g. 2018, H1 2019")
    value: Number = Field(description="as the source rounds it: the rounding is the tolerance of every check")
    unit: Text = Field(description="e.g. CNY million")
    approximate: bool = Field(False, description="the source says 'about'")
    note: str | None = None
    sources: Sources


# Claims: what a source states, and how the toolkit can recompute it.
class CagrCheck(Strict):
    kind: Literal["cagr"]
    start: Id = Field(description="figure id of the first value")
    end: Id = Field(description="figure id of the last value")
    years: Annotated[float, Field(gt=0)]


class GrowthCheck(Strict):
    kind: Literal["growth"]
    current: Id = Field(description="figure id of the later value")
    prior: Id | None = Field(None, description="figure id of the earlier value, if a source gives it")
    prior_label: str = Field("", description="what the earlier value is, e.g. 'H1 2018 revenue'")


class DifferenceCheck(Strict):
    kind: Literal["difference"]
    minuend: Id
    subtrahend: Id


class DurationCheck(Strict):
    kind: Literal["duration"]
    start: str
    end: str


class ProvisionCheck(Strict):
    kind: Literal["provision"]
    part: Literal["named", "remainder"] = Field(description="sum of the named parties, or the computed remainder")


class PriceCheck(Strict):
    kind: Literal["price"]
    date: DateText
    field: Literal["open", "high", "low", "close"] = "close"
    series: Literal["stock", "benchmark"] = "stock"


class ReturnCheck(Strict):
    kind: Literal["return"]
    date: DateText
    series: Literal["stock", "benchmark"] = "stock"


class NearHighCheck(Strict):
    kind: Literal["near_high"]
    date: DateText
    within: Annotated[float, Field(gt=0, lt=1)] = Field(0.10, description="'near' means within this fraction of the high")


# written out, not Union[CHECKS]: a type checker reads only a literal union
Check = Annotated[
    Union[CagrCheck, GrowthCheck, DifferenceCheck, DurationCheck, ProvisionCheck, PriceCheck, ReturnCheck, NearHighCheck],
    Field(discriminator="kind"),
]
CHECKS: tuple[type[Strict], ...] = get_args(get_args(Check)[0])  # Check's members, in order
MARKET_CHECKS = (PriceCheck, ReturnCheck, NearHighCheck)  # checked against the price files: need a market section
CHECK_KINDS = frozenset(get_args(c.model_fields["kind"].annotation)[0] for c in CHECKS)
MARKET_CHECK_KINDS = frozenset(get_args(c.model_fields["kind"].annotation)[0] for c in MARKET_CHECKS)


class Claim(Strict):
    id: Id = Field(description="an id")
    statement: Text = Field(description="what the source says, in words")
    stated: Number | None = Field(None, description="the number stated; none for a claim in words")
    unit: str = Field("", description="percent, a currency code, ...; a duration claim's unit is seconds, minutes, "
                                      "hours (the default) or days, and it is checked and shown in it")
    check: Check = Field(description="how the toolkit recomputes it (see Claims)")
    quote: Quote | None = Field(None, description="the source's own words, verbatim, in its language and script")
    sources: Sources


class Day0Alternative(Strict):
    """Another session that could be day 0, and why: a judgement the sources support, studied beside the rule's day 0."""

    day: Annotated[date, Field(strict=False)] = Field(
        description="the session, YYYY-MM-DD (a session of the exchange; checked with the calendar)")
    reason: Text = Field(description="why the market may have learned of the event on that day, saying only what the sources say")
    quote: Quote | None = Field(None, description="the source's own words that date it, verbatim")
    sources: Sources


class Market(Strict):
    ticker: Text = Field(description="the stock's ticker, e.g. 2013.HK")
    name: str | None = Field(None, description="the company's name")
    exchange: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3,5}$")] = Field(description="exchange-calendars code, e.g. XHKG")
    currency: Currency = Field(description="of the prices")
    prices: Text = Field(description="CSV of daily bars, relative to the incident folder")
    benchmark: Text = Field(description="the index or fund the stock is measured against, e.g. ^HSI, SPY")
    benchmark_prices: Text = Field(description="CSV of the benchmark, relative to the incident folder")
    event_start: str | None = Field(None, description="milestone id or time; defaults to the incident's start")
    day0: Annotated[date, Field(strict=False)] | None = Field(
        None, description="the session the event study calls day 0, when the calendar's rule is overridden")
    day0_reason: Text | None = Field(None, description="why day 0 is not the session the rule gives (required with day0)")
    day0_alternatives: list[Day0Alternative] = Field(
        [], description="other sessions that could be day 0, each with its reason and sources; the event study is "
                        "run at each beside day 0 (incident.market.dayzero)")
    listing_date: DateText | None = Field(
        None, description="the first session of the stock"
    )
    offer_price: Money | None = Field(None, description="the IPO price")
    sources: Sources

    @model_validator(mode="after")
    def _day0_has_a_reason(self):
        """An override of day 0 says why, and a reason overrides something."""
        if self.day0 is not None and self.day0_reason is None:
            raise ValueError("day0_reason is required when day0 is given: say why the calendar's rule is overridden")
        if self.day0 is None and self.day0_reason is not None:
            raise ValueError("day0_reason is given without day0")
        return self

    @model_validator(mode="after")
    def _alternatives_differ(self):
        """Each alternative day 0 is another day: not the override itself, not given twice."""
        out = []
        seen: dict[date, int] = {}
        for i, alt in enumerate(self.day0_alternatives):
            if alt.day in seen:
                out.append((("day0_alternatives", i, "day"),
                            f"{alt.day} is given twice (also day0_alternatives[{seen[alt.day]}])"))
            elif self.day0 is not None and alt.day == self.day0:
                out.append((("day0_alternatives", i, "day"), f"{alt.day} is day0 itself; an alternative is another day"))
            seen.setdefault(alt.day, i)
        if out:
            raise CrossFieldError(out)
        return self

    @model_validator(mode="after")
    def _measured_against_another(self):
        """An event study measures a stock against the market: the benchmark is another series, in another file."""
        out = []
        if self.ticker.strip().casefold() == self.benchmark.strip().casefold():
            out.append((("benchmark",), f"the benchmark {shown(self.benchmark)} is the stock itself; measure the "
                                        "stock against an index or a fund (e.g. ^HSI, SPY)"))
        for key in ("prices", "benchmark_prices"):
            if not _inside_folder(getattr(self, key)):
                out.append(((key,), "must be a path inside the incident folder (relative, without '..')"))
        if not out and _same_path(self.prices, self.benchmark_prices):
            out.append((("benchmark_prices",), f"is the stock's own price file ({shown(self.prices)}); give the "
                                               "benchmark's prices"))
        if out:
            raise CrossFieldError(out)
        return self


class Incident(Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)] = Field(
        description="names the folder and the report; lower-case letters, digits and '-'"
    )
    title: Text = Field(description="one line: what happened to whom")
    organisation: Organisation = Field(description="who had the incident")
    summary: Text = Field(description="a paragraph for the report's summary")
    timezone: str = Field(description="IANA time zone name of local times, e.g. Asia/Shanghai")
    status: Literal["ongoing", "resolved"] = Field("resolved", description="whether the incident is over")
    authors: list[str] = Field([], description="who wrote this file")
    sources: Annotated[list[Source], Field(min_length=1)]
    milestones: list[Milestone] = Field([], description="points in time as sources give them")
    phases: list[Phase] = Field([], description="stretches of time at one level of user impact")
    severity: str | None = Field(None, description="the organisation's own rating (SEV1, P1, ...), as a source gives it")
    responders: list[Responder] = Field([], description="who worked on the incident, and in what role")
    impact: list[Fact] = Field([], description="what the incident did to users, customers, money: sourced facts")
    customer_impact: list[CustomerImpact] = Field(
        [], description="numbers of affected users, requests, merchants... that sources give")
    root_cause: list[Fact] = Field([], description="why it happened: sourced facts")
    contributing_factors: list[Fact] = Field([], description="conditions that made it possible or worse, apart from the root cause")
    provision: Provision | None = Field(None, description="money set aside for the incident, and who bears which part")
    compensation: Compensation | None = Field(None, description="what affected customers are offered")
    accountability: Accountability | None = Field(
        None, description="who was held responsible, with the findings a source gives"
    )
    remediation: list[Remediation] = Field([], description="what the organisation said it changed or would change")
    action_items: list[ActionItem] = Field(
        [], description="follow-up work with owner, type, priority, due date, ticket and status"
    )
    lessons: Lessons | None = Field(
        None, description="this file's reading of the facts: what went well, wrong, and where it was lucky"
    )
    financials: list[Figure] = Field(
        [], description="figures that sources state (revenue, profit, ...), for context and claims"
    )
    claims: list[Claim] = Field([], description="what sources state, recomputed from the data")
    market: Market | None = Field(None, description="a listed company's share price around the incident")
    notes: list[Fact] = Field([], description="other sourced facts (aftermath, context)")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        zone(name)  # ValueError with a readable message
        return name

    @model_validator(mode="after")
    def _cross_field(self):
        """The rules that span fields (`check_references`): `model_validate` from code applies them too."""
        problems = check_references(self)
        if problems:
            raise CrossFieldError(problems)
        return self

    _folder: Path | None = PrivateAttr(None)
    _memo: dict = PrivateAttr(default_factory=dict)

    # -- resolved views (the folder is set by the loader) ----------------------
    @property
    def folder(self) -> Path | None:
        """The folder the incident was loaded from (data paths are relative to it)."""
        return self._folder

    @cached_property
    def tz(self):
        return zone(self.timezone)

    @cached_property
    def milestones_by_id(self) -> dict[str, Milestone]:
        return {m.id: m for m in self.milestones}

    @cached_property
    def sources_by_id(self) -> dict[str, Source]:
        return {s.id: s for s in self.sources}

    def when(self, ref: str) -> When:
        """A milestone id or a time text, resolved in the incident's zone (parsed once)."""
        return self.memo(("when", ref), lambda: self._parse(ref))

    def _parse(self, ref: str) -> When:
        m = self.milestones_by_id.get(ref)
        if m is not None:
            return parse_when(m.at, self.tz, m.precision, m.approximate)
        return parse_when(ref, self.tz)

    def as_of(self) -> When | None:
        """The latest moment the file knows of: its last milestone or source date (an open phase runs to it)."""
        return self.memo("as_of", lambda: _as_of(self))

    def span_dates(self) -> tuple[str | None, str | None]:
        """(start, recovery) as local dates: the durations' start and the last recovery that happened, if any."""
        return self.memo("span_dates", lambda: _span_dates(self))

    def __repr__(self) -> str:
        """`<Incident weimob-2020: title, 2020-02-23 → 2020-03-03, 15 milestones>`: one line for a terminal."""
        try:
            start, end = self.span_dates()
        except (ValueError, KeyError):  # an incident made with model_construct, unchecked
            start = end = None
        end = "ongoing" if self.status == "ongoing" else end
        title = self.title if len(self.title) <= 80 else self.title[:79] + "…"
        dates = f", {start or '?'} → {end or '?'}" if start or end else ""
        count = len(self.milestones)
        return f"<Incident {self.id}: {title}{dates}, {count} milestone{'' if count == 1 else 's'}>"

    def __eq__(self, other) -> bool:
        """Equal fields make equal incidents, whatever each has computed and cached."""
        return type(other) is type(self) and all(getattr(self, f) == getattr(other, f) for f in type(self).model_fields)

    # mutable caches aside, an incident holds lists: not hashable. mypy has no other way to say so than
    # overriding object.__hash__ with None (typeshed does the same for list and dict)
    __hash__ = None  # type: ignore[assignment]

    def memo(self, key, compute):
        """What `compute()` returns, computed once per loaded incident (times, price files, tables).

        The incident is immutable, so nothing computed from it goes stale. A
        DataFrame comes back as a copy, so that a caller's change to it does
        not reach the next caller.
        """
        memo = self.__pydantic_private__["_memo"]  # not self._memo: pydantic's __getattr__ costs more than the lookup
        try:
            value = memo[key]
        except KeyError:
            value = memo[key] = compute()
        return value.copy() if hasattr(value, "iloc") else value

    def figure(self, figure_id: str) -> Figure:
        for f in self.financials:
            if f.id == figure_id:
                return f
        raise KeyError(figure_id)


def _as_of(inc: Incident) -> When | None:
    points = []
    for m in inc.milestones:
        if m.status == "happened":
            try:
                points.append(inc.when(m.id))
            except ValueError:
                continue  # reported at the milestone
    for s in inc.sources:
        parts = s.date.split("-")
        if len(parts) == 3:  # a source dated to the month or year says nothing of the day
            points.append(parse_when(s.date, inc.tz))
    return max(points, key=lambda w: w.bounds()[1], default=None)


def _span_dates(inc: Incident) -> tuple[str | None, str | None]:
    start_id = duration_start(inc)
    start = inc.when(start_id).earliest.date().isoformat() if start_id else None
    recoveries = [inc.when(m.id) for m in inc.milestones if m.kind == "recovery" and m.status == "happened"]
    end = max(recoveries, key=lambda w: w.bounds()[1]).earliest.date().isoformat() if recoveries else None
    return start, end


OPEN_PHASE = "has no end; only an ongoing incident (status: ongoing) may leave a phase open"


# -- rules that span fields ---------------------------------------------------------
def check_references(inc: Incident) -> list[tuple[tuple, str]]:
    """Rules that span the incident's sections, as (field path, message) pairs; `Incident` applies them.

    Rules within one section are that model's own validators (`Provision`: parts within the total;
    `Market`: a benchmark that is not the stock, data paths inside the folder).
    """
    out: list[tuple[tuple, str]] = []
    source_ids = {s.id for s in inc.sources}
    figure_values = {f.id: f.value for f in inc.financials}

    def unique(items, name):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.id is None:
                continue
            if item.id in seen:
                out.append(((name, i, "id"), f"duplicate id {item.id!r}"))
            seen.add(item.id)

    for name in ("sources", "milestones", "phases", "financials", "claims"):
        unique(getattr(inc, name), name)
    for i, m in enumerate(inc.milestones):
        try:
            parse_when(m.at, inc.tz, m.precision, m.approximate)
        except ValueError as exc:
            out.append((("milestones", i, "at"), str(exc)))

    def when(ref: str, path: tuple):
        try:
            return inc.when(ref)
        except ValueError as exc:
            if ref in inc.milestones_by_id:
                return None  # the milestone's own time is wrong, and reported at the milestone
            if re.match(r"\d{4}-\d{2}-\d{2}", ref):  # meant as a time: say what is wrong with it
                out.append((path, str(exc)))
            else:
                hint = "a milestone id or a time"
                out.append((path, f"{shown(ref)} is neither a known milestone id nor a valid time ({hint})"))
            return None

    def ordered(start_ref, end_ref, path, start_field, end_field):
        start, end = when(start_ref, path + (start_field,)), when(end_ref, path + (end_field,))
        if start and end:
            s_lo, _ = start.bounds()
            _, e_hi = end.bounds()
            if e_hi < s_lo or (start.exact and end.exact and e_hi == s_lo):
                out.append((path + (end_field,), f"ends ({end.label()}) before it starts ({start.label()})"))

    for i, p in enumerate(inc.phases):
        if p.end is None:
            when(p.start, ("phases", i, "start"))
            if inc.status != "ongoing":
                out.append((("phases", i, "end"), OPEN_PHASE))
            elif _as_of(inc) is None:
                out.append((("phases", i, "end"), "is open, and no milestone or source gives a day to count it to"))
            continue
        ordered(p.start, p.end, ("phases", i), "start", "end")
    comp = inc.compensation
    if comp and comp.cash:
        ordered(comp.cash.window_start, comp.cash.window_end, ("compensation", "cash"), "window_start", "window_end")
        for key in ("window_start", "window_end"):  # the payout is hours × rate: a date alone gives no hours
            ref = getattr(comp.cash, key)
            try:
                point = inc.when(ref)
            except ValueError:
                continue  # reported above
            if not point.exact:
                out.append((("compensation", "cash", key),
                            f"{shown(ref)} is known only to the {point.precision}; the compensated window needs times "
                            "to the minute"))
    if inc.market and inc.market.event_start:
        when(inc.market.event_start, ("market", "event_start"))

    prov = inc.provision
    out += _before_start(inc)

    for i, c in enumerate(inc.claims):
        check = c.check
        refs = {k: getattr(check, k) for k in ("start", "end", "current", "prior", "minuend", "subtrahend") if getattr(check, k, None)}
        for key, ref in refs.items():
            if check.kind == "duration":
                ordered(check.start, check.end, ("claims", i, "check"), "start", "end")
                break
            if ref not in figure_values:
                out.append((("claims", i, "check", key), f"unknown financial figure {shown(ref)}"))
            elif check.kind == "cagr" and figure_values[ref] <= 0:  # a growth rate compounds from a positive value
                out.append((("claims", i, "check", key), f"figure {shown(ref)} is {figure_values[ref]:g}: a "
                                                        "compound growth rate needs positive values"))
            elif check.kind == "growth" and key == "prior" and figure_values[ref] == 0:
                out.append((("claims", i, "check", key), f"figure {shown(ref)} is 0: growth from zero is undefined"))
        if check.kind == "growth" and not getattr(check, "prior", None) and c.stated is not None and c.stated <= -100:
            out.append((("claims", i, "stated"), f"{c.stated:g}% without an earlier figure implies none (a fall "
                                                 "of 100% or more leaves no earlier value to infer)"))
        if check.kind == "provision" and prov is None:
            out.append((("claims", i, "check"), "a provision claim needs a provision section"))
        if check.kind in MARKET_CHECK_KINDS and inc.market is None:
            out.append((("claims", i, "check"), "a market claim needs a market section"))

    # every fact's sources must exist
    for path, ids in _source_refs(inc):
        for j, sid in enumerate(ids):
            if sid not in source_ids:
                out.append((path + (j,), f"unknown source {shown(sid)} (known: {', '.join(sorted(source_ids))})"))
    return out


def duration_start(inc: Incident) -> str | None:
    """Id of the milestone durations count from: the first impact that happened, else the first detection."""
    for kind in ("impact", "detection"):
        points = []
        for m in inc.milestones:
            if m.kind == kind and m.status == "happened":
                try:
                    points.append((inc.when(m.id).bounds()[0], m.id))
                except ValueError:
                    continue  # reported at the milestone
        if points:
            return min(points)[1]
    return None


_DURATION_ENDS = ("detection", "diagnosis", "mitigation", "recovery")


def _before_start(inc: Incident) -> list[tuple[tuple, str]]:
    """Detection, diagnosis, mitigation and recovery cannot come before the start (a negative duration)."""
    start_id = duration_start(inc)
    if start_id is None:
        return []
    start = inc.when(start_id)
    out = []
    for i, m in enumerate(inc.milestones):
        if m.kind not in _DURATION_ENDS or m.status != "happened":
            continue
        try:
            point = inc.when(m.id)
        except ValueError:
            continue
        if point.bounds()[1] < start.bounds()[0]:
            out.append((("milestones", i, "at"),
                        f"this {m.kind} ({point.label()}) is before the incident's start ({start.label()}, milestone "
                        f"{start_id!r}), which would make a negative duration: correct the time, or the start"))
    return out


def _inside_folder(relative: str) -> bool:
    """Whether a data path stays in the incident folder: relative, no '..' (either slash)."""
    windows = PureWindowsPath(relative)
    return not (PurePosixPath(relative).is_absolute() or windows.anchor or ".." in windows.parts)


def _same_path(a: str, b: str) -> bool:
    """Whether two paths inside the folder name the same file ('prices/a.csv' and './prices//a.csv')."""
    return PurePosixPath(a.replace("\\", "/")) == PurePosixPath(b.replace("\\", "/"))


def _source_refs(inc: Incident):
    """(path of a `sources` list, the ids in it) for every sourced item (the incident's own list excluded)."""

    def walk(value, path):
        if isinstance(value, BaseModel):
            for key, item in value.__dict__.items():  # the fields, without pydantic's attribute lookup
                if key in ("sources", "remainder_sources") and path != () and isinstance(item, list):
                    yield path + (key,), item
                elif isinstance(item, (BaseModel, list)):
                    yield from walk(item, path + (key,))
        elif value and isinstance(value[0], (BaseModel, list)):  # a list of text holds no sources list
            for i, item in enumerate(value):
                if isinstance(item, (BaseModel, list)):
                    yield from walk(item, path + (i,))

    yield from walk(inc, ())
