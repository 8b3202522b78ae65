"""The guide's word tables, English and Chinese, in one place: data only, no logic.

Text is matched after NFKC normalisation and lower-casing. English terms match whole words,
and their plurals too (``-s``/``-es``); Chinese terms match as substrings. Where two terms
overlap, the longer one wins ("stuffed animals" is plush, not animals; 外孙女 is a girl, not
外孙). Interest terms map into the toy taxonomy (``FUNCTIONS`` of ``toyguide.data.taxonomy``).
"""

from __future__ import annotations

__all__ = [
    "ADDITIVE_CUES",
    "AGE_WORDS",
    "AVOID_TERMS",
    "BUDGET_CUES",
    "CHEAPER_CUES",
    "CHILD_NOUNS",
    "CLAUSE_BREAKS",
    "CONTENT_WORDS_ZH",
    "CURRENCY_WORDS",
    "DEARER_CUES",
    "FEATURES",
    "FEATURE_TEXT",
    "GENDER_WORDS",
    "GENERIC_WORDS_EN",
    "INTEREST_TERMS",
    "LABEL_PROTOTYPES",
    "NEGATION_CUES",
    "NEUTRAL_CUES",
    "NOT_INTERESTS",
    "OCCASIONS",
    "OCCASION_WORDS",
    "OLDER_CUES",
    "PENCE_WORDS",
    "POSITIVE_CUES",
    "POST_NEGATION_CUES",
    "PRONOUNS",
    "SLANG_AMOUNTS",
    "STOP_WORDS_EN",
    "STOP_WORDS_ZH",
    "YOUNGER_CUES",
]


def _words(text: str) -> list[str]:
    """Whitespace-separated words: long tables stay readable as running text."""
    return text.split()


OCCASIONS: tuple[str, ...] = (
    "birthday",
    "christmas",
    "children_day",
    "new_year",
    "baby_shower",
    "other",
)

# Taxonomy label -> terms. Deliberately absent: "space", "planets", "tea party", "unicorn" and
# the like, which the embedding fallback (semantic.py) maps instead.
INTEREST_TERMS: dict[str, tuple[str, ...]] = {
    "building": (
        "lego", "duplo", "building blocks", "building set", "blocks", "bricks", "construction",
        "magnetic tiles", "magna-tiles", "magnatiles", "k'nex", "knex", "building", "model kit",
        "积木", "乐高", "拼插", "搭建", "磁力片", "大颗粒",
    ),
    "vehicles": (
        "car", "truck", "train", "train set", "remote control", "remote-control", "rc car", "rc",
        "digger", "excavator", "tractor", "plane", "airplane", "aeroplane", "helicopter", "drone",
        "race track", "hot wheels", "fire engine", "vehicle", "bus", "boat",
        "车", "汽车", "小汽车", "遥控车", "遥控", "火车", "轨道", "飞机", "挖掘机", "工程车",
        "赛车", "无人机", "消防车", "直升机", "船",
    ),
    "dolls": (
        "doll", "dolls house", "doll house", "dollhouse", "barbie", "baby doll", "lol surprise",
        "娃娃", "芭比", "洋娃娃", "娃娃屋", "娃娃家",
    ),
    "action_figures": (
        "action figure", "figurine", "superhero", "super hero", "marvel", "spiderman",
        "spider-man", "batman", "transformers", "ultraman", "avengers",
        "手办", "变形金刚", "奥特曼", "超级英雄", "蜘蛛侠", "人偶",
    ),
    "plush": (
        "plush", "plushie", "stuffed animal", "stuffed toy", "stuffed", "soft toy", "cuddly toy",
        "teddy",
        "teddy bear", "squishmallow",
        "毛绒", "毛绒玩具", "毛绒的", "公仔", "玩偶", "毛绒动物",
    ),
    "arts_crafts": (
        "arts and crafts", "art and craft", "craft", "crafts", "crafting", "drawing", "painting",
        "paint", "colouring", "coloring", "crayon", "marker", "slime", "play-doh", "playdough",
        "play doh", "clay", "beads", "sticker", "art",
        "画画", "绘画", "手工", "彩泥", "橡皮泥", "粘土", "涂色", "画笔", "串珠", "水彩", "美术",
        "涂鸦", "贴纸",
    ),
    "puzzles": (
        "puzzle", "jigsaw", "rubik's cube", "rubiks cube", "rubik", "brain teaser", "magic cube",
        "speed cube",
        "拼图", "魔方", "七巧板", "华容道", "迷宫",
    ),
    "games": (
        "board game", "card game", "game", "chess", "checkers", "uno", "monopoly", "cards",
        "spinning top", "beyblade", "游戏",
        "桌游", "棋", "下棋", "象棋", "围棋", "飞行棋", "跳棋", "卡牌", "扑克", "大富翁",
    ),
    "science_stem": (
        "science", "stem", "steam", "coding", "programming", "robot", "robotics", "microscope",
        "telescope", "chemistry", "experiment", "circuit", "electronics kit", "tech", "astronomy",
        "科学", "实验", "科学实验", "编程", "机器人", "编程机器人", "显微镜", "望远镜", "天文",
        "电路", "科技",
    ),
    "learning": (
        "educational", "education", "learning", "alphabet", "letters", "abc", "numbers",
        "counting", "math", "maths", "reading", "books", "flash cards", "flashcards", "phonics",
        "早教", "识字", "认字", "拼音", "数学", "学习", "点读笔", "英语", "益智", "启蒙", "认知",
        "看书", "绘本", "读书",
    ),
    "pretend_play": (
        "pretend play", "pretend", "play kitchen", "kitchen", "dress up", "dress-up",
        "dressing up", "costume", "role play", "role-play", "doctor kit", "doctor set",
        "tool bench", "cash register", "play food", "puppet", "puppet theatre", "marionette",
        "过家家", "厨房", "角色扮演", "扮演", "医生玩具", "化妆", "收银台", "工具箱",
        "手偶", "木偶", "指偶",
    ),
    "outdoor_active": (
        "outdoor", "outdoors", "outside", "bike", "bicycle", "balance bike", "scooter",
        "trampoline", "football", "soccer", "basketball", "ball", "swing", "sandpit", "sandbox",
        "kite", "sports", "sport", "skateboard", "roller skates", "water gun", "active play",
        "swimming", "swim", "paddling pool", "游泳", "戏水",
        "户外", "运动", "自行车", "滑板车", "平衡车", "足球", "篮球", "风筝", "沙滩", "玩沙",
        "水枪", "蹦床", "跳绳", "滑板", "球",
    ),
    "music": (
        "music", "musical", "instrument", "piano", "keyboard", "drum", "drums", "guitar",
        "xylophone", "singing", "karaoke", "microphone", "ukulele",
        "音乐", "乐器", "钢琴", "电子琴", "鼓", "架子鼓", "吉他", "木琴", "唱歌", "话筒", "跳舞",
        "音乐盒", "八音盒",
    ),
    "baby_sensory": (
        "rattle", "teether", "teething", "sensory", "baby gym", "play mat", "activity gym",
        "soft book", "cloth book", "crib mobile", "activity cube",
        "摇铃", "牙胶", "安抚", "感官", "爬行垫", "健身架", "床铃", "布书", "手抓球",
    ),
    "animals_nature": (
        "dinosaur", "dino", "animal", "nature", "bug", "insect", "horse", "pony", "farm", "zoo",
        "sea creature", "ocean", "shark", "bird", "butterfly", "wildlife",
        "恐龙", "动物", "小动物", "昆虫", "自然", "农场", "海洋", "马", "鲨鱼", "小鸟",
    ),
}  # fmt: skip
# Things a toy has rather than is, which shoppers rule out ("no batteries", "不要电池",
# "nothing noisy"): request words per feature, read only under a negation (``avoid``).
FEATURES: tuple[str, ...] = ("batteries", "noise")
AVOID_TERMS: dict[str, tuple[str, ...]] = {
    "batteries": (
        "battery", "batteries", "battery operated", "battery powered", "electronic",
        "electronics", "electric", "电池", "电动", "电子", "充电",
    ),
    "noise": ("noise", "noisy", "loud", "sound", "sounds", "噪音", "吵", "声音", "发声"),
}  # fmt: skip
# What a product's title, description or category says when it has the feature. Broad on
# purpose: ruling a toy out wrongly costs one pick, letting it through breaks a promise.
FEATURE_TEXT: dict[str, tuple[str, ...]] = {
    "batteries": (
        "battery", "batteries", "battery operated", "battery-operated", "battery powered",
        "rechargeable", "electronic", "electronics", "electric", "remote control",
        "remote controlled", "remote-controlled", "rc", "usb", "aa", "aaa", "light up",
        "light-up", "lights and sounds", "motorised", "motorized", "robot", "app controlled",
    ),
    "noise": (
        "sound", "sounds", "noise", "noisy", "musical", "music", "talking", "singing",
        "electronic", "whistle", "drum", "horn", "siren", "squeaky", "karaoke",
    ),
}  # fmt: skip

# Words that contain an interest term but are not one (马上 is "at once", 鼓励 "encourage");
# the matcher sees them as longer terms that map to nothing.
NOT_INTERESTS: tuple[str, ...] = ("马上", "马虎", "鼓励", "地球人")

# Child nouns and relatives -> gender. The giver's own relatives (grandma, aunt) are not here.
GENDER_WORDS: dict[str, str] = {
    **dict.fromkeys(
        _words(
            "boy son grandson nephew godson stepson brother great-nephew grandnephew 男孩 男孩子 "
            "男生 男宝 男宝宝 小男孩 儿子 孙子 外孙 侄子 外甥 弟弟 哥哥 男娃 男娃娃 小子"
        ),
        "boy",
    ),
    **dict.fromkeys(
        _words(
            "girl daughter granddaughter niece goddaughter stepdaughter sister great-niece "
            "grandniece 女孩 女孩子 女生 女宝 女宝宝 小女孩 女儿 闺女 孙女 外孙女 侄女 外甥女 妹妹 "
            "姐姐 女娃 女娃娃"
        ),
        "girl",
    ),
}
# Pronouns only decide when no noun does ("she's 6 and loves...").
PRONOUNS: dict[str, str] = {
    **dict.fromkeys(_words("he him his he's 他"), "boy"),
    **dict.fromkeys(_words("she her hers she's 她"), "girl"),
}
# "my sister's son": a relative followed by 's / 的 and one of these is the giver's relative.
CHILD_NOUNS: tuple[str, ...] = (
    "kid", "kids", "child", "children", "son", "daughter", "boy", "girl", "baby", "twins",
    "孩子", "儿子", "女儿", "小孩", "宝宝", "男孩", "女孩",
)  # fmt: skip

# Age words -> (min_months, max_months); numeric ages in the same text take precedence.
AGE_WORDS: dict[str, tuple[int | None, int | None]] = {
    "newborn baby": (0, 2), "newborn": (0, 2), "new born": (0, 2), "just born": (0, 2),
    "infant": (0, 11), "baby": (0, 11), "babies": (0, 11), "toddler": (12, 35),
    "preschooler": (36, 59), "preschool": (36, 59), "kindergartener": (60, 83),
    "kindergartner": (60, 83), "kindergarten": (60, 83), "grade school": (72, 143),
    "primary school": (72, 143), "elementary school": (72, 143), "tween": (108, 155),
    "teenager": (156, 215), "teenage": (156, 215), "teen": (156, 215),
    "新生儿": (0, 2), "刚出生": (0, 2), "初生": (0, 2), "婴儿": (0, 11), "学步": (12, 35),
    "幼儿园小班": (36, 47), "幼儿园中班": (48, 59), "幼儿园大班": (60, 83), "上幼儿园": (36, 83),
    "幼儿园": (36, 83), "学龄前": (36, 71), "小学生": (72, 143), "上小学": (72, 143),
    "小学": (72, 143), "初中生": (144, 179), "初中": (144, 179), "青少年": (156, 215),
}  # fmt: skip

OCCASION_WORDS: dict[str, str] = {
    **dict.fromkeys(
        [*_words("birthday bday b-day 生日 过生日 抓周"), "birthday party"], "birthday"
    ),
    **dict.fromkeys(
        [
            *_words("christmas xmas x-mas santa 圣诞 圣诞节 平安夜"),
            *("stocking stuffer", "stocking filler", "stocking stuffers", "stocking fillers"),
        ],
        "christmas",
    ),
    **dict.fromkeys(
        ["children's day", "childrens day", "children day", "六一", "儿童节"],
        "children_day",
    ),
    **dict.fromkeys(
        [
            *("new year", "new year's", "lunar new year", "chinese new year", "spring festival"),
            *_words("新年 春节 过年 元旦 压岁 跨年"),
        ],
        "new_year",
    ),
    **dict.fromkeys(["baby shower", "满月", "百天", "百日宴"], "baby_shower"),
    **dict.fromkeys(
        _words(
            "easter halloween graduation valentine valentine's hanukkah diwali eid thanksgiving "
            "christening baptism communion 毕业 中秋 中秋节 端午 端午节 元宵 元宵节 情人节 感恩节 "
            "万圣节 复活节 开学"
        ),
        "other",
    ),
}

CURRENCY_WORDS: dict[str, str] = {
    **dict.fromkeys(_words("$ usd dollar dollars buck bucks 美元 美金 刀"), "USD"),
    **dict.fromkeys(_words("£ gbp pound pounds quid 英镑"), "GBP"),
    **dict.fromkeys(_words("€ eur euro euros 欧元"), "EUR"),
    **dict.fromkeys(_words("¥ cny rmb yuan 元 块 块钱 人民币"), "CNY"),
}
# Hundredths of a pound after a number: "under 50p" is £0.50.
PENCE_WORDS: tuple[str, ...] = ("p", "pence")
# British slang amounts, rewritten before parsing ("under a tenner" is "under £10").
SLANG_AMOUNTS: dict[str, str] = {"a tenner": "£10", "tenner": "£10", "a fiver": "£5", "fiver": "£5"}
# A unit-less number next to one of these is still a price ("budget 50", "预算五百").
BUDGET_CUES: tuple[str, ...] = (
    "budget", "budget's", "budget is", "spend", "spending", "price range", "price", "cost",
    "预算", "价格", "价位", "价钱", "花",
)  # fmt: skip

# Negation: a cue negates the interest terms after it in its clause, until a positive cue.
NEGATION_CUES: tuple[str, ...] = (
    "no", "not", "don't", "dont", "do not", "doesn't", "doesnt", "does not", "didn't", "never",
    "without", "avoid", "hates", "hate", "dislikes", "dislike", "nothing", "none", "except",
    "anything but", "anything except", "other than", "no more", "not into", "isn't into",
    "isn't", "aren't", "won't", "can't stand", "instead of", "skip the", "drop the",
    "remove the", "forget the", "don't like", "doesn't like", "does not like", "do not like",
    "don't want", "doesn't want", "not a fan of", "no more",
    "不要", "别买", "别", "不想要", "不喜欢", "讨厌", "不玩", "不需要", "不考虑", "除了", "不买",
    "去掉", "排除", "不爱", "没兴趣", "不感兴趣", "不用", "不太喜欢",
)  # fmt: skip
# A clause-final cue negates backwards ("拼图她不喜欢", "对拼图不感兴趣", "puzzles are out").
POST_NEGATION_CUES: tuple[str, ...] = (
    "不感兴趣", "没兴趣", "不喜欢", "除外", "不要了", "就不要了", "就算了", "不要", "不需要",
    "is out", "are out", "not needed", "not wanted",
)  # fmt: skip
POSITIVE_CUES: tuple[str, ...] = (
    "likes", "like", "loves", "love", "into", "enjoys", "enjoy", "prefers", "wants",
    "adores", "obsessed", "fan of", "but", "however", "though", "although", "instead",
    "喜欢", "爱", "想要", "感兴趣", "但", "但是", "不过", "可是", "而是", "可以",
)  # fmt: skip
# Contain a cue but are none: 特别 holds 别, "not sure" holds "not".
NEUTRAL_CUES: tuple[str, ...] = (
    "not sure", "no idea", "not bad", "nothing else", "特别", "别的", "区别", "分别", "性别",
    "级别", "告别", "识别", "不错", "不同", "不一样", "不少",
)  # fmt: skip
CLAUSE_BREAKS = ",.;!?。；！？\n"

# Dialogue refinements ("cheaper", "更便宜一点", "for an older kid", "大一点的").
CHEAPER_CUES: tuple[str, ...] = (
    "cheaper", "less expensive", "lower price", "too expensive", "too pricey", "more affordable",
    "更便宜", "便宜一点", "便宜点", "便宜些", "便宜的", "太贵了", "再便宜",
)  # fmt: skip
DEARER_CUES: tuple[str, ...] = (
    "more expensive", "pricier", "higher budget", "fancier", "more premium", "spend more",
    "贵一点", "贵点", "更贵", "贵一些", "高档一点", "好一点的",
)  # fmt: skip
OLDER_CUES: tuple[str, ...] = (
    "older kid", "older child", "older kids", "older children", "a bit older", "older",
    "大一点的", "大一点", "大一些", "年龄大一点", "更大的孩子",
)  # fmt: skip
YOUNGER_CUES: tuple[str, ...] = (
    "younger kid", "younger child", "younger kids", "younger children", "a bit younger",
    "younger", "小一点的", "小一点", "小一些", "年龄小一点", "更小的孩子",
)  # fmt: skip
# A follow-up turn with one of these adds its interests to the ones already known.
ADDITIVE_CUES: tuple[str, ...] = ("also", "too", "as well", "plus", "也", "还", "另外", "再加上")

STOP_WORDS_EN: frozenset[str] = frozenset(
    _words("""
    a an the and or but nor so if as at by for from in into of on onto to with within without
    up down out over under than then that this these those there here what which who whom
    whose how when where why any some something anything everything nothing all each every
    both either neither more most much many very really quite just also too only maybe perhaps
    possibly probably please pls thanks thank hi hello hey i i'm im i'd i've me my mine we our
    us you your yours he him his she her hers they them their it its it's is are was were be
    been being am do does did doing done have has had having can could should would will shall
    may might must need needs needed want wants wanted wanting like likes liked love loves
    loved enjoy enjoys enjoyed prefer prefers obsessed crazy fan big looking look find finding
    get getting got buy buying bought give giving gift gifts present presents toy toys idea
    ideas suggestion suggestions recommendation recommendations recommend suggest good great
    nice best better fun cool perfect old year years yr yrs month months week weeks day days
    age aged ages kid kids child children little young someone somebody one ones thing things
    stuff item items set sets kit kits playset playsets pack shop store turn turns turning
    next last soon today tomorrow weekend now still already even well lot lots bit budget
    budget's spend spending price prices range cost costs total each max min cheap
    expensive affordable inexpensive pricey money around about approx roughly able help play
    playing plays go going make makes made think know sure other same new first second third
    grandparents grandparent grandma grandpa grandmother grandfather granny nana mum mom dad
    mummy mommy daddy parents parent aunt auntie uncle friend friends guys yes no not okay ok
    s t don't doesn't isn't aren't which's whats what's there's is't let's wondering option
    options alternative alternatives anymore instead again different else type kind sort
    ish grandkids grandkid grandchildren grandchild possible whole turned shopping thinking
    preferred preferably actually anyway oh sorry um hmm
    """)
)
# Chinese function words and shopping filler, removed before the leftovers become keywords.
STOP_WORDS_ZH: tuple[str, ...] = tuple(
    _words("""
    有没有 有什么 什么样 什么 哪些 哪个 哪种 怎么样 怎么 推荐 请问 请 帮我 帮忙 帮 找个 找 看看 一下
    适合 合适 的话 玩具 礼物 东西 送给 送 给 孩子 小孩子 小孩 小朋友 宝宝 宝贝 我们 我家 我的 我
    你们 你 他们 她们 他 她 它 家里 今年 明年 马上 快要 快 就 也 还 都 很 比较 特别 非常 最好 最
    和 与 跟 或者 或 还是 是 在 用 让 能 可以 会 可能 喜欢 爱 玩 过 想要 想买 想 要 买点 买个 买
    一个 一些 一款 一套 一份 几个 个 些 款 套 点 已经 很多 多 了 的 地 得 吗 呢 吧 啊 呀 哦 嘛
    之类 类的 类 之间 左右 以内 以下 以上 预算 价格 价位 每个 每人 每 各 元 块 钱 岁 月 年 周
    时候 时 现在 刚 好 选个 选 准备 准备好 有 没有 对 太 一点 点儿 再 又 这个 那个 这 那 其他
    其它 别的 换个 换成 成 大 小 新 啥 谁 为 为了 所以 因为 如果 然后 一起 自己 上 下 哪 超级 到
    零 〇 一 二 两 三 四 五 六 七 八 九 十 百 千 万
    """)
)

# General toy-shop vocabulary for the Chinese segmenter: forward maximum matching keeps these
# whole, so a one-character stop word cannot split them (太空 is not 太 + 空).
CONTENT_WORDS_ZH: tuple[str, ...] = tuple(
    _words("""
    太空 宇宙 星球 火箭 星空 公主 王子 安全 环保 木质 木制 安静 发光 灯光 声光 电动 磁性 创意
    卡通 独角兽 小猪佩奇 佩奇 汪汪队 冰雪奇缘 大象 小猪 小狗 小猫 电池 零件 小零件 电子产品
    屏幕 礼盒 包装 质量 品牌 进口 大号 小号 迷你 便携 好玩 有趣 耐玩 兴趣 专注力 动手能力
    想象力 男女通用 亲子 互动 家庭 聚会 旅行 洗澡 戏水 夜灯 故事 故事机 小夜灯 收纳
    """)
)

# Words that say "a toy" and nothing about which: dropped from phrases before embedding, since
# they pull every phrase towards whichever label's description also says "toy".
GENERIC_WORDS_EN: frozenset[str] = frozenset(
    _words("toy toys gift gifts present presents set sets kit kits playset playsets stuff thing")
    + _words("things something item items")
)

# Descriptive phrases per label for the embedding fallback (semantic.py); English carries
# the weight because all-MiniLM-L6-v2 was trained on English text.
LABEL_PROTOTYPES: dict[str, tuple[str, ...]] = {
    "building": ("building blocks and bricks", "construction set to build models", "积木"),
    "vehicles": ("cars, trucks and trains", "remote control vehicles", "玩具车"),
    "dolls": ("dolls and doll houses", "fashion doll with outfits", "娃娃"),
    "action_figures": ("superhero action figures", "robot and monster figures", "手办"),
    "plush": ("soft plush stuffed animal", "cuddly teddy bear", "毛绒玩具"),
    "arts_crafts": ("arts and crafts", "drawing, painting and colouring", "手工画画"),
    "puzzles": ("jigsaw puzzle", "brain teaser puzzle", "拼图"),
    "games": ("board games and card games", "family game night", "桌游"),
    "science_stem": (
        "science experiments", "space, planets and astronomy", "coding and robotics",
        "科学实验",
    ),
    "learning": ("learning letters and numbers", "early education and reading", "早教"),
    "pretend_play": (
        "pretend play and role play", "play kitchen and tea set", "dress-up costumes",
        "过家家",
    ),
    "outdoor_active": ("outdoor sports and active play", "bikes, scooters and balls", "户外运动"),
    "music": ("musical instruments", "singing and music", "乐器"),
    "baby_sensory": ("baby rattles and teethers", "sensory play for infants", "婴儿摇铃"),
    "animals_nature": ("animals and wildlife", "dinosaurs", "nature and insects", "动物"),
}  # fmt: skip
