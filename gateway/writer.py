"""Write one batch of classified deliveries in one transaction (COPY -> staging -> hypertables).

Order inside the transaction: attribute rows to registered devices (others are dead-lettered,
retired ones as ``retired_device``), lock the devices' ``device_latest`` rows and read their ack
marks, set aside every row whose seq was already committed (a redelivery, absorbed and counted;
or the same seq with another ``ts``, counted and kept as a ``duplicate_seq`` dead letter, never
stored twice), binary-COPY the rest into a temp staging table per kind, ``INSERT ... ON
CONFLICT DO NOTHING`` into the hypertable, upsert ``device_latest`` from the non-skewed rows,
record presence changes and dead letters, store the new ack marks. The caller acks MQTT only
after ``write`` returns, i.e. after COMMIT.

Why the marks and not the hypertables' unique keys: those include the time column (TimescaleDB
requires the partitioning column in every unique index), so they cannot say "this seq is
stored, whatever its ts"; the marks (``acked_seq`` plus ``device_seq_pending``, migration 002)
hold exactly the committed seqs, are read in every batch anyway, and cost no extra index.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from gateway import ackmarks, presence
from gateway import repeats as repeats_mod
from gateway.classify import (
    COLUMNS,
    PG_TYPES,
    Classified,
    DataRow,
    DeadLetter,
    Downstream,
    Ignored,
    StateRow,
    Table,
)
from gateway.registry_watch import RegistryWatch
from gateway.seqtrack import GapSkipped
from schemas.topics import DeviceType

log = logging.getLogger(__name__)

Conn = psycopg.Connection[tuple[Any, ...]]


@dataclass
class BatchResult:
    stored: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    duplicates: int = 0
    skewed: int = 0
    dead_letters: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    acks: dict[str, tuple[DeviceType, int]] = field(default_factory=dict)  # device -> (type, seq)
    presence: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    gaps: list[GapSkipped] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=lambda: defaultdict(int))


_LATEST_COLS = (
    "device_id",
    "device_type",
    "last_seen",
    "status_time",
    "status_seq",
    "battery_pct",
    "status",
    "position_time",
    "position_seq",
    "lat",
    "lon",
    "speed_kmh",
    "heading_deg",
    "event_time",
    "last_event",
    "acked_seq",
    "messages_stored",
    "duplicates",
    "skewed_messages",
)
_LATEST_TYPES = (
    "text",
    "text",
    "timestamptz",
    "timestamptz",
    "int8",
    "float4",
    "text",
    "timestamptz",
    "int8",
    "float8",
    "float8",
    "float4",
    "float4",
    "timestamptz",
    "text",
    "int8",
    "int8",
    "int8",
    "int8",
)


def _newer(group: str, cols: tuple[str, ...]) -> str:
    cond = f"(d.{group}_time IS NULL OR EXCLUDED.{group}_time > d.{group}_time)"
    return ", ".join(
        f"{c} = CASE WHEN EXCLUDED.{group}_time IS NOT NULL AND {cond} THEN EXCLUDED.{c} "
        f"ELSE d.{c} END"
        for c in cols
    )


# Only newer, non-skewed values move the latest state; counters always add up.
_UPSERT_LATEST = f"""
INSERT INTO device_latest AS d ({", ".join(_LATEST_COLS)})
SELECT device_id, device_type, last_seen, status_time, status_seq, battery_pct, status::jsonb,
       position_time, position_seq, lat, lon, speed_kmh, heading_deg, event_time, last_event,
       acked_seq, messages_stored, duplicates, skewed_messages
FROM stage_latest
ON CONFLICT (device_id) DO UPDATE SET
  last_seen = GREATEST(d.last_seen, EXCLUDED.last_seen),
  {_newer("status", ("status_seq", "battery_pct", "status", "status_time"))},
  {_newer("position", ("position_seq", "lat", "lon", "speed_kmh", "heading_deg", "position_time"))},
  {_newer("event", ("last_event", "event_time"))},
  acked_seq = GREATEST(d.acked_seq, EXCLUDED.acked_seq),
  messages_stored = d.messages_stored + EXCLUDED.messages_stored,
  duplicates = d.duplicates + EXCLUDED.duplicates,
  skewed_messages = d.skewed_messages + EXCLUDED.skewed_messages
"""


_DEAD_COLS = (
    "received_at",
    "topic",
    "payload",
    "reason",
    "detail",
    "device_id",
    "device_type",
    "seq",
)
_DEAD_TYPES = ("timestamptz", "text", "bytea", "text", "text", "text", "text", "int8")


def _clean(text: str) -> str:
    """PostgreSQL text cannot hold NUL; a hostile topic must not poison the dead-letter COPY."""
    return text.replace("\x00", "\\x00")


class BatchWriter:
    """Owns one database connection and the per-device state the gateway keeps between batches."""

    def __init__(
        self, conninfo: str, gap_timeout: float = 1800.0, watch: RegistryWatch | None = None
    ) -> None:
        self.conninfo = conninfo
        self.conn: Conn | None = None
        self.registry: dict[str, DeviceType] = {}  # registered, not retired
        self.retired: dict[str, DeviceType] = {}  # retired or lost (retired_at set)
        # Without a watch (tools, benchmarks) the cache lives as long as the writer; with one,
        # a registry change drops the device from the cache before the next batch.
        self.watch = watch
        self.gap_timeout = gap_timeout
        # No gap is skipped until gap_timeout after we (re)connect: after an outage the
        # missing seqs may still be queued at the broker for us or another gateway.
        self._skip_after = 0.0

    # -- connection ------------------------------------------------------------------------
    def connect(self) -> None:
        self.close()
        conn: Conn = psycopg.connect(self.conninfo, autocommit=False, connect_timeout=5)
        with conn.cursor() as cur:
            for table, cols in COLUMNS.items():
                defs = ", ".join(f"{c} {PG_TYPES[c]}" for c in cols)
                cur.execute(f"CREATE TEMP TABLE stage_{table} ({defs}) ON COMMIT DELETE ROWS")
            defs = ", ".join(f"{c} {t}" for c, t in zip(_LATEST_COLS, _LATEST_TYPES, strict=True))
            cur.execute(f"CREATE TEMP TABLE stage_latest ({defs}) ON COMMIT DELETE ROWS")
        conn.commit()
        self.conn = conn
        self._skip_after = time.monotonic() + self.gap_timeout

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(psycopg.Error):  # closing a broken connection
                self.conn.close()
            self.conn = None

    # -- the batch -------------------------------------------------------------------------
    def write(self, items: list[Classified], now: datetime) -> BatchResult:
        """Store ``items`` in one transaction. On any exception nothing is committed (the ack
        marks live in the same transaction), so the same batch can simply be retried."""
        with self._transaction() as cur:
            return self._write(cur, items, now)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[tuple[Any, ...]]]:
        """A cursor in one transaction: committed on success, rolled back (or the broken
        connection dropped, to be reopened by the next call) on any exception."""
        if self.conn is None:
            self.connect()
        conn = self.conn
        assert conn is not None
        try:
            with conn.cursor() as cur:
                yield cur
            conn.commit()
        except BaseException:
            try:
                conn.rollback()
            except psycopg.Error:
                self.close()
            raise

    def _forget_changed(self) -> None:
        """Drop the devices the registry watch saw change (all of them after it reconnected,
        and every batch while it is not listening: then nothing cached can be trusted)."""
        if self.watch is None:
            return
        resync, changed = self.watch.drain()
        if resync or not self.watch.listening.is_set():
            self.registry.clear()
            self.retired.clear()
            return
        for device_id in changed:
            self.registry.pop(device_id, None)
            self.retired.pop(device_id, None)

    def _load_devices(self, cur: psycopg.Cursor[tuple[Any, ...]], ids: set[str]) -> None:
        missing = [d for d in ids if d not in self.registry and d not in self.retired]
        if not missing:
            return
        cur.execute(
            "SELECT device_id, device_type, retired_at IS NOT NULL FROM devices"
            " WHERE device_id = ANY(%s)",
            (missing,),
        )
        for device_id, device_type, retired in cur.fetchall():
            (self.retired if retired else self.registry)[device_id] = DeviceType(device_type)

    def _write(
        self,
        cur: psycopg.Cursor[tuple[Any, ...]],
        items: list[Classified],
        now: datetime,
    ) -> BatchResult:
        res = BatchResult()
        self._forget_changed()
        self._load_devices(cur, {i.device_id for i in items if isinstance(i, DataRow | StateRow)})

        candidates: list[DataRow] = []
        states: dict[str, StateRow] = {}
        dead: list[DeadLetter] = []
        acks_seen: list[Downstream] = []
        seqs: dict[str, list[int]] = defaultdict(list)
        for item in items:
            if isinstance(item, Ignored):
                res.ignored[item.reason] += 1
                continue
            if isinstance(item, Downstream):
                acks_seen.append(item)
                continue
            if isinstance(item, DeadLetter):
                dead.append(item)
                if item.seq is not None and item.device_id in self.registry:
                    # Stored (as a dead letter) is stored: ack it so the device stops resending.
                    seqs[item.device_id].append(item.seq)
                continue
            known = self.registry.get(item.device_id)
            if known is None or known is not item.device_type:
                dead.append(self._unattributed(item, known))
                continue
            if isinstance(item, StateRow):
                states[item.device_id] = item  # the last one in the batch wins
            else:
                candidates.append(item)
                seqs[item.device_id].append(item.seq)

        # Lock every touched device's row (sorted, so concurrent gateways cannot deadlock) and
        # read its mark before anything is inserted: a seq committed earlier is not stored again.
        senders = set(seqs)  # devices that sent numbered messages get an ack
        locked = ackmarks.lock(cur, list(senders | set(states)), self.registry)
        rows, repeats = repeats_mod.split(cur, candidates, locked, dead, res)

        inserted: dict[str, int] = defaultdict(int)
        for table, trows in rows.items():
            self._copy(
                cur,
                f"stage_{table}",
                COLUMNS[table],
                [PG_TYPES[c] for c in COLUMNS[table]],
                [r.values for r in trows],
            )
            cols = ", ".join(COLUMNS[table])
            select = cols.replace("payload", "payload::jsonb")
            cur.execute(
                f"INSERT INTO {table} ({cols}) SELECT {select} FROM stage_{table}"
                " ON CONFLICT DO NOTHING RETURNING device_id, device_type"
            )
            got = cur.fetchall()
            for device_id, dtype in got:
                inserted[device_id] += 1
                res.stored[dtype, table.value] += 1
            res.duplicates += len(trows) - len(got)

        marks, gaps = ackmarks.fold(cur, locked, seqs, self._effective_gap_timeout())
        res.gaps += gaps
        res.acks = {d: (self.registry[d], marks[d]) for d in senders}

        self._upsert_latest(cur, rows, repeats, marks=marks, inserted=inserted, res=res)
        self._presence(cur, rows, repeats, states=states, now=now, res=res)
        if acks_seen:
            dead += repeats_mod.foreign_acks(cur, acks_seen, res)
        if res.gaps:
            self._record_gaps(cur, res.gaps, now)
        if dead:
            self._write_dead(cur, dead, now)
            for d in dead:
                res.dead_letters[d.reason] += 1
        return res

    def _unattributed(self, item: DataRow | StateRow, known: DeviceType | None) -> DeadLetter:
        payload = item.values[-1].encode() if isinstance(item, DataRow) else item.payload
        if known is None and item.device_id in self.retired:
            reason, detail = (
                "retired_device",
                f"device {item.device_id!r} is retired or lost: nothing it sends is stored",
            )
        elif known is None:
            reason, detail = (
                "unknown_device",
                f"device {item.device_id!r} is not registered",
            )
        else:
            reason, detail = (
                "device_type_mismatch",
                (
                    f"{item.device_id!r} is registered as {known.value}, "
                    f"not {item.device_type.value}"
                ),
            )
        seq = item.seq if isinstance(item, DataRow) else None
        return DeadLetter(
            item.topic, payload, reason, detail, item.device_id, item.device_type.value, seq
        )

    @staticmethod
    def _copy(
        cur: psycopg.Cursor[tuple[Any, ...]],
        table: str,
        cols: tuple[str, ...],
        types: list[str],
        data: list[tuple[Any, ...]],
    ) -> None:
        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in data:
                copy.write_row(row)

    def _upsert_latest(
        self,
        cur: psycopg.Cursor[tuple[Any, ...]],
        rows: dict[Table, list[DataRow]],
        repeats: list[DataRow],
        *,
        marks: dict[str, int],
        inserted: dict[str, int],
        res: BatchResult,
    ) -> None:
        latest: dict[str, list[Any]] = {}
        empty = [None] * len(_LATEST_COLS)

        def entry(r: DataRow) -> list[Any]:
            e = latest.get(r.device_id)
            if e is None:
                e = latest[r.device_id] = list(empty)
                e[0], e[1], e[2] = r.device_id, r.device_type.value, r.values[3]
                e[15], e[16], e[17], e[18] = 0, 0, 0, 0
            elif r.values[3] > e[2]:
                e[2] = r.values[3]
            return e

        received: dict[str, int] = defaultdict(int)
        for table, trows in rows.items():
            for r in trows:
                e = entry(r)
                received[r.device_id] += 1
                if r.skewed:
                    e[18] += 1
                    res.skewed += 1
                    continue
                v = r.values
                if table is Table.STATUS and (e[3] is None or r.time >= e[3]):
                    e[3:7] = [r.time, r.seq, v[6], v[7]]
                elif table is Table.POSITIONS and (e[7] is None or r.time >= e[7]):
                    e[7:13] = [r.time, r.seq, v[6], v[7], v[8], v[9]]
                elif table is Table.EVENTS and (e[13] is None or r.time >= e[13]):
                    e[13:15] = [r.time, v[6]]
        for r in repeats:  # seen again: they count (as duplicates), but never move the latest
            entry(r)
            received[r.device_id] += 1
        for device_id, e in latest.items():
            e[15] = marks.get(device_id, 0)
            e[16] = inserted.get(device_id, 0)
            e[17] = received[device_id] - e[16]
        if latest:
            self._copy(
                cur,
                "stage_latest",
                _LATEST_COLS,
                list(_LATEST_TYPES),
                [tuple(e) for e in latest.values()],
            )
            cur.execute(_UPSERT_LATEST)

    def _presence(
        self,
        cur: psycopg.Cursor[tuple[Any, ...]],
        rows: dict[Table, list[DataRow]],
        repeats: list[DataRow],
        *,
        states: dict[str, StateRow],
        now: datetime,
        res: BatchResult,
    ) -> None:
        talking = {r.device_id for trows in rows.values() for r in trows}
        talking.update(r.device_id for r in repeats)
        offline = {d for d, s in states.items() if s.state == "offline"}
        said_online = {d for d, s in states.items() if s.state == "online"}
        for ids, state, reason in (
            (said_online, "online", "state_online"),
            (talking - offline - said_online, "online", "message"),
            (offline, "offline", "will_or_offline"),
        ):
            if ids:
                cur.execute(
                    presence.SET_PRESENCE,
                    {
                        "ids": sorted(ids),
                        "state": state,
                        "t": now,
                        "reason": reason,
                        "cutoff": None,
                    },
                )
                res.presence[state] += cur.rowcount

    def _type_name(self, device_id: str) -> str:
        dtype = self.registry.get(device_id) or self.retired.get(device_id)
        return dtype.value if dtype else "unknown"

    def _effective_gap_timeout(self) -> float:
        return self.gap_timeout if time.monotonic() >= self._skip_after else float("inf")

    def _record_gaps(
        self, cur: psycopg.Cursor[tuple[Any, ...]], gaps: list[GapSkipped], now: datetime
    ) -> None:
        for g in gaps:
            log.warning(
                "device %s: seq %d..%d never arrived within the gap timeout; skipped",
                g.device_id,
                g.first_missing,
                g.last_missing,
            )
        self._write_dead(
            cur,
            [
                DeadLetter(
                    f"ehub/v1/{self._type_name(g.device_id)}/{g.device_id}",
                    b"",
                    "seq_gap",
                    f"seq {g.first_missing}..{g.last_missing} never arrived; ack moved past them",
                    g.device_id,
                    self._type_name(g.device_id),
                    g.first_missing,
                )
                for g in gaps
            ],
            now,
        )

    def _write_dead(
        self, cur: psycopg.Cursor[tuple[Any, ...]], dead: list[DeadLetter], now: datetime
    ) -> None:
        self._copy(
            cur,
            "dead_letters",
            _DEAD_COLS,
            list(_DEAD_TYPES),
            [
                (
                    now,
                    _clean(d.topic),
                    d.payload,
                    d.reason,
                    _clean(d.detail),
                    d.device_id,
                    d.device_type,
                    d.seq,
                )
                for d in dead
            ],
        )

    # -- presence by silence -----------------------------------------------------------------
    def sweep_presence(
        self,
        now: datetime,
        stale_after: dict[DeviceType, float],
        offline_after: dict[DeviceType, float],
    ) -> dict[str, int]:
        """Skip expired seq gaps, then mark silent devices stale or offline, per kind;
        returns transitions by state (and ``seq_gaps_skipped``)."""
        counts: dict[str, int] = defaultdict(int)
        with self._transaction() as cur:
            gaps = (
                ackmarks.expire_gaps(cur, self.gap_timeout)
                if time.monotonic() >= self._skip_after
                else []
            )
            if gaps:
                self._load_devices(cur, {g.device_id for g in gaps})
                self._record_gaps(cur, gaps, now)
                counts["seq_gaps_skipped"] += len(gaps)
            for state, n in presence.sweep_silent(cur, now, stale_after, offline_after).items():
                counts[state] += n
        return counts
