"""The starter catalog and standard load; recommendations follow the tiers, the statutory
pre-tiers win, and the result always lies within the statutory range (pure, Hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain.cases import catalog as cat
from hub.domain.cases import discretion as d
from hub.domain.cases import standards as st_
from hub.domain.cases.law import PartyType, Penalty, PenaltyType
from hub.services.cases.files import load_matters_csv, load_yaml, strip_lines

DATA = Path(__file__).resolve().parents[3] / "hub" / "data"
ACT = date(2026, 3, 2)


@pytest.fixture(scope="module")
def catalog() -> cat.Catalog:
    doc, problems = load_yaml((DATA / "catalog_shenzhen.yaml").read_text(encoding="utf-8"))
    assert doc is not None and not problems
    c, problems = cat.read_document(doc)
    assert c is not None, [str(p) for p in problems]
    return c


@pytest.fixture(scope="module")
def standard() -> d.Standard:
    doc, _ = load_yaml((DATA / "discretion_shenzhen.yaml").read_text(encoding="utf-8"))
    assert doc is not None
    s, problems = st_.read_standard(strip_lines(doc))
    assert s is not None, problems
    return s


def test_starter_catalog_shape(catalog: cat.Catalog, standard: d.Standard) -> None:
    assert len(catalog.categories) == 18
    assert len(catalog.matters) >= 12
    assert len({m.category for m in catalog.matters.values()}) >= 6
    stall = catalog.matters["SZ-ZD-001"]
    assert stall.correction_first and stall.range.per_unit_rate == 1000
    assert st_.unknown_matters(standard, list(catalog.matters)) == []
    # An unverified entry says what is unverified.
    assert all(m.note for m in catalog.matters.values() if not m.verified)


def test_round_trip_document_and_csv(catalog: cat.Catalog) -> None:
    again, problems = cat.read_document(cat.document(catalog))
    assert again == catalog and not problems
    header = ",".join(cat.CSV_COLUMNS)
    import csv
    import io

    out = io.StringIO()
    w = csv.DictWriter(out, cat.CSV_COLUMNS)
    w.writeheader()
    for m in catalog.matters.values():
        w.writerow(cat.csv_row(m))
    assert out.getvalue().startswith(header)
    doc, problems = load_matters_csv(out.getvalue())
    assert doc is not None and not problems
    from_csv, problems = cat.read_document(doc, catalog)
    assert from_csv == catalog, [str(p) for p in problems]


def test_bad_lines_are_reported_with_line_code_and_field(catalog: cat.Catalog) -> None:
    text = "\n".join(
        [
            ",".join(cat.CSV_COLUMNS),
            "SZ-X-1,好,city,penalty,A,B,futian,false,fine,500,100,,,,,,x,true,",
            "SZ-X-2,好,nowhere,penalty,A,B,futian,false,fine,1,2,,,,,,x,true,",
            "SZ-X-3,好,city,penalty,A,B,futian,false,fine,1,2,,,,,,x,false,",
        ]
    )
    doc, _ = load_matters_csv(text)
    assert doc is not None
    c, problems = cat.read_document(doc, catalog)
    assert c is None
    assert [str(p) for p in problems] == [
        "line 2 (SZ-X-1): fine_max: must be >= fine_min",
        "line 3 (SZ-X-2): category: no category 'nowhere' in the catalog",
        "line 4 (SZ-X-3): note: an unverified entry must say what is unverified",
    ]


def test_yaml_problems_carry_their_line() -> None:
    doc, _ = load_yaml("format: ehub-catalog/1\nmatters:\n  - code: A\n    name: x\n")
    assert doc is not None
    _, problems = cat.read_document(doc)
    assert any(str(p).startswith("line 3 (A): category: is required") for p in problems)
    _, problems = load_yaml("a: [1,\n")
    assert problems and problems[0].field == "yaml"


def test_stalls_order_first_then_per_square_metre(
    catalog: cat.Catalog, standard: d.Standard
) -> None:
    m = catalog.matters["SZ-ZD-001"]
    first = d.recommend([standard], m, d.Facts(area_m2=Decimal("2.5")), ACT)
    assert first.tier == "order" and first.penalty is not None and first.penalty.is_none
    refused = d.recommend(
        [standard], m, d.Facts(area_m2=Decimal("2.5"), refused_to_correct=True), ACT
    )
    assert refused.tier == "refused" and refused.penalty == Penalty(
        frozenset({PenaltyType.FINE}), Decimal(2500)
    )
    assert "1000元 × 2.5 = 2500元" in refused.explanation_zh
    assert not refused.simple_procedure  # over 200 yuan: the ordinary procedure
    serious = d.recommend(
        [standard], m, d.Facts(area_m2=Decimal(3), refused_to_correct=True, serious=True), ACT
    )
    assert serious.penalty is not None and PenaltyType.CONFISCATE_PROPERTY in serious.penalty.types
    assert serious.penalty.confiscation.startswith("违法摆卖的物品")
    missing = d.recommend([standard], m, d.Facts(refused_to_correct=True), ACT)
    assert missing.penalty is None and "area_m2" in missing.explanation_en[-1]


@pytest.mark.parametrize(("prior", "fine"), [(0, 2000), (1, 4000), (2, 5000), (7, 5000)])
def test_dust_by_repetition(catalog, standard, prior, fine) -> None:
    r = d.recommend(
        [standard], catalog.matters["SZ-SR-003"], d.Facts(prior_offences_12m=prior), ACT
    )
    assert r.penalty is not None and r.penalty.fine == fine


@pytest.mark.parametrize(
    ("spots", "fine"), [(1, 200), (2, 200), (3, 400), (4, 400), (5, 500), (9, 500)]
)
def test_pet_faeces_by_quantity(catalog, standard, spots, fine) -> None:
    r = d.recommend([standard], catalog.matters["SZ-SR-001"], d.Facts(quantity=Decimal(spots)), ACT)
    assert r.penalty is not None and r.penalty.fine == fine
    assert r.simple_procedure is (fine <= 200)


def test_pre_tiers(catalog: cat.Catalog, standard: d.Standard) -> None:
    m = catalog.matters["SZ-SR-003"]
    cases = {
        "art30_under_14": d.Facts(party_age=13),
        "art31_incapacity": d.Facts(incapacity=True),
        "art33_minor_corrected": d.Facts(minor=True, corrected=True, prior_offences_12m=3),
        "art33_first_offence": d.Facts(minor=True, corrected=True, harm=d.Harm.MINOR),
        "art36_time_barred": d.Facts(discovered_on=date(2028, 3, 3)),
    }
    for rule, facts in cases.items():
        r = d.recommend([standard], m, facts, ACT)
        assert r.pre_tier == rule and r.penalty == Penalty(frozenset()), rule
    assert d.recommend([standard], m, d.Facts(discovered_on=date(2028, 3, 2)), ACT).pre_tier is None
    # Five years where life, health or finance was harmed.
    five = d.Facts(discovered_on=date(2029, 3, 3), life_health_finance=True, harm=d.Harm.SERIOUS)
    assert d.recommend([standard], m, five, ACT).pre_tier is None
    lighter = d.recommend(
        [standard],
        m,
        d.Facts(prior_offences_12m=2, mitigation=frozenset({d.Mitigation.CONFESSED})),
        ACT,
    )
    assert lighter.lighter and lighter.penalty is not None and lighter.penalty.fine == 2000


def test_lighter_where_the_statute_sets_no_minimum_takes_the_lowest_tier(catalog, standard) -> None:
    m = catalog.matters["SZ-SR-001"]  # 0-500: "五百元以下"
    facts = d.Facts(quantity=Decimal(6), mitigation=frozenset({d.Mitigation.ELIMINATED_HARM}))
    r = d.recommend([standard], m, facts, ACT)
    assert r.lighter and r.penalty is not None and r.penalty.fine == 200
    assert r.simple_procedure  # 200 yuan for a citizen: on the spot (Art. 51)
    # A 15-year-old: lighter too (Art. 30), not exempt.
    r = d.recommend([standard], m, d.Facts(quantity=Decimal(6), party_age=15), ACT)
    assert r.pre_tier is None and r.lighter and r.penalty is not None and r.penalty.fine == 200


def test_first_offence_corrected_may_go_unpunished_and_says_so(catalog, standard) -> None:
    m = catalog.matters["SZ-SR-003"]
    r = d.recommend([standard], m, d.Facts(corrected=True, harm=d.Harm.MINOR), ACT)
    assert r.pre_tier == "art33_first_offence" and r.discretionary
    assert "可以不予行政处罚" in r.explanation_zh[-1]
    repeat = d.recommend([standard], m, d.Facts(corrected=True, prior_offences_12m=1), ACT)
    assert repeat.pre_tier is None and repeat.penalty is not None and repeat.penalty.fine == 4000


def test_version_in_force_and_art37(catalog: cat.Catalog, standard: d.Standard) -> None:
    m = catalog.matters["SZ-SR-003"]
    old = replace(
        standard, code="OLD", in_force_from=date(2018, 1, 1), in_force_to=date(2023, 12, 14)
    )
    newer = replace(
        standard,
        code="NEW",
        in_force_from=date(2024, 6, 1),
        in_force_to=None,
        items={
            "SZ-SR-003": d.Item(
                "SZ-SR-003",
                (d.Tier("flat", "一律", (), d.Outcome(d.OutcomeType.FIXED, fine=Decimal(2500))),),
            )
        },
    )
    facts = d.Facts(prior_offences_12m=2)
    assert d.recommend([old, standard], m, facts, date(2023, 6, 1)).standard == "OLD"
    assert d.recommend([old, standard], m, facts, ACT).standard == "SZCG-2023-2"
    # Decided later under a lighter standard: the lighter applies (Art. 37); a heavier does not.
    r = d.recommend([standard, newer], m, facts, date(2024, 1, 10), decided_on=ACT)
    assert r.standard == "NEW" and r.penalty is not None and r.penalty.fine == 2500
    r = d.recommend([standard, newer], m, d.Facts(), date(2024, 1, 10), decided_on=ACT)
    assert r.standard == "SZCG-2023-2" and r.penalty is not None and r.penalty.fine == 2000
    none = d.recommend([], m, facts, ACT)
    assert none.standard is None and none.penalty is None


def test_departure_needs_a_reason_and_the_statutory_range(catalog, standard) -> None:
    m = catalog.matters["SZ-SR-003"]
    r = d.recommend([standard], m, d.Facts(), ACT)
    decided = Penalty(frozenset({PenaltyType.FINE}), Decimal(3000))
    with pytest.raises(d.DepartureRefused, match="written reason"):
        d.departure(r, decided, "  ")
    with pytest.raises(d.DepartureRefused, match="outside the range"):
        d.departure(r, Penalty(frozenset({PenaltyType.FINE}), Decimal(9000)), "big site")
    with pytest.raises(d.DepartureRefused, match="not a departure"):
        d.departure(r, Penalty(frozenset({PenaltyType.FINE}), Decimal(2000)), "same")
    revoke = Penalty(frozenset({PenaltyType.REVOKE_LICENCE}))
    with pytest.raises(d.DepartureRefused, match="no penalty of type 'revoke_licence'"):
        d.departure(r, revoke, "licence")
    dep = d.departure(r, decided, "施工面积大，扬尘影响学校")
    assert (
        dep.legal_review and dep.heavier and dep.standard == "SZCG-2023-2" and dep.tier == "first"
    )


def test_bad_standards_are_refused_with_every_problem() -> None:
    s, problems = st_.read_standard(
        {
            "code": "X",
            "title": "t",
            "in_force_from": "2025-01-01",
            "in_force_to": "2024-01-01",
            "items": [
                {
                    "matter": "A",
                    "tiers": [
                        {
                            "id": "a",
                            "label": "a",
                            "when": [
                                {"fact": "mood", "value": 1},
                                {"fact": "quantity", "op": ">", "value": [1]},
                                {"fact": "serious", "op": "<", "value": True},
                                {"fact": "harm", "value": "terrible"},
                            ],
                            "outcome": {"type": "fixed"},
                        }
                    ],
                }
            ],
        }
    )
    assert s is None
    text = " | ".join(problems)
    assert "in_force_to: must be on or after" in text
    assert "unknown fact 'mood'" in text
    assert "a fixed outcome needs its fine" in text
    assert "quantity compares with a number" in text
    assert "serious is true or false" in text
    assert "harm is one of minor, none, serious" in text


_facts = st.builds(
    d.Facts,
    party_type=st.sampled_from(list(PartyType)),
    prior_offences_12m=st.integers(0, 6),
    area_m2=st.one_of(st.none(), st.decimals(Decimal("0.1"), Decimal(200), places=1)),
    quantity=st.one_of(st.none(), st.decimals(Decimal(1), Decimal(40), places=0)),
    refused_to_correct=st.booleans(),
    corrected=st.booleans(),
    harm=st.sampled_from(list(d.Harm)),
    minor=st.booleans(),
    serious=st.booleans(),
    party_age=st.one_of(st.none(), st.integers(10, 70)),
    incapacity=st.booleans(),
    mitigation=st.frozensets(st.sampled_from(list(d.Mitigation)), max_size=2),
    illegal_gains=st.one_of(st.none(), st.decimals(Decimal(0), Decimal(100000), places=2)),
)


@settings(max_examples=400, deadline=None)
@given(facts=_facts, code_index=st.integers(0, 100))
def test_recommendation_always_within_the_statutory_range(
    catalog, standard, facts, code_index
) -> None:
    penalty_matters = [m for m in catalog.matters.values() if m.kind.value == "penalty"]
    m = penalty_matters[code_index % len(penalty_matters)]
    r = d.recommend([standard], m, facts, ACT)
    pre = d._pre_tier(facts, ACT)
    if pre is not None:  # the statute's own rules win over every tier
        assert r.pre_tier == pre[0] and r.penalty is not None and r.penalty.is_none
        return
    if r.penalty is None or r.penalty.is_none:
        return
    qty = facts.area_m2 if m.range.unit == "m2" else facts.quantity
    assert m.range.violations(r.penalty, qty, facts.illegal_gains) == []


@settings(max_examples=200, deadline=None)
@given(facts=_facts, fine=st.integers(0, 200000), code_index=st.integers(0, 100))
def test_an_accepted_departure_is_within_the_statutory_range(
    catalog, standard, facts, fine, code_index
) -> None:
    penalty_matters = [m for m in catalog.matters.values() if m.kind.value == "penalty"]
    m = penalty_matters[code_index % len(penalty_matters)]
    r = d.recommend([standard], m, facts, ACT)
    decided = Penalty(frozenset({PenaltyType.FINE}) if fine else frozenset(), Decimal(fine))
    try:
        dep = d.departure(r, decided, "reason")
    except d.DepartureRefused:
        return
    qty = facts.area_m2 if m.range.unit == "m2" else facts.quantity
    assert m.range.violations(dep.decided, qty, facts.illegal_gains) == []
    assert dep.legal_review
