"""Write the bundled samples: a fictional county's township workbooks for rulebook R1, and broken copies.

    python samples/generate.py [--out DIR]      (default: this folder)

明川县 (Mingchuan county, county code MC) is invented, and so is every village and every name. The
data is designed rather than drawn blindly: each branch is given a target rating and, for each of the
five stars, a reason why it is earned or not (base below 75, total short of 85, a deduction, a veto,
secretary not also village head); the item scores, events and vetoes are then made to fit, and the
rating is computed back from the rows and checked against the design.

Everything comes from random.Random(2026) and fixed tables; nothing reads the clock, so the same
code writes byte-identical files.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import processor  # noqa: E402,F401  (first: it pins openpyxl's XML writer, see processor/__init__.py)
import openpyxl  # noqa: E402

from processor.fill import fill_template, save_deterministic  # noqa: E402
from processor.rulebook import Rulebook, load_rulebook  # noqa: E402

SEED = 2026
PERIOD = 2026
COUNTY, COUNTY_CODE = "明川县", "MC"
STARS = ["party_building", "civility", "peace", "industry", "beautiful_village"]
STAR_NAMES = {"party_building": "基层党建星", "civility": "乡风文明星", "peace": "平安和谐星",
              "industry": "产业发展星", "beautiful_village": "美丽乡村星"}
SECRETARY_REWARD, OTHER_REWARD = 300, 200  # yuan per star per month (R1, line 319)


@dataclass(frozen=True)
class Township:
    number: int
    name: str
    code: str
    branches: int
    lean: int = 0                 # shifts the rating mix: +1 richer plains town, -1 poorer hills
    review_missing: float = 0.06  # share of branches the township panel has not reviewed yet
    half_points: bool = False     # the panel scores in half points
    strict: bool = False          # the panel marks well below the self-assessment
    text_dates: bool = False      # the clerk types dates as text (2026年3月15日)
    odd_pay: bool = False         # pay worked out from an annual sum (2166.67)


TOWNSHIPS = [
    Township(1, "城关镇", "CG", 22, lean=1),
    Township(2, "河口镇", "HK", 20, strict=True),
    Township(3, "柳林镇", "LL", 19, half_points=True),
    Township(4, "石桥乡", "SQ", 15, odd_pay=True),
    Township(5, "杨庄镇", "YZ", 18, lean=1),
    Township(6, "青山乡", "QS", 14, lean=-1, review_missing=0.2),
    Township(7, "白马镇", "BM", 17),
    Township(8, "东营乡", "DY", 16, text_dates=True),
    Township(9, "南湖镇", "NH", 21, half_points=True),
    Township(10, "西岭乡", "XL", 13, lean=-1, review_missing=0.5),
]

# --- names (common characters; any resemblance to a real person is chance) ----------------------

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏"
            "薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟万段钱汤尹常武乔贺")
MALE = "建国志强伟军华明永俊海涛波斌刚勇东林峰卫平新庆立文德春光长福金宝喜成全胜利学振保庆红兴旺忠义山"
FEMALE = "秀英桂兰玉梅芳丽霞燕敏静娟琴云萍凤艳丹慧婷翠莲爱珍淑娥彩"
VILLAGE_PREFIX = ["", "", "", "大", "小", "东", "西", "南", "北", "前", "后", "上", "下"]
VILLAGE_SUFFIX = list("庄屯营寨楼集店湾岗桥堡坡园铺") + ["家庄", "家营", "家寨", "固"]
PLACE_NAMES = ["柳树湾", "杏花营", "石佛寺", "双井", "三官庙", "金龙口", "槐树岭", "青龙岗", "白鹤滩", "桃园",
               "马圈", "枣林", "五里铺", "十里店", "龙泉", "凤凰台", "梨园", "沙窝", "苇子坑", "高台",
               "泉水沟", "松树坪", "卧牛石", "七里河", "红土岭", "长岭", "新华", "向阳", "团结", "和平"]

VETO_NOTES = {
    "“两委”成员受严重警告或记过以上处分且影响期未满": ("party_building", "村委委员受党内严重警告处分，影响期未满"),
    "“两委”成员受到刑事处罚": ("party_building", "原村委委员因故意伤害被判处有期徒刑"),
    "发生重大舆情或因宗教等敏感问题被市级以上通报问责": ("civility", "天价彩礼事件引发网络舆情，被市委宣传部通报"),
    "同一问题赴县集访2次以上、赴市集访1次或个访2次以上、赴省以上集访个访非访": ("peace", "土地流转纠纷赴市集访1次"),
    "出现命案、重大刑事案件或被上级挂牌督办": ("peace", "发生一起命案"),
    "清产核资不到位或不合理合同、无协议侵占集体资产资源": ("industry", "集体坑塘无协议被个人占用"),
    "辖区内“散乱污”企业被查处": ("industry", "村内一家塑料颗粒加工点被环保部门查处"),
    "脱贫攻坚存在硬伤被市级以上点名通报": ("industry", "监测户帮扶措施不落实被市级通报"),
    "占用耕地建农房或违规使用农业设施用地": ("beautiful_village", "村民占用耕地建房2处未制止"),
    "环境卫生问题被市级以上机关或媒体通报曝光": ("beautiful_village", "村内垃圾堆放被市电视台曝光"),
}
EVENT_NOTES = {
    ("party_building", "bonus"): ["党支部获评县级先进基层党组织", "书记获评市级优秀党务工作者", "党建经验被县委组织部推广"],
    ("party_building", "deduction"): ["“三会一课”记录不全被督查通报", "发展党员程序不规范", "党费收缴不及时"],
    ("civility", "bonus"): ["获评县级文明村", "“好婆婆好媳妇”评选获市级表彰", "新时代文明实践站建设被县里推广"],
    ("civility", "deduction"): ["红白事大操大办被乡镇通报", "文化广场长期闲置"],
    ("peace", "bonus"): ["获评县级平安村", "人民调解员获市级表彰", "“雪亮工程”建设达标"],
    ("peace", "deduction"): ["信访事项未及时化解被乡镇通报", "消防安全检查不合格"],
    ("industry", "bonus"): ["集体经济增收项目获县级表彰", "新建蔬菜大棚合作社", "土地托管服务覆盖全村"],
    ("industry", "deduction"): ["村级财务公开不及时", "合作社年报逾期未报"],
    ("beautiful_village", "bonus"): ["获评市级美丽乡村示范村", "人居环境整治“红旗村”", "户厕改造提前完成"],
    ("beautiful_village", "deduction"): ["人居环境整治检查排名靠后被通报", "秸秆焚烧被通报", "河道垃圾清理不及时"],
}

# Why a star is (not) earned; the rows are then made to fit.
EARN, LIFTED = "earned", "lifted by bonus"
LOW, SHORT, DEDUCTED, VETOED, NOT_ONE_SHOULDER = ("base below 75", "total below 85", "deduction below 85",
                                                   "veto", "secretary not village head")


@dataclass
class Branch:
    code: str
    name: str
    village: str
    surname: str | None
    target: int
    reasons: dict[str, str]
    info: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    vetoes: list[dict[str, Any]] = field(default_factory=list)
    cadres: list[dict[str, Any]] = field(default_factory=list)
    underfunded: bool = False


@dataclass
class TownshipData:
    township: Township
    branches: list[Branch]

    @property
    def file_name(self) -> str:
        return f"{self.township.number:02d}-{self.township.name}.xlsx"

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        return {"branches": [b.info for b in self.branches], "scores": [b.scores for b in self.branches],
                "events": [e for b in self.branches for e in b.events],
                "vetoes": [v for b in self.branches for v in b.vetoes],
                "cadres": [c for b in self.branches for c in b.cadres]}


# --- the design of one branch --------------------------------------------------------------------

RATING_WEIGHTS = {-1: [14, 20, 32, 20, 10, 4], 0: [8, 14, 30, 26, 14, 8], 1: [4, 10, 26, 30, 18, 12]}


def rating_mix(rng: random.Random, n: int, weights: list[int]) -> list[int]:
    """n target ratings in the proportions of weights (largest remainder), in random order."""
    exact = [n * w / sum(weights) for w in weights]
    counts = [int(x) for x in exact]
    for i in sorted(range(len(weights)), key=lambda i: counts[i] - exact[i])[:n - sum(counts)]:
        counts[i] += 1
    targets = [rating for rating, count in enumerate(counts) for _ in range(count)]
    rng.shuffle(targets)
    return targets


def plan_reasons(rng: random.Random, target: int) -> dict[str, str]:
    """Which stars this branch earns and why the others are missed, for a target rating."""
    others = STARS[1:]
    if target >= 3:
        earned = ["party_building", *rng.sample(others, target - 1)]
    elif target == 2 and rng.random() < 0.3:  # the "1+4" cap: three or four stars but no party-building star
        earned = rng.sample(others, rng.choice([3, 3, 4]))
    else:
        earned = rng.sample(STARS, target)
    reasons = {}
    for star in STARS:
        if star in earned:
            reasons[star] = LIFTED if rng.random() < 0.15 else EARN
        else:
            reasons[star] = rng.choices([LOW, SHORT, DEDUCTED, VETOED], [68, 20, 8, 2.5])[0]
    if "party_building" not in earned and (len(earned) >= 3 and rng.random() < 0.4 or rng.random() < 0.03):
        reasons["party_building"] = NOT_ONE_SHOULDER
    return reasons


def rating_of(earned: list[str]) -> int:
    """R1 default reading: one star per star earned; three or more need 基层党建星, else capped at 2."""
    return len(earned) if len(earned) < 3 or "party_building" in earned else 2


def design_star(rng: random.Random, reason: str, step: Decimal) -> tuple[Decimal, list[tuple[str, Decimal]]]:
    """(base, [(bonus|deduction, points)]) that give this reason under base >= 75 and total >= 85."""
    def pick(lo: float, hi: float) -> Decimal:
        return (Decimal(str(rng.uniform(lo, hi))) / step).quantize(Decimal(1), ROUND_HALF_UP) * step

    events: list[tuple[str, Decimal]] = []
    if reason == EARN:
        base = pick(85, 98) if rng.random() < 0.6 else pick(85, 91)
        if rng.random() < 0.2:
            events.append(("bonus", Decimal(rng.randint(1, 3))))
        if rng.random() < 0.1 and base >= 88:
            events.append(("deduction", Decimal(rng.randint(1, int(base) - 85))))
    elif reason == LIFTED:
        base = pick(76, 84)
        need = 85 - base
        events.append(("bonus", (need + rng.choice([0, 0, 1, 2])).quantize(Decimal("0.5"))))
    elif reason == LOW:
        base = pick(52, 74.4) if rng.random() < 0.4 else pick(66, 74.4)
        if rng.random() < 0.12:
            events.append(("bonus", Decimal(rng.randint(1, 5))))
    elif reason == SHORT:
        base = pick(75, 83)
        room = int(84 - base)
        if room >= 1 and rng.random() < 0.4:
            events.append(("bonus", Decimal(rng.randint(1, room))))
    elif reason == DEDUCTED:
        base = pick(85, 91)
        events.append(("deduction", Decimal(int(base) - 84 + rng.randint(0, 3))))
        if rng.random() < 0.3:
            events.append(("deduction", Decimal(rng.randint(1, 2))))
    else:  # VETOED, NOT_ONE_SHOULDER: any base, often a good one, to show the veto decides
        base = pick(70, 96)
    return base, events


def split_base(rng: random.Random, base: Decimal, maxes: list[Decimal], step: Decimal) -> list[Decimal]:
    """Item scores within [0, max] in steps of `step` that add up to base exactly."""
    caps = [int(m / step) for m in maxes]
    ratio = float(base) / float(sum(maxes))
    units = [min(c, max(0, round(c * (ratio + rng.uniform(-0.08, 0.08))))) for c in caps]
    left = int(base / step) - sum(units)
    while left:
        i = rng.randrange(len(units))
        if left > 0 and units[i] < caps[i]:
            units[i] += 1
            left -= 1
        elif left < 0 and units[i] > 0:
            units[i] -= 1
            left += 1
    return [u * step for u in units]


def number(value: Decimal) -> int | float:
    """How a clerk's cell holds it: a whole number, or a float with at most two decimals."""
    return int(value) if value == value.to_integral_value() else float(value)


# --- building a township -------------------------------------------------------------------------

class CountyBuilder:
    def __init__(self, rulebook: Rulebook, rng: random.Random) -> None:
        self.rulebook = rulebook
        self.rng = rng
        self.units = {u["id"]: u for u in rulebook.units}
        self.villages_used: set[str] = set()

    def township(self, t: Township, plans: list[tuple[dict[str, str], list[str]]] | None = None) -> TownshipData:
        """A township's branches; plans = [(reason per star, cadre roles)] fixes them instead of drawing them."""
        if plans is None:
            targets = rating_mix(self.rng, t.branches, RATING_WEIGHTS[t.lean])
            plans = [(plan_reasons(self.rng, n), []) for n in targets]
        unreviewed = self.rng.sample(range(1, len(plans) + 1), round(len(plans) * t.review_missing))
        branches = [self.branch(t, i, reasons, i not in unreviewed, roles)
                    for i, (reasons, roles) in enumerate(plans, 1)]
        data = TownshipData(t, branches)
        for b in branches:
            check_design(b, self.rulebook)
        self.fund(branches)
        return data

    def village(self) -> tuple[str, str | None]:
        while True:
            if self.rng.random() < 0.2:
                name, surname = self.rng.choice(PLACE_NAMES), None
            else:
                surname = self.rng.choice(SURNAMES[:40])
                name = self.rng.choice(VILLAGE_PREFIX) + surname + self.rng.choice(VILLAGE_SUFFIX)
            if name not in self.villages_used:
                self.villages_used.add(name)
                return name, surname

    def branch(self, t: Township, i: int, reasons: dict[str, str], reviewed: bool, roles: list[str]) -> Branch:
        rng = self.rng
        village, surname = self.village()
        code = f"{COUNTY_CODE}-{t.code}-{i:03d}"
        target = rating_of([s for s in STARS if reasons[s] in (EARN, LIFTED)])
        b = Branch(code, f"{village}村党支部", f"{village}村", surname, target, reasons)
        self.info(t, b)
        self.cadres(t, b, roles or self.roles(b))
        step = Decimal("0.5") if t.half_points else Decimal(1)
        b.scores = {"branch_code": code, "branch_name": b.name}
        for star in STARS:
            base, events = design_star(rng, b.reasons[star], step)
            self.score_star(t, b, star, base, step, reviewed)
            for effect, points in events:
                b.events.append(self.event(t, b, star, effect, points))
            if b.reasons[star] == VETOED:
                b.vetoes.append(self.veto(t, b, star))
        return b

    def info(self, t: Township, b: Branch) -> None:
        rng = self.rng
        members = rng.randint(16, 95)
        elderly = rng.randint(35, 120) + members * rng.randint(1, 3)
        if rng.random() < 0.9:
            reelection = dt.date(2026, rng.randint(1, 4), rng.randint(1, 28))
            postponed = None
        else:  # still the 2021 committee: postponement mostly approved, sometimes not
            reelection = dt.date(2021, rng.randint(1, 5), rng.randint(1, 28))
            postponed = "是" if rng.random() < 0.75 else "否"
        b.info = {
            "township": t.name, "branch_code": b.code, "branch_name": b.name, "village": b.village,
            "branch_type": "村党支部", "member_count": members,
            "secretary_is_head": "否" if b.reasons["party_building"] == NOT_ONE_SHOULDER else "是",
            "last_reelection": f"{reelection.year}年{reelection.month}月{reelection.day}日" if t.text_dates else reelection,
            "reelection_postponed_approved": postponed,
            "elderly_70_plus": elderly,
            "reserve_cadres": rng.choice([1, 2, 2, 2, 3, 3, 4]),
            "target_assessment_score": None if rng.random() < 0.1 else number(Decimal(rng.randint(700, 985)) / 10),
        }

    def roles(self, b: Branch) -> list[str]:
        rng = self.rng
        roles = ["书记"]
        if b.info["secretary_is_head"] == "否":
            roles.append("村委会主任")
        roles += ["副书记"] * (rng.random() < 0.4) + ["村委会副主任"] * (rng.random() < 0.3)
        return roles + ["委员"] * rng.randint(2, 3) + ["其他"] * (rng.random() < 0.25)

    def cadres(self, t: Township, b: Branch, roles: list[str]) -> None:
        rng = self.rng
        names: list[str] = []
        for role in roles:
            name = self.person(b.surname)
            while name in names:
                name = self.person(b.surname)
            names.append(name)
            b.cadres.append({"branch_code": b.code, "name": name, "role": role,
                             "monthly_pay": self.pay(t, role), "months": self.months(role)})

    def person(self, village_surname: str | None) -> str:
        rng = self.rng
        surname = village_surname if village_surname and rng.random() < 0.55 else rng.choice(SURNAMES)
        pool = FEMALE if rng.random() < 0.3 else MALE
        if rng.random() < 0.3:
            return surname + rng.choice(pool)
        first, second = rng.choice(pool), rng.choice(pool)
        while second == first and pool == MALE:  # 丽丽 is a name, 国国 hardly
            second = rng.choice(pool)
        return surname + first + second

    def pay(self, t: Township, role: str) -> int | float:
        rng = self.rng
        lo, hi = {"书记": (2800, 3500), "副书记": (2300, 3000), "村委会主任": (2400, 3000)}.get(role, (1800, 2600))
        if t.odd_pay and rng.random() < 0.5:
            return number((Decimal(rng.randint(lo * 12, hi * 12)) / 12).quantize(Decimal("0.01")))
        if rng.random() < 0.1:
            return number(Decimal(rng.randint(lo * 100, hi * 100)) / 100)
        return rng.randint(lo // 10, hi // 10) * 10

    def months(self, role: str) -> int:
        share = 0.03 if role == "书记" else 0.08
        return self.rng.randint(6, 11) if self.rng.random() < share else 12

    def score_star(self, t: Township, b: Branch, star: str, base: Decimal, step: Decimal, reviewed: bool) -> None:
        rng = self.rng
        items = self.units[star]["items"]
        maxes = [Decimal(str(item["max"])) for item in items]
        final = split_base(rng, base, maxes, step)
        for item, top, value in zip(items, maxes, final):
            key = f"{star}.{item['id']}"
            if not reviewed:
                b.scores[f"{key}.self"] = number(value)
                continue
            lift = rng.choices([-1, 0, 1, 2, 3], [6, 40, 30, 16, 8 if t.strict else 2])[0]
            if t.strict and rng.random() < 0.3:
                lift += 2
            b.scores[f"{key}.self"] = number(min(top, max(Decimal(0), value + lift * step)))
            b.scores[f"{key}.review"] = number(value)

    def event(self, t: Township, b: Branch, star: str, effect: str, points: Decimal) -> dict[str, Any]:
        rng = self.rng
        when = dt.date(PERIOD, rng.randint(1, 11), rng.randint(1, 28))
        return {"branch_code": b.code, "event_kind": f"{STAR_NAMES[star]}{'加分' if effect == 'bonus' else '扣分'}",
                "points": number(points), "date": f"{when.year}年{when.month}月{when.day}日" if t.text_dates else when,
                "note": rng.choice(EVENT_NOTES[(star, effect)])}

    def veto(self, t: Township, b: Branch, star: str) -> dict[str, Any]:
        rng = self.rng
        name = rng.choice([n for n, (unit, _) in VETO_NOTES.items() if unit == star])
        when = dt.date(PERIOD, rng.randint(1, 11), rng.randint(1, 28))
        return {"branch_code": b.code, "veto": name, "note": VETO_NOTES[name][1],
                "date": f"{when.year}年{when.month}月{when.day}日" if t.text_dates else when}

    def fund(self, branches: list[Branch]) -> None:
        """Collective income: enough for the star rewards, except for about one 3+ star village in eight."""
        rng = self.rng
        for b in branches:
            reward = star_reward(b)
            band = rng.choices([(8_000, 40_000), (40_000, 150_000), (150_000, 600_000), (600_000, 2_000_000)],
                               [20, 45, 30, 5])[0]
            income = Decimal(rng.randint(*band))
            if reward:
                b.underfunded = rng.random() < 0.12
                income = reward * Decimal(str(rng.uniform(0.3, 0.9) if b.underfunded else rng.uniform(1.3, 5)))
                income = income.quantize(Decimal(10))
            if rng.random() < 0.3:
                income += Decimal(rng.randint(1, 99)) / 100
            b.info["collective_income"] = number(income)


def star_reward(b: Branch) -> Decimal:
    """Yearly star reward the village pays its cadres at 3+ stars (every star counts): 0 below 3 stars."""
    if b.target < 3:
        return Decimal(0)
    per_month = {True: SECRETARY_REWARD, False: OTHER_REWARD}
    return sum((Decimal(b.target * per_month[c["role"] == "书记"] * c["months"]) for c in b.cadres), Decimal(0))


def check_design(b: Branch, rulebook: Rulebook) -> None:
    """Compute the rating back from the rows (review else self, per item) and insist it is the design."""
    earned = earned_stars(b, rulebook)
    if rating_of(earned) != b.target:
        raise AssertionError(f"{b.code}: designed {b.target} stars, rows give {earned} ({b.reasons})")


def earned_stars(b: Branch, rulebook: Rulebook) -> list[str]:
    vetoed = {VETO_NOTES[v["veto"]][0] for v in b.vetoes}
    if b.info["secretary_is_head"] == "否":
        vetoed.add("party_building")
    earned = []
    for unit in rulebook.units:
        base = sum((Decimal(str(b.scores.get(f"{unit['id']}.{i['id']}.review", b.scores.get(f"{unit['id']}.{i['id']}.self"))))
                    for i in unit["items"]), Decimal(0))
        total = base
        for e in b.events:
            if e["event_kind"].startswith(STAR_NAMES[unit["id"]]):
                total += Decimal(str(e["points"])) * (1 if e["event_kind"].endswith("加分") else -1)
        if base >= 75 and total >= 85 and unit["id"] not in vetoed:
            earned.append(unit["id"])
    return earned


# --- the county ----------------------------------------------------------------------------------

def build_county(rulebook: Rulebook) -> list[TownshipData]:
    builder = CountyBuilder(rulebook, random.Random(SEED))
    county = [builder.township(t) for t in TOWNSHIPS]
    gap_case(county[1])
    check_variety([b for d in county for b in d.branches])
    return county


def check_variety(branches: list[Branch]) -> None:
    """Stop when a change to the generator leaves the county without the cases it exists to show."""
    reasons = [r for b in branches for r in b.reasons.values()]
    found = {f"{n}-star branches": sum(b.target == n for b in branches) for n in range(6)}
    found |= {"vetoes": reasons.count(VETOED), "secretaries not village head": reasons.count(NOT_ONE_SHOULDER),
              "stars lost to a deduction": reasons.count(DEDUCTED), "stars lifted by a bonus": reasons.count(LIFTED),
              "capped at 2 stars": sum(b.target == 2 and b.reasons["party_building"] not in (EARN, LIFTED)
                                       and sum(r in (EARN, LIFTED) for r in b.reasons.values()) > 2 for b in branches),
              "rewards above income": sum(b.underfunded for b in branches),
              "branches not reviewed": sum(not any(k.endswith(".review") for k in b.scores) for b in branches)}
    few = {what: n for what, n in found.items() if n < 5}
    if few:
        raise AssertionError(f"the county lacks variety: {few}")


def gap_case(data: TownshipData) -> None:
    """One self-assessment far above the township's review (a 10+ point gap warns, SCO_001)."""
    for b in data.branches:
        review = b.scores.get("industry.collective_income.review")
        if review is not None and review <= 23:
            b.scores["industry.collective_income.self"] = review + 12
            return


def write_inbox(county: list[TownshipData], rulebook: Rulebook, folder: Path) -> list[Path]:
    return [fill_template(rulebook, folder / d.file_name, {"township": d.township.name, "period": PERIOD}, d.rows())
            for d in county]


def intended_ratings(county: list[TownshipData], rulebook: Rulebook) -> dict[str, Any]:
    """The ratings the samples were designed for, under R1's default reading, per township file."""
    out: dict[str, Any] = {}
    for d in county:
        out[d.file_name] = [{
            "branch_code": b.code, "rating": b.target, "stars": [STAR_NAMES[s] for s in earned_stars(b, rulebook)],
            "why_not": {STAR_NAMES[s]: why_not(b, s) for s, r in b.reasons.items() if r not in (EARN, LIFTED)},
            "yearly_star_reward": str(star_reward(b)), "collective_income": str(b.info["collective_income"]),
            "reward_exceeds_income": b.underfunded,
        } for b in d.branches]
    return out


def why_not(b: Branch, star: str) -> str:
    reason = b.reasons[star]
    if reason == VETOED:
        return f"veto: {next(v['veto'] for v in b.vetoes if VETO_NOTES[v['veto']][0] == star)}"
    return "veto: 未实现书记、主任“一肩挑”" if reason == NOT_ONE_SHOULDER else reason


# --- the broken submissions ----------------------------------------------------------------------

BASE_TOWNSHIP = Township(99, "小河乡", "XH", 4)
BASE_PLANS = [  # 3, 2, 1 and 4 stars; events in the first two branches, no veto anywhere
    (dict(zip(STARS, [EARN, EARN, LOW, SHORT, LIFTED])), ["书记", "副书记", "委员", "委员", "委员"]),
    (dict(zip(STARS, [LOW, LIFTED, EARN, DEDUCTED, LOW])), ["书记", "村委会副主任", "委员", "委员", "委员"]),
    (dict(zip(STARS, [SHORT, LOW, EARN, LOW, LOW])), ["书记", "村委会副主任", "委员", "委员", "其他"]),
    (dict(zip(STARS, [EARN, EARN, EARN, LOW, EARN])), ["书记", "副书记", "委员", "委员", "委员", "其他"]),
]


def base_township(rulebook: Rulebook) -> TownshipData:
    """A small valid township (4 branches, no vetoes) every broken file is a copy of."""
    return CountyBuilder(rulebook, random.Random(SEED)).township(BASE_TOWNSHIP, BASE_PLANS)


def write_base(rulebook: Rulebook, path: Path) -> Path:
    data = base_township(rulebook)
    return fill_template(rulebook, path, {"township": data.township.name, "period": PERIOD}, data.rows())


Edit = Callable[[Any], None]


@dataclass(frozen=True)
class Broken:
    file: str
    what: str
    expected: list[tuple[str, str, str]]  # (code, sheet, cell) of every ERROR it must produce
    edit: Edit | None = None              # an edit of the base workbook with openpyxl
    raw: bytes | None = None              # or the file's bytes, for files that are no workbook


def _set(sheet: str, cell: str, value: Any) -> Edit:
    return _set_cells(sheet, {cell: value})


def _set_cells(sheet: str, values: dict[str, Any]) -> Edit:
    def edit(wb: Any) -> None:
        for cell, value in values.items():
            wb[sheet][cell] = value
    return edit


def _copy_row(sheet: str, source: int, target: int, changes: dict[str, Any] | None = None) -> Edit:
    def edit(wb: Any) -> None:
        ws = wb[sheet]
        for col in range(1, ws.max_column + 1):
            ws.cell(row=target, column=col, value=ws.cell(row=source, column=col).value)
        _set_cells(sheet, changes or {})(wb)
    return edit


def _clear_row(sheet: str, row: int) -> Edit:
    def edit(wb: Any) -> None:
        ws = wb[sheet]
        for col in range(1, ws.max_column + 1):
            ws.cell(row=row, column=col).value = None
    return edit


def _rename_sheet(old: str, new: str) -> Edit:
    def edit(wb: Any) -> None:
        wb[old].title = new
    return edit


# The base file's layout: 支部信息 and 评分 rows 2-5 are MC-XH-001..004; 村干部 rows 2-6 are MC-XH-001's
# cadres (row 2 its 书记), rows 7-11 MC-XH-002's (row 7 its 书记, none of rows 8-11 one); 否决事项 is
# empty; 加扣分事项 row 2 is an event. _check_base_layout() insists on this before any file is broken.
BROKEN = [
    Broken("FILE_001-text-not-workbook.xlsx", "a text file saved under an .xlsx name",
           [("FILE_001", "", "")], raw="明川县小河乡五星支部创建材料，见附件。\n".encode("utf-8")),
    Broken("FILE_002-empty-file.xlsx", "an empty file (0 bytes)", [("FILE_002", "", "")], raw=b""),
    Broken("TPL_002-unknown-template-id.xlsx", "模板编号 changed to an id no rulebook has",
           [("TPL_002", "填报说明", "B3")], _set("填报说明", "B3", "R1-五星支部-2025")),
    Broken("TPL_003-old-template-version.xlsx", "模板版本 is last year's 2025.1",
           [("TPL_003", "填报说明", "B4")], _set("填报说明", "B4", "2025.1")),
    Broken("TPL_004-sheet-renamed.xlsx", "sheet 加扣分事项 renamed to 加扣分事项表",
           [("TPL_004", "加扣分事项", "")], _rename_sheet("加扣分事项", "加扣分事项表")),
    Broken("TPL_005-header-renamed.xlsx", "required header 否决事项 (in the empty 否决事项 sheet) renamed to 否决情形",
           [("TPL_005", "否决事项", "A1")], _set("否决事项", "B1", "否决情形")),
    Broken("TPL_007-duplicate-column.xlsx", "a second 姓名 column added at 村干部 F1",
           [("TPL_007", "村干部", "F1")], _set("村干部", "F1", "姓名")),
    Broken("TPL_009-bad-period.xlsx", "评定年度 written as 26", [("TPL_009", "填报说明", "B6")],
           _set("填报说明", "B6", 26)),
    Broken("REF_001-unknown-branch-in-scores.xlsx", "评分 row 6 added for MC-XH-005, not in 支部信息",
           [("REF_001", "评分", "A6")], _copy_row("评分", 5, 6, {"A6": "MC-XH-005", "B6": "新庄村党支部"})),
    Broken("REF_002-duplicate-branch-code.xlsx", "支部信息 row 5 pasted again as row 6 (MC-XH-004 twice)",
           [("REF_002", "支部信息", "B6")], _copy_row("支部信息", 5, 6)),
    Broken("REF_003-other-township.xlsx", "支部信息 A3 says 小河镇, 填报乡镇 says 小河乡",
           [("REF_003", "支部信息", "A3")], _set("支部信息", "A3", "小河镇")),
    Broken("REF_004-no-secretary.xlsx", "MC-XH-002's 书记 (村干部 C7) entered as 副书记",
           [("REF_004", "支部信息", "B3")], _set("村干部", "C7", "副书记")),
    Broken("REF_005-two-secretaries.xlsx", "MC-XH-002's 村委会副主任 (村干部 C8) entered as 书记",
           [("REF_005", "村干部", "C8")], _set("村干部", "C8", "书记")),
    Broken("REF_009-duplicate-score-row.xlsx", "评分 row 2 (MC-XH-001) pasted again as row 6",
           [("REF_009", "评分", "A6")], _copy_row("评分", 2, 6)),
    Broken("REF_011-no-township.xlsx", "填报乡镇 left empty", [("REF_011", "填报说明", "B5")],
           _set("填报说明", "B5", None)),
    Broken("REF_012-no-score-row.xlsx", "评分 row 5 (MC-XH-004) deleted",
           [("REF_012", "支部信息", "B5")], _clear_row("评分", 5)),
    Broken("REF_013-event-without-points.xlsx", "加扣分事项 D2 (分值) left empty",
           [("REF_013", "加扣分事项", "D2")], _set("加扣分事项", "D2", None)),
    Broken("REF_014-item-not-scored.xlsx", "评分 C4 and D4 (书记能力 自评 and 乡镇评审) both empty",
           [("REF_014", "评分", "C4")], _set_cells("评分", {"C4": None, "D4": None})),
    Broken("VAL_001-required-cell-empty.xlsx", "村干部 B9 (姓名) left empty", [("VAL_001", "村干部", "B9")],
           _set("村干部", "B9", None)),
    Broken("VAL_002-text-in-number.xlsx", "支部信息 J3 (村集体经济收入) written as 约12万",
           [("VAL_002", "支部信息", "J3")], _set("支部信息", "J3", "约12万")),
    Broken("VAL_003-months-not-whole.xlsx", "村干部 E4 (在岗月数) is 11.5", [("VAL_003", "村干部", "E4")],
           _set("村干部", "E4", 11.5)),
    Broken("VAL_004-negative-score.xlsx", "评分 H2 (党员队伍管理 乡镇评审) is -2",
           [("VAL_004", "评分", "H2")], _set("评分", "H2", -2)),
    Broken("VAL_005-score-above-max.xlsx", "评分 C3 (书记能力 自评, max 20) is 22",
           [("VAL_005", "评分", "C3")], _set("评分", "C3", 22)),
    Broken("VAL_005-months-13.xlsx", "村干部 E5 (在岗月数) is 13", [("VAL_005", "村干部", "E5")],
           _set("村干部", "E5", 13)),
    Broken("VAL_006-role-not-in-list.xlsx", "村干部 C10 (职务) is 会计", [("VAL_006", "村干部", "C10")],
           _set("村干部", "C10", "会计")),
    Broken("VAL_007-impossible-date.xlsx", "支部信息 H4 (上次换届日期) is 2026-02-30",
           [("VAL_007", "支部信息", "H4")], _set("支部信息", "H4", "2026-02-30")),
    Broken("VAL_008-pay-three-decimals.xlsx", "村干部 D3 (月报酬) is 2345.678", [("VAL_008", "村干部", "D3")],
           _set("村干部", "D3", 2345.678)),
    Broken("VAL_009-formula.xlsx", "评分 D2 (书记能力 乡镇评审) is the formula =12+5",
           [("VAL_009", "评分", "D2")], _set("评分", "D2", "=12+5")),
]


def _check_base_layout(wb: Any) -> None:
    cadres, branches = wb["村干部"], wb["支部信息"]
    facts = [branches[f"B{r}"].value == f"MC-XH-00{r - 1}" for r in range(2, 6)]
    facts += [cadres[f"A{r}"].value == ("MC-XH-001" if r < 7 else "MC-XH-002") for r in range(2, 12)]
    facts += [cadres["C2"].value == "书记", cadres["C7"].value == "书记", cadres["A12"].value != "MC-XH-002"]
    facts += [cadres[f"C{r}"].value != "书记" for r in range(8, 12)]
    facts += [branches[f"G{r}"].value == "是" for r in range(2, 6)]
    facts += [wb["否决事项"]["A2"].value is None, wb["加扣分事项"]["A2"].value is not None]
    if not all(facts):
        raise AssertionError("the base township's layout changed; update BROKEN and samples/README.md")


def write_broken(rulebook: Rulebook, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        base = write_base(rulebook, Path(tmp) / "base.xlsx")
        _check_base_layout(openpyxl.load_workbook(base))
        for b in BROKEN:
            path = folder / b.file
            if b.raw is not None:
                path.write_bytes(b.raw)
            else:
                wb = openpyxl.load_workbook(base)
                b.edit(wb)
                save_deterministic(wb, path)
            written.append(path)
    expected = {b.file: [{"code": c, "sheet": s, "cell": cell} for c, s, cell in b.expected] for b in BROKEN}
    written.append(write_json(folder / "expected.json", expected))
    return written


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


# --- main ----------------------------------------------------------------------------------------

def generate(out: Path) -> list[Path]:
    rulebook = load_rulebook("R1")
    county = build_county(rulebook)
    written = write_inbox(county, rulebook, out / "inbox")
    written.append(write_json(out / "intended-ratings.json", intended_ratings(county, rulebook)))
    written += write_broken(rulebook, out / "broken")
    return written


def summary(out: Path) -> str:
    ratings = json.loads((out / "intended-ratings.json").read_text(encoding="utf-8"))
    rows = [r for township in ratings.values() for r in township]
    spread = {n: sum(1 for r in rows if r["rating"] == n) for n in range(6)}
    capped = sum(1 for r in rows if r["rating"] == 2 and len(r["stars"]) > 2)
    short = sum(1 for r in rows if r["reward_exceeds_income"])
    return (f"{len(ratings)} townships, {len(rows)} branches; ratings {spread}; "
            f"{capped} capped at 2 for lack of 基层党建星; {short} with rewards above collective income")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="folder to write into")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path)
    print(summary(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
