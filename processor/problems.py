"""Problems are values: every stage returns them, none raises them past itself.

The catalogue below is the single list of codes. Each code has a severity and a
Chinese message template that names what is wrong and what to do; the place
(file, sheet, cell, field) travels in the record, not in the prose.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .cells import split_a1

ERROR = "error"
WARNING = "warning"
INFO = "info"

# code: (severity, message template). Templates use str.format with the keyword
# arguments given to `problem()`; {value} is always available.
CATALOGUE: dict[str, tuple[str, str]] = {
    # --- files (FILE_) -------------------------------------------------------
    "FILE_001": (ERROR, "无法读取该文件：不是 Excel 工作簿（{detail}）。请用模板另存为 .xlsx 后重新报送。"),
    "FILE_002": (ERROR, "文件为空或已损坏（{detail}）。请重新保存后报送。"),
    "FILE_003": (ERROR, "工作簿设置了打开密码，无法读取。请取消密码（文件→信息→保护工作簿）后重新报送。"),
    "FILE_004": (WARNING, "这是旧版 .xls 文件，已按内容读取。建议另存为 .xlsx 后报送。"),
    "FILE_005": (WARNING, "这是含宏的 .xlsm 文件：宏不会被运行，只读取单元格内容。请另存为 .xlsx 后报送。"),
    "FILE_006": (ERROR, "文件类型 {detail} 不受支持。请用模板填写并保存为 .xlsx。"),
    "FILE_007": (ERROR, "文件超过大小限制（{detail}）。请删除无关内容后重新报送。"),
    "FILE_008": (ERROR, "找不到该文件。请检查文件名和路径。"),
    "FILE_009": (ERROR, "文件含有不允许的 XML 声明（DOCTYPE/ENTITY，位于 {detail}），可能是恶意文件，未读取。请用模板重新填写后报送。"),
    "FILE_010": (ERROR, "工作表过大：{detail}。请删除多余的行列（或把内容复制到新的模板中）后重新报送。"),
    "FILE_011": (ERROR, "工作簿的工作表过多（{detail}）。请使用模板，不要添加工作表。"),
    "FILE_012": (ERROR, "文件无法安全读取：{detail}。请用模板重新填写后报送，或与县委组织部联系。"),
    # --- mail and archives (MAIL_) -------------------------------------------
    "MAIL_001": (ERROR, "邮件无法解析（{detail}）。请重新发送邮件，把填好的工作簿作为附件。"),
    "MAIL_002": (ERROR, "邮件中没有 Excel 工作簿附件（附件：{detail}）。请把填好的模板作为附件重新发送。"),
    "MAIL_003": (ERROR, "压缩包中没有 Excel 工作簿（内容：{detail}）。请直接发送填好的 .xlsx 文件。"),
    "MAIL_004": (ERROR, "邮件或压缩包中的工作簿过多（{detail}），只处理了前 {limit} 个。请每次只发送本乡镇的工作簿，其余的请分开重新发送。"),
    # --- accounting (RUN_) -----------------------------------------------------
    "RUN_001": (WARNING, "本乡镇有更新的报送（{detail}），本文件已被替代，未使用。"),
    "RUN_002": (WARNING, "与 {detail} 内容完全相同，按重复报送处理，未重复计算。"),
    "RUN_003": (ERROR, "本年度应报送的乡镇“{value}”尚未报送。"),
    "RUN_004": (WARNING, "公示日期无法计算：{detail}"),
    "RUN_005": (WARNING, "本文件比已采用的“{value}”少了{detail}，暂未采用，仍按“{value}”计算。如确需删减，请说明原因并联系县委组织部确认；否则请补全后重新报送。"),
    "RUN_006": (WARNING, "另有 {value} 处同类问题（{code_shown}，位于{detail}）未逐条列出。请按上面列出的同类问题逐一检查修改。"),
    # --- template (TPL_) -----------------------------------------------------
    "TPL_001": (ERROR, "找不到模板编号：“填报说明”工作表中没有“模板编号”。请使用县委组织部下发的模板填报。"),
    "TPL_002": (ERROR, "模板编号“{value}”未知。请使用县委组织部下发的最新模板填报。"),
    "TPL_003": (ERROR, "模板版本“{value}”已不再使用（当前版本 {expected}）。请下载最新模板，把数据复制过去后重新报送。"),
    "TPL_004": (ERROR, "缺少工作表“{sheet}”。{hint}请不要删除或重命名模板中的工作表。"),
    "TPL_005": (ERROR, "工作表“{sheet}”缺少列“{field}”。{hint}请恢复模板中的列标题。"),
    "TPL_006": (WARNING, "列“{value}”不是模板中的列，已忽略。如需填写请使用模板中的列。"),
    "TPL_007": (ERROR, "列“{field}”出现了两次（{detail}）。请删除重复的列。"),
    "TPL_008": (ERROR, "工作表“{sheet}”中找不到标题行。请不要删除模板的标题行。"),
    "TPL_009": (ERROR, "“填报说明”中的评定年度“{value}”无效。请填写四位年份，如 2026。"),
    "TPL_010": (WARNING, "工作表“{sheet}”有 {detail} 行，超过上限，超出部分未读取。"),
    "TPL_011": (ERROR, "评定年度 {value} 与本次汇总的年度 {expected} 不符。请使用本年度模板重新填报。"),
    "TPL_012": (WARNING, "工作表“{sheet}”被隐藏，其中 {value} 行数据已读取并计入。请取消隐藏（右键工作表标签→取消隐藏）后核对。"),
    "TPL_013": (ERROR, "这不是县委组织部下发的报送模板（文件中的工作表：{value}）。请向县委组织部索取本年度的报送模板，在模板中填写后重新报送。"),
    # --- cells (VAL_) --------------------------------------------------------
    "VAL_001": (ERROR, "“{field}”必须填写。"),
    "VAL_002": (ERROR, "“{field}”应为数字，实际为“{value}”。请只填写数字。"),
    "VAL_003": (ERROR, "“{field}”应为整数，实际为“{value}”。"),
    "VAL_004": (ERROR, "“{field}”为 {value}，低于最小值 {limit}。"),
    "VAL_005": (ERROR, "“{field}”为 {value}，超过最大值 {limit}。"),
    "VAL_006": (ERROR, "“{field}”的值“{value}”不在可选项中。请从下拉列表中选择：{limit}。"),
    "VAL_007": (ERROR, "“{field}”应为日期，实际为“{value}”。请按 2026-03-01 的格式填写。"),
    "VAL_008": (ERROR, "“{field}”的值“{value}”格式不正确：{limit}。"),
    "VAL_009": (ERROR, "“{field}”是公式。请复制后“选择性粘贴→数值”，不要使用公式。"),
    "VAL_010": (ERROR, "“{field}”的值“{value}”不符合要求：{detail}"),
    "VAL_011": (ERROR, "“{field}”为 {value}，得分只能是 0 或满分 {limit}（达成得分，不达成不得分）。"),
    "VAL_012": (ERROR, "“{field}”内容过长（{value}，上限 {limit}）。请只填写要求的内容。"),
    "VAL_013": (WARNING, "第 {value} 行是隐藏行，其中的数据已读取并计入。请取消隐藏后核对这一行。"),
    "VAL_014": (WARNING, "列“{field}”是隐藏列，其中 {value} 个数据已读取并计入。请取消隐藏后核对。"),
    "VAL_015": (ERROR, "第 {value} 行是“合计/小计”行，不是支部的数据。请删除合计行后重新报送（汇总由县里计算）。"),
    "VAL_016": (ERROR, "单元格 {value} 是合并单元格：合并后只有第一格有值，其余各行读不到。请取消合并，在每一行分别填写。"),
    # --- cross-sheet (REF_) --------------------------------------------------
    "REF_001": (ERROR, "支部编码“{value}”在“支部信息”中不存在。请先在“支部信息”中登记该支部，或改正编码。"),
    "REF_002": (ERROR, "支部编码“{value}”重复（另见 {detail}）。每个支部只能登记一次。"),
    "REF_003": (ERROR, "乡镇“{value}”与“填报说明”中的填报乡镇“{expected}”不一致。一个文件只报一个乡镇。"),
    "REF_004": (ERROR, "支部“{value}”没有登记书记（职务为“书记”的村干部）。每个支部必须有且只有一名书记。"),
    "REF_005": (ERROR, "支部“{value}”的书记任职月份重叠（另见 {detail}）。同一月份只能有一名书记；年中更换书记的，请在每名书记的行中填写起始月和截止月。"),
    "REF_006": (ERROR, "赞成票 {value} 多于参加人数 {limit}。请核对测评票数。"),
    "REF_007": (ERROR, "参加人数 {value} 多于应参加人数 {limit}。请核对测评人数。"),
    "REF_008": (WARNING, "支部“{value}”在“{sheet}”中没有任何记录。如确无数据可忽略。"),
    "REF_009": (ERROR, "支部“{value}”的“{field}”重复登记（另见 {detail}）。"),
    "REF_010": (WARNING, "参会率 {value}% 低于 {limit}%（{detail}）。"),
    "REF_011": (ERROR, "“填报说明”中没有填写填报乡镇。请在“填报乡镇”右侧填写乡镇名称。"),
    "REF_012": (ERROR, "支部“{value}”在“评分”表中没有评分行。请为每个支部填写一行评分。"),
    "REF_013": (ERROR, "事项“{value}”需要填写“{field}”。{detail}"),
    "REF_014": (ERROR, "“{field}”的自评分和乡镇评审分都没有填写。请至少填写一项。"),
    "REF_015": (ERROR, "起始月 {value} 晚于截止月 {limit}。请核对任职月份。"),
    "REF_016": (ERROR, "在岗月数 {value} 多于起始月至截止月之间的 {limit} 个月。请核对在岗月数或任职月份。"),
    "REF_017": (ERROR, "“{value}”在本支部登记了多行，任职月份重叠（另见 {detail}）。一人先后担任两个职务的，请在每行填写起始月和截止月。"),
    "REF_018": (ERROR, "“让贤保留月报酬”只适用于让贤后担任其他“两委”职务的干部，不能填在职务为“书记”的行。"),
    "REF_019": (ERROR, "文件中没有任何支部：“支部信息”表是空的。请逐行填写本乡镇的每个支部后重新报送。"),
    "REF_020": (ERROR, "支部“{value}”没有{field}的民主测评记录。本办法按满意率扣分或定级，请在“民主测评”中填写后重新报送。"),
    "REF_021": (ERROR, "评议委员会为 {value} 人，不在规定的 {limit} 人之内。请核对评议委员会组成。"),
    "REF_022": (WARNING, "评议委员会为 {value} 人，一般应为 {limit} 人。请核实评议委员会组成。"),
    # --- scoring (SCO_) ------------------------------------------------------
    "SCO_001": (WARNING, "“{field}”自评分 {value} 与乡镇评审分 {limit} 相差超过 {detail} 分，请核实。"),
    "SCO_002": (WARNING, "支部“{branch}”未填写“{field}”，无法参加“{detail}”的倒数排名，按未排名处理。请补填后重新报送。"),
    "SCO_003": (WARNING, "{field}：{value} 个，占 {expected}%，低于指导比例 {limit}%。请县级评审复核。"),
    "SCO_004": (WARNING, "“五个一”落实情况：{detail}"),
    "SCO_005": (WARNING, "“双十星”党员评定：{detail}"),
    "SCO_006": (WARNING, "星级名额：{detail}。请县级评审核实名次。"),
    # --- pay (PAY_) ----------------------------------------------------------
    "PAY_001": (WARNING, "支部“{branch}”的村集体经济收入 {value} 元不足以支付应从中列支的 {expected} 元，{detail}。"),
    "PAY_002": (WARNING, "支部“{branch}”未填写村集体经济收入，无法确认能否支付应从中列支的 {expected} 元，按设置足额列出。请乡镇核实资金来源。"),
    "PAY_003": (WARNING, "支部“{value}”获得了按人数计发的“{detail}”，但“{field}”未填写，已按 0 人计算。请补填人数后重新报送。"),
    # --- the county procedure: review, confirmation, complaints (PRO_) -------
    "PRO_001": (ERROR, "“填报说明”中没有填写“{field}”。请在“{field}”右侧填写后重新报送。"),
    "PRO_002": (ERROR, "支部“{value}”：“{field}”必须填写（已填写结论或核查结论的行）。"),
    "PRO_003": (ERROR, "支部“{value}”的结论为“调整”，但没有填写任何县级评审分或否决事项。请填写评审分，或把结论改为“维持”。"),
    "PRO_004": (ERROR, "已填写县委确定日期，但支部“{value}”还没有评审结论。县委只能确定评审完毕的名单：请补填结论，或先清空县委确定日期。"),
    "PRO_005": (ERROR, "支部“{value}”不在本年度县级评审名单中。请删除该行，或使用本次生成的最新县级评审表。"),
    "PRO_006": (ERROR, "已填写县委确定日期，但评审名单中的支部“{value}”（{detail}）不在本表中。请使用最新的县级评审表，补齐该支部的评审结论。"),
    "PRO_007": (ERROR, "支部“{value}”不在本年度的评定结果中。请按评定结果汇总“支部评定”核对支部编码。"),
    # --- normalisation notes (NRM_) -------------------------------------------
    "NRM_001": (INFO, "“{field}”已由“{value}”规范为“{detail}”。"),
}


@dataclass(frozen=True, order=True, slots=True)
class Problem:
    """One thing wrong with one place of one submission."""

    file: str
    sheet: str
    cell: str
    code: str
    severity: str
    field: str
    value: str
    message: str
    branch: str = ""  # the branch code a problem is about, when it is about one (so nobody parses the message)
    cadre: str = ""   # the cadre's name, when it is about one


    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def problem(code: str, *, file: str = "", sheet: str = "", cell: str = "", field: str = "",
            value: Any = "", branch: str = "", cadre: str = "", **details: Any) -> Problem:
    """Build a Problem from the catalogue; unknown template keys render as empty."""
    severity, template = CATALOGUE[code]
    shown = "" if value is None else str(value)
    words = _Blank(field=field, value=shown, sheet=sheet, branch=branch, cadre=cadre, **details)
    return Problem(file=file, sheet=sheet, cell=cell, code=code, severity=severity,
                   field=field, value=shown, message=template.format_map(words), branch=branch, cadre=cadre)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def has_errors(problems: list[Problem]) -> bool:
    return any(p.severity == ERROR for p in problems)


def count_by_severity(problems: list[Problem]) -> dict[str, int]:
    counts = {ERROR: 0, WARNING: 0, INFO: 0}
    for p in problems:
        counts[p.severity] += 1
    return counts


def sort_key(p: Problem) -> tuple:
    """Order by file, then sheet, then true reading order of the cell (row, column)."""
    row, col = split_a1(p.cell) if p.cell else (0, 0)
    return (p.file, p.sheet, row, col, p.code, p.field)


def cap_problems(problems: list[Problem], per_code: int, total: int) -> list[Problem]:
    """The first PER_CODE problems of each code at their cells (TOTAL at most), then one line per code saying
    how many more there are: a sheet with 100,000 bad cells gets a receipt a clerk can read, not 44 MB."""
    kept: list[Problem] = []
    more: dict[str, list[Problem]] = {}
    seen: dict[str, int] = {}
    for p in problems:
        seen[p.code] = seen.get(p.code, 0) + 1
        if seen[p.code] <= per_code and len(kept) < total:
            kept.append(p)
        else:
            more.setdefault(p.code, []).append(p)
    for code, rest in more.items():
        first = rest[0]
        sheets = "、".join(f"“{s}”" for s in sorted({p.sheet for p in rest if p.sheet}))
        kept.append(problem("RUN_006", file=first.file, sheet=first.sheet, value=len(rest), code_shown=code,
                            detail=sheets or "本文件"))
    return kept


def catalogue_markdown() -> str:
    """The README's table of problem codes (tests/test_readme.py keeps the README in step)."""
    rows = [f"| `{code}` | {severity} | {template} |" for code, (severity, template) in CATALOGUE.items()]
    return "\n".join(["| code | severity | message template |", "|---|---|---|", *rows])
