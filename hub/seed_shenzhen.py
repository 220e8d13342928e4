"""Shenzhen's org tree: the city, its ten district-level areas and one team per street (街道).

Pure data plus ``seed_org(conn)``, which loads it idempotently. The streets are the 74 街道 of
the current administrative division (after the 2016-2018 splits: 福田 10, 罗湖 10, 盐田 4,
南山 8, 宝安 10, 龙岗 11, 龙华 6, 坪山 6, 光明 6, 大鹏新区 3). Each street has one
comprehensive administrative enforcement team (街道综合行政执法队). The ``establishment`` (编制)
figures are plausible placeholders, larger for the more populous streets; the city replaces them
with the approved numbers (re-seeding never overwrites a figure someone has set).

Unit ids are stable ASCII slugs: ``<district>-<street pinyin>``, with an apostrophe in the
pinyin written as a hyphen (``baoan-xin-an``). ``ehub.registry`` seeds five of these streets
for the simulated fleet under the same ids.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import psycopg

CITY_ID = "shenzhen"


class Street(NamedTuple):
    slug: str  # the part after "<district>-"
    name: str  # 街道 name, without the suffix
    pinyin: str
    establishment: int  # 编制 of its enforcement team


class District(NamedTuple):
    id: str
    name: str
    name_en: str
    streets: tuple[Street, ...]


DISTRICTS: tuple[District, ...] = (
    District(
        "futian",
        "福田区",
        "Futian District",
        (
            Street("yuanling", "园岭", "Yuanling", 32),
            Street("nanyuan", "南园", "Nanyuan", 30),
            Street("futian", "福田", "Futian", 48),
            Street("shatou", "沙头", "Shatou", 44),
            Street("xiangmihu", "香蜜湖", "Xiangmihu", 34),
            Street("meilin", "梅林", "Meilin", 42),
            Street("lianhua", "莲花", "Lianhua", 38),
            Street("huafu", "华富", "Huafu", 30),
            Street("fubao", "福保", "Fubao", 36),
            Street("huaqiangbei", "华强北", "Huaqiangbei", 40),
        ),
    ),
    District(
        "luohu",
        "罗湖区",
        "Luohu District",
        (
            Street("guiyuan", "桂园", "Guiyuan", 30),
            Street("huangbei", "黄贝", "Huangbei", 34),
            Street("dongmen", "东门", "Dongmen", 42),
            Street("cuizhu", "翠竹", "Cuizhu", 32),
            Street("nanhu", "南湖", "Nanhu", 36),
            Street("sungang", "笋岗", "Sungang", 30),
            Street("donghu", "东湖", "Donghu", 32),
            Street("liantang", "莲塘", "Liantang", 30),
            Street("dongxiao", "东晓", "Dongxiao", 28),
            Street("qingshuihe", "清水河", "Qingshuihe", 28),
        ),
    ),
    District(
        "yantian",
        "盐田区",
        "Yantian District",
        (
            Street("shatoujiao", "沙头角", "Shatoujiao", 26),
            Street("haishan", "海山", "Haishan", 24),
            Street("yantian", "盐田", "Yantian", 28),
            Street("meisha", "梅沙", "Meisha", 22),
        ),
    ),
    District(
        "nanshan",
        "南山区",
        "Nanshan District",
        (
            Street("nantou", "南头", "Nantou", 44),
            Street("nanshan", "南山", "Nanshan", 46),
            Street("shahe", "沙河", "Shahe", 40),
            Street("shekou", "蛇口", "Shekou", 38),
            Street("zhaoshang", "招商", "Zhaoshang", 34),
            Street("yuehai", "粤海", "Yuehai", 48),
            Street("taoyuan", "桃源", "Taoyuan", 40),
            Street("xili", "西丽", "Xili", 52),
        ),
    ),
    District(
        "baoan",
        "宝安区",
        "Bao'an District",
        (
            Street("xin-an", "新安", "Xin'an", 56),
            Street("xixiang", "西乡", "Xixiang", 60),
            Street("hangcheng", "航城", "Hangcheng", 44),
            Street("fuyong", "福永", "Fuyong", 46),
            Street("fuhai", "福海", "Fuhai", 42),
            Street("shajing", "沙井", "Shajing", 56),
            Street("xinqiao", "新桥", "Xinqiao", 44),
            Street("songgang", "松岗", "Songgang", 48),
            Street("yanluo", "燕罗", "Yanluo", 36),
            Street("shiyan", "石岩", "Shiyan", 46),
        ),
    ),
    District(
        "longgang",
        "龙岗区",
        "Longgang District",
        (
            Street("pinghu", "平湖", "Pinghu", 50),
            Street("bantian", "坂田", "Bantian", 58),
            Street("buji", "布吉", "Buji", 60),
            Street("nanwan", "南湾", "Nanwan", 48),
            Street("henggang", "横岗", "Henggang", 50),
            Street("longcheng", "龙城", "Longcheng", 56),
            Street("longgang", "龙岗", "Longgang", 50),
            Street("pingdi", "坪地", "Pingdi", 36),
            Street("jihua", "吉华", "Jihua", 42),
            Street("baolong", "宝龙", "Baolong", 38),
            Street("yuanshan", "园山", "Yuanshan", 34),
        ),
    ),
    District(
        "longhua",
        "龙华区",
        "Longhua District",
        (
            Street("guanhu", "观湖", "Guanhu", 44),
            Street("minzhi", "民治", "Minzhi", 58),
            Street("longhua", "龙华", "Longhua", 60),
            Street("dalang", "大浪", "Dalang", 52),
            Street("fucheng", "福城", "Fucheng", 42),
            Street("guanlan", "观澜", "Guanlan", 46),
        ),
    ),
    District(
        "pingshan",
        "坪山区",
        "Pingshan District",
        (
            Street("pingshan", "坪山", "Pingshan", 36),
            Street("maluan", "马峦", "Maluan", 28),
            Street("biling", "碧岭", "Biling", 22),
            Street("shijing", "石井", "Shijing", 22),
            Street("kengzi", "坑梓", "Kengzi", 32),
            Street("longtian", "龙田", "Longtian", 26),
        ),
    ),
    District(
        "guangming",
        "光明区",
        "Guangming District",
        (
            Street("guangming", "光明", "Guangming", 34),
            Street("gongming", "公明", "Gongming", 44),
            Street("xinhu", "新湖", "Xinhu", 28),
            Street("fenghuang", "凤凰", "Fenghuang", 30),
            Street("yutang", "玉塘", "Yutang", 32),
            Street("matian", "马田", "Matian", 34),
        ),
    ),
    District(
        # A functional area (功能区) administered at district level, not a 区 of its own.
        "dapeng",
        "大鹏新区",
        "Dapeng New District",
        (
            Street("kuichong", "葵涌", "Kuichong", 30),
            Street("dapeng", "大鹏", "Dapeng", 26),
            Street("nan-ao", "南澳", "Nan'ao", 24),
        ),
    ),
)


def street_id(district: District, street: Street) -> str:
    return f"{district.id}-{street.slug}"


def units() -> list[dict[str, Any]]:
    """Every unit as an ``org_units`` row, parents before children."""
    rows: list[dict[str, Any]] = [
        {
            "id": CITY_ID,
            "parent_id": None,
            "level": "city",
            "name": "深圳市",
            "name_en": "Shenzhen",
            "establishment": 0,
        }
    ]
    for d in DISTRICTS:
        rows.append(
            {
                "id": d.id,
                "parent_id": CITY_ID,
                "level": "district",
                "name": d.name,
                "name_en": d.name_en,
                "establishment": 0,  # headcounts add up the teams
            }
        )
        rows.extend(
            {
                "id": street_id(d, s),
                "parent_id": d.id,
                "level": "street",
                "name": f"{s.name}街道综合行政执法队",
                "name_en": f"{s.pinyin} Street Enforcement Team",
                "establishment": s.establishment,
            }
            for s in d.streets
        )
    return rows


def seed_org(conn: psycopg.Connection[Any]) -> int:
    """Load the tree (idempotent; commits). Returns how many units were new.

    Existing units keep their parent and level; their names are brought up to date, and their
    establishment is filled in only while it is still the schema's default of 0.
    """
    rows = units()
    with conn.transaction(), conn.cursor() as cur:
        before = cur.execute("SELECT count(*) FROM org_units").fetchone()
        cur.executemany(
            "INSERT INTO org_units (id, parent_id, level, name, name_en, establishment)"
            " VALUES (%(id)s, %(parent_id)s, %(level)s, %(name)s, %(name_en)s, %(establishment)s)"
            " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, name_en = EXCLUDED.name_en,"
            " establishment = CASE WHEN org_units.establishment = 0"
            " THEN EXCLUDED.establishment ELSE org_units.establishment END",
            rows,
        )
        after = cur.execute("SELECT count(*) FROM org_units").fetchone()
    assert before is not None and after is not None
    return int(after[0]) - int(before[0])
