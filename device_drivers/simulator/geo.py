"""Shenzhen street geometry for the simulator: real roads as polylines, and walking helpers.

Coordinates are WGS-84 (lat, lon), read off public maps of Futian, Luohu, Nanshan, Bao'an and
Longgang; accurate to tens of metres, which is all a simulated patrol needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_R_M = 6_371_000.0

# (name, district, polyline)
STREETS: list[tuple[str, str, list[tuple[float, float]]]] = [
    (
        "深南大道 Shennan Blvd",
        "futian",
        [
            (22.5431, 114.0240),
            (22.5418, 114.0468),
            (22.5409, 114.0590),
            (22.5405, 114.0728),
            (22.5412, 114.0857),
            (22.5428, 114.1005),
            (22.5440, 114.1100),
        ],
    ),
    (
        "益田路 Yitian Rd",
        "futian",
        [(22.5632, 114.0569), (22.5470, 114.0572), (22.5382, 114.0576), (22.5288, 114.0580)],
    ),
    (
        "华强北路 Huaqiang North Rd",
        "futian",
        [(22.5332, 114.0858), (22.5405, 114.0862), (22.5476, 114.0866), (22.5530, 114.0870)],
    ),
    (
        "滨河大道 Binhe Blvd",
        "futian",
        [(22.5269, 114.0200), (22.5258, 114.0400), (22.5262, 114.0610), (22.5300, 114.0830)],
    ),
    (
        "东门中路 Dongmen Middle Rd",
        "luohu",
        [(22.5395, 114.1157), (22.5452, 114.1166), (22.5509, 114.1175), (22.5558, 114.1183)],
    ),
    (
        "人民南路 Renmin South Rd",
        "luohu",
        [(22.5318, 114.1176), (22.5376, 114.1178), (22.5425, 114.1172)],
    ),
    (
        "南海大道 Nanhai Blvd",
        "nanshan",
        [(22.4930, 113.9220), (22.5120, 113.9255), (22.5290, 113.9300), (22.5425, 113.9330)],
    ),
    (
        "科技园中区 Keji Middle Rd",
        "nanshan",
        [(22.5406, 113.9512), (22.5437, 113.9520), (22.5478, 113.9528), (22.5520, 113.9540)],
    ),
    (
        "宝安大道 Bao'an Blvd",
        "baoan",
        [(22.5550, 113.8850), (22.5700, 113.8800), (22.5900, 113.8700), (22.6100, 113.8600)],
    ),
    (
        "龙岗大道 Longgang Blvd",
        "longgang",
        [(22.6050, 114.0920), (22.6200, 114.1250), (22.6400, 114.1800), (22.7200, 114.2470)],
    ),
]


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_R_M * math.asin(math.sqrt(h))


def bearing_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    y = math.sin(lon2 - lon1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


@dataclass
class Route:
    """Back-and-forth travel along a polyline; ``advance`` moves ``metres`` along it."""

    points: list[tuple[float, float]]
    leg: int = 0
    frac: float = 0.0
    forward: bool = True

    def position(self) -> tuple[float, float]:
        a, b = self._ends()
        return (a[0] + (b[0] - a[0]) * self.frac, a[1] + (b[1] - a[1]) * self.frac)

    def heading(self) -> float:
        a, b = self._ends()
        return bearing_deg(a, b)

    def _ends(self) -> tuple[tuple[float, float], tuple[float, float]]:
        a, b = self.points[self.leg], self.points[self.leg + 1]
        return (a, b) if self.forward else (b, a)

    def advance(self, metres: float) -> None:
        while metres > 0:
            a, b = self._ends()
            leg_len = max(distance_m(a, b), 1e-6)
            left = (1 - self.frac) * leg_len
            if metres < left:
                self.frac += metres / leg_len
                return
            metres -= left
            self.frac = 0.0
            if self.forward:
                if self.leg + 2 < len(self.points):
                    self.leg += 1
                else:
                    self.forward = False
            elif self.leg > 0:
                self.leg -= 1
            else:
                self.forward = True
