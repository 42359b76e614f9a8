"""Natural names for the catalog's tables and columns: the only per-database input of the generator.

Each table has a singular and a plural noun, the column(s) that name one of its rows (its label,
empty for fact and link tables such as `batting` or `movie_genres`), how to ask for that label
("names", "titles"), a phrase for each column questions may use, and which measures may be summed.
Columns left out are never asked about (ids, free text, flags whose values would read badly). A
foreign key's phrase names the role of the row it points to ("origin airport"); without one the
referenced table's noun is used. Whether a column is a category, a measure or both comes from the
data (`generator.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TableSpec:
    one: str
    many: str
    label: tuple[str, ...] = ()
    label_name: str = "names"
    columns: dict[str, str] = field(default_factory=dict)
    sums: tuple[str, ...] = ()  # measures whose total means something (runs, sales; not densities)


def T(
    one: str, many: str, label: str = "", label_name: str = "names", sums: str = "", **columns: str
) -> TableSpec:
    return TableSpec(one, many, tuple(label.split()), label_name, columns, tuple(sums.split()))


SPECS: dict[str, dict[str, TableSpec]] = {
    "baseball": {
        "franchises": T("franchise", "franchises", "name"),
        "teams": T(
            "team",
            "teams",
            "name",
            sums="wins losses runs home_runs attendance",
            league="league",
            division="division",
            division_rank="division rank",
            wins="wins",
            losses="losses",
            runs="runs scored",
            home_runs="home runs",
            era="earned run average",
            attendance="attendance",
            franchise_id="franchise",
        ),
        "players": T(
            "player",
            "players",
            "first_name last_name",
            "first and last names",
            birth_year="birth year",
            birth_country="birth country",
            birth_state="birth state",
            weight="weight in pounds",
            height="height in inches",
            bats="batting hand",
            throws="throwing hand",
        ),
        "batting": T(
            "batting line",
            "batting lines",
            sums="games at_bats runs hits doubles triples home_runs runs_batted_in stolen_bases walks strikeouts",
            games="games",
            at_bats="at bats",
            runs="runs",
            hits="hits",
            doubles="doubles",
            triples="triples",
            home_runs="home runs",
            runs_batted_in="runs batted in",
            stolen_bases="stolen bases",
            walks="walks",
            strikeouts="strikeouts",
            player_id="player",
            team_id="team",
        ),
        "pitching": T(
            "pitching line",
            "pitching lines",
            sums="wins losses games games_started saves strikeouts walks",
            wins="wins",
            losses="losses",
            games="games",
            games_started="games started",
            saves="saves",
            strikeouts="strikeouts",
            walks="walks",
            era="earned run average",
            player_id="player",
            team_id="team",
        ),
        "salaries": T(
            "salary record",
            "salary records",
            sums="salary",
            salary="salary",
            player_id="player",
            team_id="team",
        ),
        "hall_of_fame": T(
            "Hall of Fame ballot entry",
            "Hall of Fame ballot entries",
            sums="votes",
            year="ballot year",
            voted_by="voting body",
            votes="votes",
            category="category",
            player_id="player",
        ),
    },
    "world": {
        "continents": T("continent", "continents", "name", sums="population", population="population"),
        "countries": T(
            "country",
            "countries",
            "name",
            sums="area_km2 population",
            capital="capital",
            area_km2="area in square kilometres",
            population="population",
            currency_name="currency",
            continent_code="continent",
        ),
        "languages": T("language", "languages", "name"),
        "country_languages": T(
            "language listing", "language listings", country_code="country", language_code="language"
        ),
        "borders": T("border", "borders", country_code="country", neighbour_code="neighbouring country"),
        "cities": T(
            "city",
            "cities",
            "name",
            sums="population",
            population="population",
            timezone="time zone",
            country_code="country",
        ),
    },
    "airports": {
        "countries": T("country", "countries", "name"),
        "airports": T(
            "airport",
            "airports",
            "name",
            city="city",
            subdivision="state or province",
            elevation_ft="elevation in feet",
            timezone="time zone",
            country_code="country",
        ),
        "metro_areas": T("metropolitan area", "metropolitan areas", "name", country_code="country"),
        "metro_airports": T(
            "metropolitan airport link",
            "metropolitan airport links",
            metro_code="metropolitan area",
            airport_iata="airport",
        ),
    },
    "routes": {
        "airlines": T("airline", "airlines", "name"),
        "airports": T(
            "airport",
            "airports",
            "name",
            city="city",
            country="country",
            altitude_ft="altitude in feet",
            size="size",
        ),
        "routes": T(
            "route",
            "routes",
            airline_code="airline",
            source_iata="origin airport",
            destination_iata="destination airport",
        ),
    },
    "movies": {
        "movies": T(
            "film",
            "films",
            "title",
            "titles",
            sums="oscars",
            year="release year",
            runtime="running time in minutes",
            mpaa_rating="MPAA rating",
            metacritic="Metacritic score",
            oscars="number of Oscars",
            language="language",
        ),
        "genres": T("genre", "genres", "name"),
        "movie_genres": T("genre tag", "genre tags", movie_id="film", genre_id="genre"),
        "directors": T("director", "directors", "name"),
        "movie_directors": T(
            "directing credit", "directing credits", movie_id="film", director_id="director"
        ),
        "reviews": T(
            "review summary",
            "review summaries",
            sums="review_count fresh rotten box_office",
            critic_rating="critic rating",
            tomatometer="Tomatometer score",
            review_count="number of reviews",
            fresh="fresh reviews",
            rotten="rotten reviews",
            user_meter="audience score",
            box_office="box office takings",
            production="production company",
            movie_id="film",
        ),
    },
    "gapminder": {
        "regions": T("region", "regions", "name"),
        "countries": T("country", "countries", "name", region_id="region"),
        "indicators": T(
            "yearly record",
            "yearly records",
            year="year",
            fertility="fertility rate",
            life_expectancy="life expectancy",
            population="population",
            country_code="country",
        ),
    },
    "elements": {
        "series": T("series", "series", "name"),
        "groups": T("group", "groups", "symbol", "symbols"),
        "elements": T(
            "element",
            "elements",
            "name",
            period="period",
            block="block",
            atomic_weight="atomic weight",
            density="density",
            electronegativity="electronegativity",
            atomic_radius="atomic radius",
            discovery_year="discovery year",
            discovery_location="discovery location",
            abundance_crust="abundance in the Earth's crust",
            group_id="group",
            series_id="series",
        ),
        "isotopes": T(
            "isotope",
            "isotopes",
            mass_number="mass number",
            mass="mass",
            abundance="natural abundance",
            half_life="half-life",
            half_life_unit="half-life unit",
            discovery_year="discovery year",
            atomic_number="element",
        ),
        "decay_modes": T(
            "decay mode", "decay modes", mode="mode", intensity="intensity", isotope_id="isotope"
        ),
        "oxidation_states": T(
            "oxidation state",
            "oxidation states",
            oxidation_state="oxidation number",
            category="category",
            atomic_number="element",
        ),
    },
    "superstore": {
        "regions": T("region", "regions", "name"),
        "states": T("state", "states", "name", region_id="region"),
        "cities": T("city", "cities", "name", state_id="state"),
        "categories": T("category", "categories", "name"),
        "sub_categories": T("sub-category", "sub-categories", "name", category_id="category"),
        "order_lines": T(
            "order line",
            "order lines",
            sums="sales quantity profit",
            ship_mode="ship mode",
            segment="customer segment",
            sales="sales amount",
            quantity="quantity",
            discount="discount",
            profit="profit",
            city_id="city",
            sub_category_id="sub-category",
        ),
    },
    "cars": {
        "regions": T("region", "regions", "name"),
        "makers": T("maker", "makers", "name", region_id="region of origin"),
        "cars": T(
            "car",
            "cars",
            "model",
            "models",
            year="model year",
            mpg="miles per gallon",
            cylinders="number of cylinders",
            displacement="engine displacement",
            horsepower="horsepower",
            weight_lbs="weight in pounds",
            acceleration="acceleration time",
            maker_id="maker",
        ),
    },
    "penguins": {
        "species": T("species", "species", "common_name", "common names", scientific_name="scientific name"),
        "islands": T("island", "islands", "name"),
        "studies": T("study", "studies", "study_id", "study ids", first_year="first year"),
        "penguins": T(
            "penguin",
            "penguins",
            "individual_id",
            "individual ids",
            clutch_completion="clutch completion",
            culmen_length_mm="culmen length in mm",
            culmen_depth_mm="culmen depth in mm",
            flipper_length_mm="flipper length in mm",
            body_mass_g="body mass in grams",
            sex="sex",
            delta_15n="delta 15N",
            delta_13c="delta 13C",
            study_id="study",
            species_id="species",
            island_id="island",
        ),
    },
}
