"""The default satisfaction questionnaire, seeded by the first migration (code ``lsq-core``, v1).

It follows the LibQUAL+ design (three dimensions, each item rated as the minimum acceptable, the
desired and the perceived level of service on 1-9) but the wording is our own, written for a
Chinese public library network, plus general-satisfaction items, NPS, the user group and comments.

Version 1 is what the first migration seeds: do not edit it in place. A revised questionnaire is a
new version (``POST /instruments`` with code ``lsq-core``, or a new migration that inserts it).
"""
from __future__ import annotations

CODE = "lsq-core"
TITLE_ZH = "读者满意度调查（标准问卷）"
TITLE_EN = "Reader satisfaction survey (standard questionnaire)"

_TRIADS = {
    "affect": [
        ("AF1", "馆员待人礼貌、态度亲切", "Staff are polite and friendly"),
        ("AF2", "馆员关注每位读者的具体需要", "Staff pay attention to each reader's own needs"),
        ("AF3", "馆员主动、乐意提供帮助", "Staff are ready and willing to help"),
        ("AF4", "馆员能听懂读者真正想要什么", "Staff grasp what a reader is really asking for"),
        ("AF5", "馆员有足够的专业知识解答问题", "Staff know enough to answer my questions"),
        ("AF6", "馆员的答复让人放心", "Staff give answers I can rely on"),
        ("AF7", "遇到问题时馆员能妥善解决", "Staff sort out problems properly when they arise"),
        ("AF8", "馆员回应迅速，不让读者久等", "Staff respond quickly and do not keep readers waiting"),
        ("AF9", "馆员尊重读者、真诚相待", "Staff treat readers with respect and sincerity"),
    ],
    "information_control": [
        ("IC1", "在馆外也能方便地使用数字资源", "I can use the digital resources from outside the library"),
        ("IC2", "图书馆网站和公众号便于我自己查找信息", "The website and WeChat account let me find things by myself"),
        ("IC3", "纸质藏书能满足我的需要", "The printed collection has what I need"),
        ("IC4", "电子书刊和数据库能满足我的需要", "The e-books, e-journals and databases have what I need"),
        ("IC5", "自助借还、检索终端等设备好用", "Self-service and search terminals work well"),
        ("IC6", "检索系统简单易用", "The catalogue and search tools are simple to use"),
        ("IC7", "我能独立获取所需信息", "I can get the information I need on my own"),
        ("IC8", "报刊（纸本和电子）能满足我的需要", "Newspapers and periodicals (print and online) meet my needs"),
    ],
    "place": [
        ("PL1", "馆内环境让人愿意学习和阅读", "The library makes me want to read and study"),
        ("PL2", "有安静的个人阅读空间", "There is quiet space for reading alone"),
        ("PL3", "环境舒适、整洁、令人愉快", "The library is comfortable, clean and pleasant"),
        ("PL4", "是学习、研究或休闲阅读的好去处", "It is a good place to study, research or read for pleasure"),
        ("PL5", "有适合小组交流和活动的空间", "There is space for groups to meet and work together"),
    ],
}

_USER_GROUPS = [
    ("student", "学生", "Student"),
    ("working_adult", "在职人员", "Working adult"),
    ("senior", "老年读者", "Senior reader"),
    ("parent_child", "家长及少儿读者", "Parent or child reader"),
    ("researcher", "教师或研究人员", "Teacher or researcher"),
    ("other", "其他", "Other"),
]

_VISITS = [
    ("daily", "几乎每天", "Almost every day"),
    ("weekly", "每周", "Every week"),
    ("monthly", "每月", "Every month"),
    ("rarely", "很少", "Rarely"),
]


def _options(pairs):
    return [{"value": v, "label_zh": zh, "label_en": en} for v, zh, en in pairs]


def items() -> list[dict]:
    """The items of the default questionnaire, in order."""
    result = [{"code": "UG", "type": "choice", "required": True, "user_group": True, "dimension": None,
               "text_zh": "您属于哪一类读者？", "text_en": "Which kind of reader are you?",
               "options": _options(_USER_GROUPS)}]
    for dimension, triads in _TRIADS.items():
        for code, zh, en in triads:
            result.append({"code": code, "type": "triad", "dimension": dimension, "required": False,
                           "user_group": False, "text_zh": zh, "text_en": en, "options": []})
    result += [
        {"code": "GS1", "type": "likert", "dimension": "general", "required": False, "user_group": False,
         "text_zh": "总体而言，我对馆员的服务感到满意", "text_en": "Overall I am satisfied with how staff serve me",
         "options": []},
        {"code": "GS2", "type": "likert", "dimension": "general", "required": False, "user_group": False,
         "text_zh": "图书馆很好地支持了我的学习、工作或阅读",
         "text_en": "The library supports my learning, work or reading well", "options": []},
        {"code": "GS3", "type": "likert", "dimension": "general", "required": True, "user_group": False,
         "text_zh": "我对图书馆的整体服务质量感到满意", "text_en": "Overall I am satisfied with the quality of service",
         "options": []},
        {"code": "NPS", "type": "nps", "dimension": "general", "required": False, "user_group": False,
         "text_zh": "您有多大可能向亲友推荐本馆？（0-10）",
         "text_en": "How likely are you to recommend this library to friends or family? (0-10)", "options": []},
        {"code": "VISIT", "type": "choice", "dimension": None, "required": False, "user_group": False,
         "text_zh": "您多久来一次图书馆？", "text_en": "How often do you come to the library?",
         "options": _options(_VISITS)},
        {"code": "COMMENT", "type": "text", "dimension": None, "required": False, "user_group": False,
         "text_zh": "其他意见和建议（请勿填写个人信息）",
         "text_en": "Other comments and suggestions (please leave out personal details)", "options": []},
    ]
    return result
