"""The county sets who pays what the source leaves open (R1: performance pay, the 120-yuan elderly allowance)."""
from __future__ import annotations

import pytest

from processor.errors import ConfigError
from processor.payers import county_set, unset, with_county_payers
from processor.rulebook import load_rulebook


def r1():
    return load_rulebook("huojia-five-star")


def test_payers__county_sets_two__nothing_left_unspecified() -> None:
    rb = r1()
    assert unset(rb) == [("performance", "绩效工资"), ("elderly_allowance", "70周岁以上老人奖励")]  # seed line 319 says no payer
    paid = with_county_payers(rb, {"performance": "乡镇财政", "elderly_allowance": "county_budget"})
    assert unset(paid) == []
    assert county_set(paid) == [("绩效工资", "乡镇财政"), ("70周岁以上老人奖励", "县财政")]
    assert unset(rb) != [], "the shipped rulebook itself is not changed"


@pytest.mark.parametrize("payers, says", [({"bonus": "县财政"}, "no pay rule ['bonus']"),
                                          ({"performance": "财政局"}, "['财政局'] is not a payer"),
                                          ({"performance": "未明确"}, "is not a payer")])
def test_payers__unknown_rule_or_payer__refused_with_what_is_allowed(payers, says) -> None:
    with pytest.raises(ConfigError, match=r".*") as caught:
        with_county_payers(r1(), payers)
    assert says in str(caught.value)
