"""The nearest units to a point, among thousands that move: a uniform grid of lat/lon cells,
searched in expanding rings, ranked by exact haversine distance. Pure, in memory.

A query visits the cell holding the point, then the ring of cells around it, then the next
(or, once a ring would have more cells than are occupied, every occupied cell left); it stops
once the k-th best distance found is no more than the least distance any unvisited
ring could hold (or ``max_m``, or the occupied area, is exceeded). That bound is exact, not a
heuristic: a point ``Δφ`` away in latitude is at least ``R·Δφ`` away, and one ``Δλ`` away in
longitude at least ``2R·asin(cos φmax · sin(Δλ/2))`` (the haversine term
``cos φ1 cos φ2 sin²(Δλ/2)`` is at least ``cos² φmax sin²(Δλ/2)``), so the result equals a
brute-force ranking. Cells are square in degrees: fine at a city's latitudes, far from the
poles and the antimeridian (longitude does not wrap).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

from hub.domain.duty import EARTH_RADIUS_M, haversine_m

Predicate = Callable[[str], bool]
DEFAULT_CELL_DEG = 0.01  # ~1.1 km north-south: a handful of units per cell in a dense city


class UnitGrid:
    """Units by cell; ``nearest`` ranks them by distance. Use from one thread (or event loop)."""

    def __init__(self, cell_deg: float = DEFAULT_CELL_DEG) -> None:
        if not 0 < cell_deg <= 10:
            raise ValueError("cell_deg must be in (0, 10]")
        self.cell_deg = cell_deg
        self._pos: dict[str, tuple[float, float, tuple[int, int]]] = {}
        self._cells: dict[tuple[int, int], dict[str, tuple[float, float]]] = {}
        self._available: set[str] = set()
        # Bounds of the occupied cells (may be wider than now after removals: still correct).
        self._lo: tuple[int, int] | None = None
        self._hi: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self._pos)

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self._pos

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        return (math.floor(lat / self.cell_deg), math.floor(lon / self.cell_deg))

    # ------------------------------------------------------------------- updates ------
    def upsert(self, unit_id: str, lat: float, lon: float) -> None:
        cell = self._cell(lat, lon)
        old = self._pos.get(unit_id)
        if old is not None and old[2] != cell:
            self._drop_from_cell(unit_id, old[2])
        self._pos[unit_id] = (lat, lon, cell)
        self._cells.setdefault(cell, {})[unit_id] = (lat, lon)
        if self._lo is None or self._hi is None:
            self._lo = self._hi = cell
        else:
            self._lo = (min(self._lo[0], cell[0]), min(self._lo[1], cell[1]))
            self._hi = (max(self._hi[0], cell[0]), max(self._hi[1], cell[1]))

    def remove(self, unit_id: str) -> None:
        old = self._pos.pop(unit_id, None)
        if old is not None:
            self._drop_from_cell(unit_id, old[2])
        self._available.discard(unit_id)
        if not self._pos:
            self._lo = self._hi = None

    def _drop_from_cell(self, unit_id: str, cell: tuple[int, int]) -> None:
        members = self._cells.get(cell)
        if members is not None:
            members.pop(unit_id, None)
            if not members:
                del self._cells[cell]

    def set_available(self, unit_id: str, available: bool) -> None:
        """Availability is kept for units with or without a position (it may come later)."""
        if available:
            self._available.add(unit_id)
        else:
            self._available.discard(unit_id)

    def is_available(self, unit_id: str) -> bool:
        return unit_id in self._available

    def position(self, unit_id: str) -> tuple[float, float] | None:
        got = self._pos.get(unit_id)
        return (got[0], got[1]) if got else None

    # ------------------------------------------------------------------- queries ------
    def _ring(self, centre: tuple[int, int], r: int) -> Iterator[tuple[int, int]]:
        """The cells at Chebyshev distance ``r`` from ``centre``, clipped to the occupied box."""
        assert self._lo is not None and self._hi is not None
        ci, cj = centre
        i0, i1 = max(ci - r, self._lo[0]), min(ci + r, self._hi[0])
        j0, j1 = max(cj - r, self._lo[1]), min(cj + r, self._hi[1])
        if i0 > i1 or j0 > j1:
            return
        if r == 0:
            yield centre
            return
        for i in range(i0, i1 + 1):
            if abs(i - ci) == r:  # a whole top or bottom row
                for j in range(j0, j1 + 1):
                    yield (i, j)
            else:  # only the two side cells of this row
                if cj - r >= j0:
                    yield (i, cj - r)
                if cj + r <= j1:
                    yield (i, cj + r)

    def _beyond(
        self, lat: float, lon: float, centre: tuple[int, int], r: int, cos_max: float
    ) -> float:
        """A lower bound on the distance from (lat, lon) to any point in ring ``r`` or further:
        such a point lies outside the block of rings 0..r-1 around ``centre``, so it is at
        least ``dlat`` away in latitude or ``dlon`` in longitude. ``cos_max`` is cos of the
        widest latitude any unit can have (0 turns the longitude bound off)."""
        if r == 0:
            return 0.0
        d = self.cell_deg
        ci, cj = centre
        dlat = max(0.0, min(lat - (ci - r + 1) * d, (ci + r) * d - lat))
        dlon = max(0.0, min(lon - (cj - r + 1) * d, (cj + r) * d - lon))
        by_lat = EARTH_RADIUS_M * math.radians(dlat)
        s = cos_max * math.sin(math.radians(min(dlon, 180.0)) / 2)
        by_lon = 2 * EARTH_RADIUS_M * math.asin(min(1.0, s))
        return min(by_lat, by_lon)

    def _cos_max(self, lat: float, lon: float) -> float:
        assert self._lo is not None and self._hi is not None
        d = self.cell_deg
        lat_edges = (self._lo[0] * d, (self._hi[0] + 1) * d)
        phi_max = max(abs(lat), *(abs(e) for e in lat_edges))
        span = max(lon - self._lo[1] * d, (self._hi[1] + 1) * d - lon)
        if span >= 180.0 or phi_max >= 90.0:
            # sin(Δλ/2) is no longer monotonic past 180°: no pruning by longitude.
            return 0.0
        return math.cos(math.radians(phi_max))

    def nearest(
        self,
        lat: float,
        lon: float,
        k: int,
        max_m: float | None = None,
        predicate: Predicate | None = None,
        *,
        available_only: bool = True,
    ) -> list[tuple[str, float]]:
        """Up to ``k`` (unit_id, metres) nearest to (lat, lon), closest first (ties by id):
        available units (unless ``available_only`` is False) that pass ``predicate``, within
        ``max_m`` if given."""
        if k <= 0 or self._lo is None or self._hi is None:
            return []
        centre = self._cell(lat, lon)
        # Rings past the occupied box hold nothing: stop there at the latest.
        last = max(
            abs(centre[0] - self._lo[0]),
            abs(centre[0] - self._hi[0]),
            abs(centre[1] - self._lo[1]),
            abs(centre[1] - self._hi[1]),
        )
        limit = math.inf if max_m is None else max_m
        cos_max = self._cos_max(lat, lon)
        found: list[tuple[float, str]] = []
        avail = self._available
        r = 0
        while r <= last:
            bound = self._beyond(lat, lon, centre, r, cos_max)
            if bound > limit:
                break
            if len(found) >= k:
                found.sort()
                del found[k:]
                if found[-1][0] < bound:  # strict: an unvisited tie could sort first
                    break
            cells: Iterator[tuple[int, int]]
            sparse = 8 * r > len(self._cells)
            if sparse:
                # Sparse: a ring would hold more cells than are occupied. Measure every unit
                # in the occupied cells not visited yet, and stop.
                ci, cj = centre
                cells = (c for c in self._cells if max(abs(c[0] - ci), abs(c[1] - cj)) >= r)
            else:
                cells = self._ring(centre, r)
            for cell in cells:
                members = self._cells.get(cell)
                if not members:
                    continue
                for unit_id, (ulat, ulon) in members.items():
                    if available_only and unit_id not in avail:
                        continue
                    if predicate is not None and not predicate(unit_id):
                        continue
                    dist = haversine_m(lat, lon, ulat, ulon)
                    if dist <= limit:
                        found.append((dist, unit_id))
            if sparse:
                break
            r += 1
        found.sort()
        return [(u, dist) for dist, u in found[:k]]


def brute_force(
    units: dict[str, tuple[float, float]],
    lat: float,
    lon: float,
    k: int,
    *,
    max_m: float | None = None,
    predicate: Predicate | None = None,
) -> list[tuple[str, float]]:
    """The same answer as ``UnitGrid.nearest`` by measuring every unit: the tests' oracle and
    the benchmark's baseline."""
    limit = math.inf if max_m is None else max_m
    ranked = sorted(
        (d, u)
        for u, (ulat, ulon) in units.items()
        if (predicate is None or predicate(u)) and (d := haversine_m(lat, lon, ulat, ulon)) <= limit
    )
    return [(u, d) for d, u in ranked[: max(k, 0)]]
