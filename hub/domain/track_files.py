"""A track as a file: GPX 1.1, GeoJSON (RFC 7946) or CSV, each stamped with who exported it,
when, and the export's id (the same id is in the audit record, with the file's SHA-256). Pure.

Where the stamp goes keeps every format valid: GPX ``<metadata>`` (``desc``, ``author``,
``time``) and a ``<desc>`` on the track; GeoJSON a foreign member ``"export"`` on the
collection and the same in the line's ``properties``; CSV leading ``# `` comment lines before
the header (as ``hub.api.export`` does). Times are UTC (ISO 8601, ``Z``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from xml.sax.saxutils import escape

from hub.domain.spreadsheet import neutral
from hub.domain.tracks import Track


class Format(StrEnum):
    GPX = "gpx"
    GEOJSON = "geojson"
    CSV = "csv"


MEDIA_TYPES = {
    Format.GPX: "application/gpx+xml",
    Format.GEOJSON: "application/geo+json",
    Format.CSV: "text/csv; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Stamp:
    export_id: str
    actor: str
    at: datetime
    subject: str  # e.g. "officer sa1 (李明)"
    start: datetime
    end: datetime

    def line(self) -> str:
        return (
            f"exported by {self.actor} at {_iso(self.at)}; export {self.export_id}; "
            f"track of {self.subject} from {_iso(self.start)} to {_iso(self.end)}"
        )

    def as_json(self) -> dict[str, str]:
        return {
            "export_id": self.export_id,
            "exported_by": self.actor,
            "exported_at": _iso(self.at),
            "subject": self.subject,
            "from": _iso(self.start),
            "to": _iso(self.end),
        }


def _iso(value: datetime | float) -> str:
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _summary(track: Track) -> dict[str, Any]:
    return {
        "distance_m": round(track.distance_m, 1),
        "duration_s": round(track.duration_s, 1),
        "moving_s": round(track.moving_s, 1),
        "stops": len(track.stops),
        "fixes": len(track.fixes),
        "jumps_ignored": track.jumps,
        "skewed_ignored": track.skewed,
    }


def gpx(track: Track, stamp: Stamp) -> bytes:
    s = _summary(track)
    desc = f"{stamp.line()}; {s['fixes']} fixes, {s['distance_m']} m, {s['stops']} stops"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="EnforceHub" xmlns="http://www.topografix.com/GPX/1/1"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xsi:schemaLocation="http://www.topografix.com/GPX/1/1'
        ' http://www.topografix.com/GPX/1/1/gpx.xsd">\n',
        f"<metadata><name>{escape(stamp.subject)}</name><desc>{escape(desc)}</desc>"
        f"<author><name>{escape(stamp.actor)}</name></author>"
        f"<time>{_iso(stamp.at)}</time></metadata>\n",
    ]
    # GPX 1.1 orders children: metadata, wpt*, rte*, trk*. Stops are waypoints.
    for n, st in enumerate(track.stops, 1):
        out.append(
            f'<wpt lat="{st.lat:.7f}" lon="{st.lon:.7f}"><time>{_iso(st.start)}</time>'
            f"<name>stop {n}</name><desc>{_iso(st.start)} to {_iso(st.end)},"
            f" {st.duration_s:.0f} s</desc><type>stop</type></wpt>\n"
        )
    out.append(
        f"<trk><name>{escape(stamp.subject)}</name><desc>{escape(stamp.line())}</desc><trkseg>\n"
    )
    out.extend(
        f'<trkpt lat="{f[1]:.7f}" lon="{f[2]:.7f}"><time>{_iso(f[0])}</time></trkpt>\n'
        for f in track.fixes
    )
    out.append("</trkseg></trk>\n</gpx>\n")
    return "".join(out).encode()


def geojson(track: Track, stamp: Stamp) -> bytes:
    stamped = stamp.as_json()
    coords = [[f[2], f[1]] for f in track.fixes]
    line: dict[str, Any] = {
        "type": "Feature",
        # A LineString needs two positions; fewer fixes leave the geometry null (still valid).
        "geometry": {"type": "LineString", "coordinates": coords} if len(coords) >= 2 else None,
        "properties": {
            "kind": "track",
            **stamped,
            **_summary(track),
            "times": [_iso(f[0]) for f in track.fixes],
            "speed_kmh": [f[3] for f in track.fixes],
            "heading_deg": [f[4] for f in track.fixes],
        },
    }
    stops = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [st.lon, st.lat]},
            "properties": {
                "kind": "stop",
                "start": _iso(st.start),
                "end": _iso(st.end),
                "duration_s": round(st.duration_s, 1),
                "fixes": st.fixes,
            },
        }
        for st in track.stops
    ]
    doc = {"type": "FeatureCollection", "export": stamped, "features": [line, *stops]}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _blank(v: float | None) -> float | str:
    return "" if v is None else v


def csv_bytes(track: Track, stamp: Stamp) -> bytes:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    # The stamp names the subject (a person's name is free text): never a formula (OWASP).
    out.writerow([neutral(f"# {stamp.line()}")])
    out.writerow([f"# {json.dumps(_summary(track))}"])
    out.writerow(["time", "lat", "lon", "speed_kmh", "heading_deg"])
    out.writerows(
        [_iso(f[0]), f"{f[1]:.7f}", f"{f[2]:.7f}", _blank(f[3]), _blank(f[4])] for f in track.fixes
    )
    # A BOM so that spreadsheet programs read it as UTF-8 (as hub.api.export does).
    return ("\ufeff" + buf.getvalue()).encode()


def render(fmt: Format, track: Track, stamp: Stamp) -> bytes:
    if fmt is Format.GPX:
        return gpx(track, stamp)
    if fmt is Format.GEOJSON:
        return geojson(track, stamp)
    return csv_bytes(track, stamp)
