"""Question/gold-SQL templates for the built-in databases.

Each template is one query shape with several wordings. Its parameters come from the database
itself (a SQL query whose column aliases name the placeholders) crossed with literal lists, so the
values a question mentions exist in the data. `{name}` in `sql` becomes an SQL literal; in a
question, the plain value. Kinds: filter, aggregate, group (GROUP BY/HAVING), order (ORDER BY ...
LIMIT), join (2-4 tables), nested (subqueries).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Template:
    db_id: str
    kind: str
    name: str
    questions: tuple[str, ...]
    sql: str
    params: str = ""  # SQL over the database: one row per instance
    cross: dict = field(default_factory=dict)  # literal lists crossed with the rows: {"k": [3, 5]}
    limit: int = 10  # instances kept per template


def T(db, kind, name, questions, sql, params="", limit=10, **cross) -> Template:
    return Template(db, kind, name, tuple(questions), " ".join(sql.split()), params, cross, limit)


UNIQUE_PLAYLISTS = "SELECT Name AS playlist FROM Playlist GROUP BY Name HAVING COUNT(*) = 1"
ARTISTS_2 = (
    "SELECT Ar.Name AS artist FROM Artist AS Ar JOIN Album AS Al ON Al.ArtistId = Ar.ArtistId "
    "GROUP BY Ar.ArtistId HAVING COUNT(*) >= 2"
)
ALBUMS = (
    "SELECT A.Title AS album FROM Album AS A JOIN Track AS T ON T.AlbumId = A.AlbumId GROUP BY A.AlbumId "
    "HAVING COUNT(*) BETWEEN 2 AND 30 AND A.Title IN (SELECT Title FROM Album GROUP BY Title HAVING COUNT(*) = 1)"
)
GENRES = "SELECT Name AS genre FROM Genre"
COUNTRIES = "SELECT DISTINCT Country AS country FROM Customer"
BILLING_COUNTRIES = "SELECT DISTINCT BillingCountry AS country FROM Invoice"
YEARS = "SELECT DISTINCT strftime('%Y', InvoiceDate) AS year FROM Invoice"
CUSTOMERS = "SELECT FirstName AS first, LastName AS last FROM Customer"
REPS = (
    "SELECT DISTINCT E.FirstName AS first, E.LastName AS last FROM Employee AS E "
    "JOIN Customer AS C ON C.SupportRepId = E.EmployeeId"
)

CHINOOK = [
    # ---- filters
    T(
        "chinook",
        "filter",
        "customers_in_country",
        [
            "Which customers live in {country}? Give their first and last names.",
            "List the first and last names of all customers from {country}.",
            "Show the names of the customers whose country is {country}.",
            "Who are the customers based in {country}? First name and last name please.",
        ],
        "SELECT FirstName, LastName FROM Customer WHERE Country = {country}",
        COUNTRIES,
    ),
    T(
        "chinook",
        "filter",
        "tracks_longer_than",
        [
            "Which tracks are longer than {minutes} minutes?",
            "List the names of tracks that last more than {minutes} minutes.",
            "Give the names of all tracks whose duration is above {minutes} minutes.",
        ],
        "SELECT Name FROM Track WHERE Milliseconds > {minutes} * 60000",
        minutes=[10, 12, 15, 20, 25, 30, 40, 45, 50, 60],
    ),
    T(
        "chinook",
        "filter",
        "invoices_in_city",
        [
            "Show the id and total of every invoice billed to {city}.",
            "What are the ids and totals of the invoices with billing city {city}?",
            "List invoice ids and amounts for the invoices sent to {city}.",
        ],
        "SELECT InvoiceId, Total FROM Invoice WHERE BillingCity = {city}",
        "SELECT DISTINCT BillingCity AS city FROM Invoice",
    ),
    T(
        "chinook",
        "filter",
        "employees_with_title",
        [
            "Which employees have the job title {title}? Give first and last names.",
            "List the first and last names of every employee whose title is {title}.",
            "Who works as {title}?",
        ],
        "SELECT FirstName, LastName FROM Employee WHERE Title = {title}",
        "SELECT DISTINCT Title AS title FROM Employee",
    ),
    T(
        "chinook",
        "filter",
        "tracks_by_composer",
        [
            "Which tracks were composed by {composer}?",
            "List the names of all tracks whose composer is {composer}.",
            "Give me the tracks written by {composer}.",
        ],
        "SELECT Name FROM Track WHERE Composer = {composer}",
        "SELECT Composer AS composer FROM Track WHERE Composer IS NOT NULL GROUP BY Composer "
        "HAVING COUNT(*) BETWEEN 3 AND 12",
        limit=14,
    ),
    T(
        "chinook",
        "filter",
        "invoices_total_above",
        [
            "Which invoices have a total greater than {amount}? Show the invoice id and billing country.",
            "List the id and billing country of the invoices whose total exceeds {amount}.",
            "Find invoices worth more than {amount}: their ids and billing countries.",
        ],
        "SELECT InvoiceId, BillingCountry FROM Invoice WHERE Total > {amount}",
        amount=[10, 12, 14, 15, 16, 18, 20, 22, 24],
    ),
    T(
        "chinook",
        "filter",
        "customer_email",
        [
            "What is the email address of the customer {first} {last}?",
            "Find the email of the customer named {first} {last}.",
            "Give the email address of {first} {last}.",
        ],
        "SELECT Email FROM Customer WHERE FirstName = {first} AND LastName = {last}",
        CUSTOMERS,
        limit=12,
    ),
    T(
        "chinook",
        "filter",
        "tracks_name_contains",
        [
            "Which tracks have the word '{word}' in their name?",
            "List the names of the tracks whose name contains '{word}'.",
            "Find all tracks with '{word}' in the title.",
        ],
        "SELECT Name FROM Track WHERE Name LIKE '%' || {word} || '%'",
        word=[
            "Love",
            "Night",
            "Blues",
            "Dance",
            "Heart",
            "Time",
            "World",
            "Fire",
            "Girl",
            "Dream",
            "Rain",
            "Sun",
        ],
        limit=12,
    ),
    T(
        "chinook",
        "filter",
        "customers_with_company_in_country",
        [
            "Which customers from {country} work for a company? Give their names and the company.",
            "List first name, last name and company of the customers in {country} that have a company.",
        ],
        "SELECT FirstName, LastName, Company FROM Customer WHERE Country = {country} AND Company IS NOT NULL",
        COUNTRIES,
    ),
    # ---- aggregates
    T(
        "chinook",
        "aggregate",
        "count_customers_country",
        [
            "How many customers are there in {country}?",
            "Count the customers from {country}.",
            "What is the number of customers living in {country}?",
        ],
        "SELECT COUNT(*) FROM Customer WHERE Country = {country}",
        COUNTRIES,
    ),
    T(
        "chinook",
        "aggregate",
        "sales_country",
        [
            "What is the total amount invoiced to {country}?",
            "Sum the totals of all invoices billed to {country}.",
            "How much revenue came from invoices with billing country {country}?",
        ],
        "SELECT SUM(Total) FROM Invoice WHERE BillingCountry = {country}",
        BILLING_COUNTRIES,
        limit=12,
    ),
    T(
        "chinook",
        "aggregate",
        "invoices_in_year",
        [
            "How many invoices were issued in {year}?",
            "Count the invoices dated in the year {year}.",
            "What is the number of invoices from {year}?",
        ],
        "SELECT COUNT(*) FROM Invoice WHERE strftime('%Y', InvoiceDate) = {year}",
        YEARS,
    ),
    T(
        "chinook",
        "aggregate",
        "revenue_year",
        [
            "What were the total sales in {year}?",
            "Sum the invoice totals for the year {year}.",
            "How much was invoiced in {year} in total?",
        ],
        "SELECT SUM(Total) FROM Invoice WHERE strftime('%Y', InvoiceDate) = {year}",
        YEARS,
    ),
    T(
        "chinook",
        "aggregate",
        "max_invoice_country",
        [
            "What is the largest invoice total billed to {country}?",
            "Give the highest invoice amount for the billing country {country}.",
            "What is the maximum total of an invoice sent to {country}?",
        ],
        "SELECT MAX(Total) FROM Invoice WHERE BillingCountry = {country}",
        BILLING_COUNTRIES,
    ),
    T(
        "chinook",
        "aggregate",
        "avg_invoice_city",
        [
            "What is the average invoice total for the billing city {city}?",
            "On average, how much is an invoice billed to {city}?",
        ],
        "SELECT AVG(Total) FROM Invoice WHERE BillingCity = {city}",
        "SELECT DISTINCT BillingCity AS city FROM Invoice",
    ),
    T(
        "chinook",
        "aggregate",
        "count_tracks_longer",
        [
            "How many tracks last longer than {minutes} minutes?",
            "Count the tracks with a duration of more than {minutes} minutes.",
            "What is the number of tracks longer than {minutes} minutes?",
        ],
        "SELECT COUNT(*) FROM Track WHERE Milliseconds > {minutes} * 60000",
        minutes=[3, 4, 5, 6, 7, 8, 9, 10, 20, 30],
    ),
    T(
        "chinook",
        "aggregate",
        "avg_length_media",
        [
            "What is the average length in milliseconds of tracks stored as {media}?",
            "How long is a track in the format {media} on average, in milliseconds?",
        ],
        "SELECT AVG(T.Milliseconds) FROM Track AS T JOIN MediaType AS M ON T.MediaTypeId = M.MediaTypeId "
        "WHERE M.Name = {media}",
        "SELECT Name AS media FROM MediaType",
    ),
    T(
        "chinook",
        "aggregate",
        "album_min_max_length",
        [
            "What are the shortest and the longest track lengths, in milliseconds, on the album {album}?",
            "Give the minimum and maximum track duration on the album {album}.",
        ],
        "SELECT MIN(T.Milliseconds), MAX(T.Milliseconds) FROM Track AS T JOIN Album AS A "
        "ON T.AlbumId = A.AlbumId WHERE A.Title = {album}",
        ALBUMS,
    ),
    # ---- GROUP BY / HAVING
    T(
        "chinook",
        "group",
        "genres_more_tracks",
        [
            "Which genres have more than {n} tracks?",
            "List the names of the genres with over {n} tracks.",
            "Find every genre that has more than {n} tracks.",
        ],
        "SELECT G.Name FROM Genre AS G JOIN Track AS T ON T.GenreId = G.GenreId GROUP BY G.GenreId "
        "HAVING COUNT(*) > {n}",
        n=[10, 20, 30, 40, 50, 60, 75, 100, 200, 300, 500],
    ),
    T(
        "chinook",
        "group",
        "countries_more_customers",
        [
            "Which countries have more than {n} customers?",
            "List the countries with over {n} customers.",
            "In which countries do we have more than {n} customers?",
        ],
        "SELECT Country FROM Customer GROUP BY Country HAVING COUNT(*) > {n}",
        n=[1, 2, 3, 4, 5],
    ),
    T(
        "chinook",
        "group",
        "artists_many_albums",
        [
            "Which artists have at least {n} albums?",
            "List the names of the artists with {n} or more albums.",
            "Find the artists that released at least {n} albums.",
        ],
        "SELECT Ar.Name FROM Artist AS Ar JOIN Album AS Al ON Al.ArtistId = Ar.ArtistId GROUP BY Ar.ArtistId "
        "HAVING COUNT(*) >= {n}",
        n=[2, 3, 4, 5, 6, 8, 10],
    ),
    T(
        "chinook",
        "group",
        "big_spenders",
        [
            "Which customers spent more than {amount} in total? Give first and last names.",
            "List the customers whose invoices add up to more than {amount}.",
            "Find the first and last names of customers with total purchases above {amount}.",
        ],
        "SELECT C.FirstName, C.LastName FROM Customer AS C JOIN Invoice AS I ON I.CustomerId = C.CustomerId "
        "GROUP BY C.CustomerId HAVING SUM(I.Total) > {amount}",
        amount=[38, 39, 40, 42, 45, 47],
    ),
    T(
        "chinook",
        "group",
        "genre_counts_in_playlist",
        [
            "For each genre, how many tracks are in the playlist {playlist}?",
            "Count the tracks of the playlist {playlist} per genre: genre name and count.",
        ],
        "SELECT G.Name, COUNT(*) FROM PlaylistTrack AS PT JOIN Playlist AS P ON PT.PlaylistId = P.PlaylistId "
        "JOIN Track AS T ON PT.TrackId = T.TrackId JOIN Genre AS G ON T.GenreId = G.GenreId "
        "WHERE P.Name = {playlist} GROUP BY G.GenreId",
        UNIQUE_PLAYLISTS,
    ),
    T(
        "chinook",
        "group",
        "customers_per_rep",
        [
            "How many customers does each support representative look after? Give the rep's first name, last name and the count.",
            "For every employee who supports customers, show first name, last name and number of customers.",
            "Count the customers of each sales support agent, with the agent's name.",
        ],
        "SELECT E.FirstName, E.LastName, COUNT(*) FROM Employee AS E JOIN Customer AS C "
        "ON C.SupportRepId = E.EmployeeId GROUP BY E.EmployeeId",
    ),
    T(
        "chinook",
        "group",
        "invoices_per_year_country",
        [
            "How many invoices were billed to {country} in each year?",
            "For each year, count the invoices with billing country {country}.",
        ],
        "SELECT strftime('%Y', InvoiceDate), COUNT(*) FROM Invoice WHERE BillingCountry = {country} "
        "GROUP BY strftime('%Y', InvoiceDate)",
        BILLING_COUNTRIES,
    ),
    T(
        "chinook",
        "group",
        "tracks_per_media_type",
        [
            "How many tracks are there of each media type? Give the media type name and the count.",
            "Count the tracks per media type.",
            "For every media type, list its name and number of tracks.",
        ],
        "SELECT M.Name, COUNT(*) FROM MediaType AS M JOIN Track AS T ON T.MediaTypeId = M.MediaTypeId "
        "GROUP BY M.MediaTypeId",
    ),
    # ---- ORDER BY ... LIMIT
    T(
        "chinook",
        "order",
        "longest_tracks",
        [
            "What are the {k} longest tracks?",
            "List the names of the {k} tracks with the longest duration, longest first.",
            "Name the top {k} tracks by length.",
        ],
        "SELECT Name FROM Track ORDER BY Milliseconds DESC LIMIT {k}",
        k=[2, 3, 4, 5, 6, 8, 10],
    ),
    T(
        "chinook",
        "order",
        "top_countries_invoices",
        [
            "Which {k} billing countries have the most invoices? Give each country and its number of invoices.",
            "List the top {k} countries by number of invoices, with the counts.",
        ],
        "SELECT BillingCountry, COUNT(*) FROM Invoice GROUP BY BillingCountry ORDER BY COUNT(*) DESC LIMIT {k}",
        k=[2, 3, 4, 5],
    ),
    T(
        "chinook",
        "order",
        "artists_most_albums",
        ["Which {k} artists have the most albums?", "Name the top {k} artists by number of albums."],
        "SELECT Ar.Name FROM Artist AS Ar JOIN Album AS Al ON Al.ArtistId = Ar.ArtistId GROUP BY Ar.ArtistId "
        "ORDER BY COUNT(*) DESC LIMIT {k}",
        k=[2, 3, 4, 5, 6],
    ),
    T(
        "chinook",
        "order",
        "top_customers_spend",
        [
            "Who are the {k} customers that spent the most? Give first name, last name and total spent.",
            "List the top {k} customers by total invoice amount, with the amount.",
        ],
        "SELECT C.FirstName, C.LastName, SUM(I.Total) FROM Customer AS C JOIN Invoice AS I "
        "ON I.CustomerId = C.CustomerId GROUP BY C.CustomerId ORDER BY SUM(I.Total) DESC LIMIT {k}",
        k=[2, 3, 4, 5],
    ),
    T(
        "chinook",
        "order",
        "longest_tracks_genre",
        [
            "What are the {k} longest {genre} tracks?",
            "List the {k} longest tracks in the genre {genre}, longest first.",
            "Name the top {k} {genre} tracks by duration.",
        ],
        "SELECT T.Name FROM Track AS T JOIN Genre AS G ON T.GenreId = G.GenreId WHERE G.Name = {genre} "
        "ORDER BY T.Milliseconds DESC LIMIT {k}",
        GENRES,
        k=[3, 5],
        limit=16,
    ),
    T(
        "chinook",
        "order",
        "oldest_employees",
        [
            "Who are the {k} oldest employees? Give first and last names.",
            "List the first and last names of the {k} employees born earliest, oldest first.",
        ],
        "SELECT FirstName, LastName FROM Employee ORDER BY BirthDate LIMIT {k}",
        k=[2, 3, 4, 5],
    ),
    T(
        "chinook",
        "order",
        "largest_tracks_bytes",
        [
            "Which {k} tracks take up the most bytes? Give the names and sizes.",
            "List the {k} biggest tracks by file size in bytes, with the size.",
        ],
        "SELECT Name, Bytes FROM Track ORDER BY Bytes DESC LIMIT {k}",
        k=[2, 3, 5, 7, 10],
    ),
    # ---- JOINs
    T(
        "chinook",
        "join",
        "albums_by_artist",
        [
            "What albums did {artist} release?",
            "List the titles of all albums by {artist}.",
            "Give the album titles of the artist {artist}.",
        ],
        "SELECT Al.Title FROM Album AS Al JOIN Artist AS Ar ON Al.ArtistId = Ar.ArtistId WHERE Ar.Name = {artist}",
        ARTISTS_2,
        limit=16,
    ),
    T(
        "chinook",
        "join",
        "count_albums_artist",
        [
            "How many albums does {artist} have?",
            "Count the albums of the artist {artist}.",
            "What is the number of albums by {artist}?",
        ],
        "SELECT COUNT(*) FROM Album AS Al JOIN Artist AS Ar ON Al.ArtistId = Ar.ArtistId WHERE Ar.Name = {artist}",
        ARTISTS_2,
        limit=14,
    ),
    T(
        "chinook",
        "join",
        "tracks_on_album",
        [
            "Which tracks are on the album {album}?",
            "List the track names of the album {album}.",
            "Give the names of the songs on {album}.",
        ],
        "SELECT T.Name FROM Track AS T JOIN Album AS A ON T.AlbumId = A.AlbumId WHERE A.Title = {album}",
        ALBUMS,
        limit=16,
    ),
    T(
        "chinook",
        "join",
        "artist_of_album",
        [
            "Who is the artist of the album {album}?",
            "Which artist recorded {album}?",
            "Give the name of the artist behind the album {album}.",
        ],
        "SELECT Ar.Name FROM Artist AS Ar JOIN Album AS Al ON Al.ArtistId = Ar.ArtistId WHERE Al.Title = {album}",
        ALBUMS,
        limit=14,
    ),
    T(
        "chinook",
        "join",
        "count_tracks_artist",
        [
            "How many tracks by {artist} are in the store?",
            "Count all tracks of the artist {artist}.",
            "What is the total number of tracks on albums by {artist}?",
        ],
        "SELECT COUNT(*) FROM Track AS T JOIN Album AS Al ON T.AlbumId = Al.AlbumId "
        "JOIN Artist AS Ar ON Al.ArtistId = Ar.ArtistId WHERE Ar.Name = {artist}",
        ARTISTS_2,
        limit=14,
    ),
    T(
        "chinook",
        "join",
        "customers_of_rep",
        [
            "Which customers are supported by {first} {last}? Give their first and last names.",
            "List the customers whose support representative is {first} {last}.",
        ],
        "SELECT C.FirstName, C.LastName FROM Customer AS C JOIN Employee AS E ON C.SupportRepId = E.EmployeeId "
        "WHERE E.FirstName = {first} AND E.LastName = {last}",
        REPS,
    ),
    T(
        "chinook",
        "join",
        "count_tracks_genre",
        [
            "How many tracks belong to the genre {genre}?",
            "Count the {genre} tracks.",
            "What is the number of tracks in the genre {genre}?",
        ],
        "SELECT COUNT(*) FROM Track AS T JOIN Genre AS G ON T.GenreId = G.GenreId WHERE G.Name = {genre}",
        GENRES,
        limit=14,
    ),
    T(
        "chinook",
        "join",
        "genre_revenue",
        [
            "How much revenue did {genre} tracks bring in (unit price times quantity over all invoice lines)?",
            "What is the total sales amount of tracks in the genre {genre}, summing unit price times quantity?",
        ],
        "SELECT SUM(IL.UnitPrice * IL.Quantity) FROM InvoiceLine AS IL JOIN Track AS T ON IL.TrackId = T.TrackId "
        "JOIN Genre AS G ON T.GenreId = G.GenreId WHERE G.Name = {genre}",
        GENRES,
        limit=12,
    ),
    T(
        "chinook",
        "join",
        "playlist_size",
        [
            "How many tracks are in the playlist {playlist}?",
            "Count the tracks of the playlist named {playlist}.",
        ],
        "SELECT COUNT(*) FROM PlaylistTrack AS PT JOIN Playlist AS P ON PT.PlaylistId = P.PlaylistId "
        "WHERE P.Name = {playlist}",
        UNIQUE_PLAYLISTS,
    ),
    T(
        "chinook",
        "join",
        "customer_invoice_count",
        ["How many invoices does {first} {last} have?", "Count the invoices of the customer {first} {last}."],
        "SELECT COUNT(*) FROM Invoice AS I JOIN Customer AS C ON I.CustomerId = C.CustomerId "
        "WHERE C.FirstName = {first} AND C.LastName = {last}",
        CUSTOMERS,
        limit=12,
    ),
    T(
        "chinook",
        "join",
        "genres_of_artist",
        ["Which genres does {artist} play?", "List the distinct genres of the tracks by {artist}."],
        "SELECT DISTINCT G.Name FROM Genre AS G JOIN Track AS T ON T.GenreId = G.GenreId "
        "JOIN Album AS Al ON T.AlbumId = Al.AlbumId JOIN Artist AS Ar ON Al.ArtistId = Ar.ArtistId "
        "WHERE Ar.Name = {artist}",
        ARTISTS_2,
        limit=12,
    ),
    T(
        "chinook",
        "join",
        "manager_of",
        [
            "Who does {first} {last} report to? Give the manager's first and last name.",
            "What is the name of the manager of the employee {first} {last}?",
        ],
        "SELECT M.FirstName, M.LastName FROM Employee AS E JOIN Employee AS M ON E.ReportsTo = M.EmployeeId "
        "WHERE E.FirstName = {first} AND E.LastName = {last}",
        "SELECT FirstName AS first, LastName AS last FROM Employee WHERE ReportsTo IS NOT NULL",
    ),
    # ---- nested
    T(
        "chinook",
        "nested",
        "genre_tracks_above_avg",
        [
            "Which {genre} tracks are longer than the average track?",
            "List the {genre} tracks whose length exceeds the average length of all tracks.",
        ],
        "SELECT T.Name FROM Track AS T JOIN Genre AS G ON T.GenreId = G.GenreId WHERE G.Name = {genre} "
        "AND T.Milliseconds > (SELECT AVG(Milliseconds) FROM Track)",
        GENRES,
        limit=12,
    ),
    T(
        "chinook",
        "nested",
        "never_sold_genre",
        [
            "How many {genre} tracks have never been sold?",
            "Count the tracks of the genre {genre} that appear on no invoice line.",
        ],
        "SELECT COUNT(*) FROM Track WHERE GenreId IN (SELECT GenreId FROM Genre WHERE Name = {genre}) "
        "AND TrackId NOT IN (SELECT TrackId FROM InvoiceLine)",
        GENRES,
        limit=12,
    ),
    T(
        "chinook",
        "nested",
        "invoices_above_avg_country",
        [
            "Which invoices billed to {country} are above the average invoice total? Give id and total.",
            "List id and total of the {country} invoices whose total is higher than the average over all invoices.",
        ],
        "SELECT InvoiceId, Total FROM Invoice WHERE BillingCountry = {country} "
        "AND Total > (SELECT AVG(Total) FROM Invoice)",
        BILLING_COUNTRIES,
    ),
    T(
        "chinook",
        "nested",
        "artists_without_albums",
        [
            "How many artists have no albums?",
            "Count the artists that do not have any album.",
            "What is the number of artists without a single album in the store?",
        ],
        "SELECT COUNT(*) FROM Artist WHERE ArtistId NOT IN (SELECT ArtistId FROM Album)",
    ),
    T(
        "chinook",
        "nested",
        "albums_more_tracks_than",
        [
            "Which albums have more tracks than {album}?",
            "List the titles of the albums with more tracks than the album {album}.",
        ],
        "SELECT A.Title FROM Album AS A JOIN Track AS T ON T.AlbumId = A.AlbumId GROUP BY A.AlbumId "
        "HAVING COUNT(*) > (SELECT COUNT(*) FROM Track AS T2 JOIN Album AS A2 ON T2.AlbumId = A2.AlbumId "
        "WHERE A2.Title = {album})",
        ALBUMS,
        limit=12,
    ),
    T(
        "chinook",
        "nested",
        "longest_in_genre",
        [
            "What is the name of the longest track in the genre {genre}?",
            "Which {genre} track has the greatest duration?",
        ],
        "SELECT Name FROM Track WHERE GenreId IN (SELECT GenreId FROM Genre WHERE Name = {genre}) "
        "AND Milliseconds = (SELECT MAX(Milliseconds) FROM Track WHERE GenreId IN "
        "(SELECT GenreId FROM Genre WHERE Name = {genre}))",
        GENRES,
        limit=12,
    ),
    T(
        "chinook",
        "nested",
        "above_avg_spenders_country",
        [
            "Which customers from {country} bought more than the average customer? Give first and last names.",
            "List customers in {country} whose total purchases exceed the average total per customer.",
        ],
        "SELECT C.FirstName, C.LastName FROM Customer AS C JOIN Invoice AS I ON I.CustomerId = C.CustomerId "
        "WHERE C.Country = {country} GROUP BY C.CustomerId HAVING SUM(I.Total) > "
        "(SELECT SUM(Total) * 1.0 / COUNT(DISTINCT CustomerId) FROM Invoice)",
        COUNTRIES,
    ),
]

ORIGINS = "SELECT DISTINCT origin FROM flights"
DAYS = "SELECT DISTINCT day FROM flights"
DESTS = "SELECT dest FROM flights GROUP BY dest HAVING COUNT(*) >= 20"
AIRLINES = "SELECT name AS airline FROM airlines"
MAKERS = "SELECT manufacturer AS maker FROM planes GROUP BY manufacturer HAVING COUNT(*) >= 5"
WEEK = list(range(1, 32, 3))

FLIGHTS = [
    # ---- filters
    T(
        "flights",
        "filter",
        "route_on_day",
        [
            "Which flights went from {origin} to {dest} on January {day}? Give carrier, flight number and departure time.",
            "List carrier, flight number and departure time of the flights from {origin} to {dest} on January {day}.",
            "Show the {origin} to {dest} flights of January {day} (carrier, flight, dep_time).",
        ],
        "SELECT carrier, flight, dep_time FROM flights WHERE origin = {origin} AND dest = {dest} AND day = {day}",
        "SELECT origin, dest, day FROM flights GROUP BY origin, dest, day HAVING COUNT(*) BETWEEN 2 AND 5",
        limit=14,
    ),
    T(
        "flights",
        "filter",
        "airports_in_tzone",
        [
            "Which airports are in the time zone {tzone}?",
            "List the names of the airports whose tzone is {tzone}.",
        ],
        "SELECT name FROM airports WHERE tzone = {tzone}",
        "SELECT tzone FROM airports WHERE tzone IS NOT NULL GROUP BY tzone HAVING COUNT(*) <= 60",
    ),
    T(
        "flights",
        "filter",
        "big_planes_by_maker",
        [
            "Which {maker} planes have more than {seats} seats? Give tail number and model.",
            "List tail numbers and models of {maker} aircraft with over {seats} seats.",
        ],
        "SELECT tailnum, model FROM planes WHERE manufacturer = {maker} AND seats > {seats}",
        MAKERS,
        seats=[100, 150, 200],
        limit=12,
    ),
    T(
        "flights",
        "filter",
        "late_departures_day",
        [
            "Which flights on January {day} left more than {minutes} minutes late? Show carrier, flight and delay.",
            "List carrier, flight number and departure delay of the flights of January {day} delayed over {minutes} minutes.",
        ],
        "SELECT carrier, flight, dep_delay FROM flights WHERE day = {day} AND dep_delay > {minutes}",
        DAYS,
        minutes=[120, 180, 240],
        limit=12,
    ),
    T(
        "flights",
        "filter",
        "old_planes",
        [
            "Which planes were built before {year}? Give tail numbers.",
            "List the tail numbers of the planes manufactured before {year}.",
            "Find all aircraft older than the year {year}: their tail numbers.",
        ],
        "SELECT tailnum FROM planes WHERE year < {year}",
        year=[1965, 1970, 1975, 1980, 1985, 1988, 1990],
    ),
    T(
        "flights",
        "filter",
        "cancelled_on_day",
        [
            "Which flights were cancelled on January {day}, that is, have no departure time? Give carrier, flight, origin and destination.",
            "List carrier, flight, origin and dest of the flights of January {day} whose dep_time is missing.",
        ],
        "SELECT carrier, flight, origin, dest FROM flights WHERE day = {day} AND dep_time IS NULL",
        DAYS,
    ),
    T(
        "flights",
        "filter",
        "windy_hours",
        [
            "At which hours on January {day} was the wind at {origin} faster than {speed} mph?",
            "List the hours of January {day} when the wind speed at {origin} exceeded {speed}.",
        ],
        "SELECT hour FROM weather WHERE origin = {origin} AND day = {day} AND wind_speed > {speed}",
        "SELECT DISTINCT origin, day FROM weather",
        speed=[15, 20],
        limit=10,
    ),
    # ---- aggregates
    T(
        "flights",
        "aggregate",
        "count_to_dest",
        [
            "How many flights went to {dest}?",
            "Count the flights whose destination is {dest}.",
            "What is the number of flights to {dest} in the data?",
        ],
        "SELECT COUNT(*) FROM flights WHERE dest = {dest}",
        DESTS,
        limit=12,
    ),
    T(
        "flights",
        "aggregate",
        "avg_delay_airline",
        [
            "What is the average departure delay of {airline}?",
            "On average, how late did {airline} flights depart?",
            "Compute the mean dep_delay of flights operated by {airline}.",
        ],
        "SELECT AVG(f.dep_delay) FROM flights AS f JOIN airlines AS a ON f.carrier = a.carrier WHERE a.name = {airline}",
        AIRLINES,
        limit=12,
    ),
    T(
        "flights",
        "aggregate",
        "count_origin_day",
        [
            "How many flights left {origin} on January {day}?",
            "Count the departures from {origin} on January {day}.",
        ],
        "SELECT COUNT(*) FROM flights WHERE origin = {origin} AND day = {day}",
        "SELECT DISTINCT origin, day FROM flights",
        limit=12,
    ),
    T(
        "flights",
        "aggregate",
        "avg_temp",
        [
            "What was the average temperature at {origin} on January {day}?",
            "Give the mean recorded temperature at {origin} for January {day}.",
        ],
        "SELECT AVG(temp) FROM weather WHERE origin = {origin} AND day = {day}",
        "SELECT DISTINCT origin, day FROM weather",
        limit=10,
    ),
    T(
        "flights",
        "aggregate",
        "longest_distance_airline",
        [
            "What is the longest distance flown by {airline}?",
            "Give the maximum flight distance of {airline}.",
        ],
        "SELECT MAX(f.distance) FROM flights AS f JOIN airlines AS a ON f.carrier = a.carrier WHERE a.name = {airline}",
        AIRLINES,
        limit=10,
    ),
    T(
        "flights",
        "aggregate",
        "cancelled_count",
        [
            "How many flights were cancelled (no departure time) on January {day}?",
            "Count the flights of January {day} with a missing dep_time.",
        ],
        "SELECT COUNT(*) FROM flights WHERE day = {day} AND dep_time IS NULL",
        DAYS,
    ),
    T(
        "flights",
        "aggregate",
        "avg_seats_maker",
        [
            "How many seats does a {maker} plane have on average?",
            "What is the average number of seats of planes made by {maker}?",
        ],
        "SELECT AVG(seats) FROM planes WHERE manufacturer = {maker}",
        MAKERS,
    ),
    T(
        "flights",
        "aggregate",
        "max_wind",
        [
            "What was the highest wind speed measured at {origin} on January {day}?",
            "Give the maximum wind speed at {origin} on January {day}.",
        ],
        "SELECT MAX(wind_speed) FROM weather WHERE origin = {origin} AND day = {day}",
        "SELECT DISTINCT origin, day FROM weather",
        limit=10,
    ),
    # ---- GROUP BY / HAVING
    T(
        "flights",
        "group",
        "busy_destinations",
        [
            "Which destinations received more than {n} flights?",
            "List the destination airport codes with over {n} flights.",
            "Find every dest with more than {n} flights.",
        ],
        "SELECT dest FROM flights GROUP BY dest HAVING COUNT(*) > {n}",
        n=[100, 200, 300, 500, 700, 1000, 1200],
    ),
    T(
        "flights",
        "group",
        "late_carriers",
        [
            "Which carriers have an average departure delay above {minutes} minutes?",
            "List the carrier codes whose mean dep_delay exceeds {minutes}.",
        ],
        "SELECT carrier FROM flights GROUP BY carrier HAVING AVG(dep_delay) > {minutes}",
        minutes=[5, 8, 10, 12, 15, 20],
    ),
    T(
        "flights",
        "group",
        "big_makers",
        [
            "Which manufacturers have more than {n} planes?",
            "List the plane manufacturers with over {n} aircraft.",
        ],
        "SELECT manufacturer FROM planes GROUP BY manufacturer HAVING COUNT(*) > {n}",
        n=[5, 10, 50, 100, 200, 500],
    ),
    T(
        "flights",
        "group",
        "departures_per_origin",
        [
            "How many flights left each New York airport on January {day}? Give origin and count.",
            "For January {day}, count the flights per origin airport.",
        ],
        "SELECT origin, COUNT(*) FROM flights WHERE day = {day} GROUP BY origin",
        DAYS,
    ),
    T(
        "flights",
        "group",
        "carriers_to_dest",
        [
            "For each carrier, how many flights went to {dest}?",
            "Count the flights to {dest} per carrier code.",
        ],
        "SELECT carrier, COUNT(*) FROM flights WHERE dest = {dest} GROUP BY carrier",
        DESTS,
        limit=12,
    ),
    T(
        "flights",
        "group",
        "delay_per_origin_airline",
        [
            "What is the average departure delay of {airline} at each origin airport?",
            "For {airline}, give each origin and its mean dep_delay.",
        ],
        "SELECT f.origin, AVG(f.dep_delay) FROM flights AS f JOIN airlines AS a ON f.carrier = a.carrier "
        "WHERE a.name = {airline} GROUP BY f.origin",
        AIRLINES,
    ),
    # ---- ORDER BY ... LIMIT
    T(
        "flights",
        "order",
        "top_dests_from",
        [
            "What are the {k} most common destinations of flights from {origin}, with their number of flights?",
            "List the top {k} destinations from {origin} by flight count.",
        ],
        "SELECT dest, COUNT(*) FROM flights WHERE origin = {origin} GROUP BY dest ORDER BY COUNT(*) DESC LIMIT {k}",
        ORIGINS,
        k=[2, 3, 5, 10],
    ),
    T(
        "flights",
        "order",
        "worst_delays_day",
        [
            "Which {k} flights had the longest departure delays on January {day}? Give carrier, flight and delay.",
            "List the {k} most delayed departures of January {day} (carrier, flight, dep_delay).",
        ],
        "SELECT carrier, flight, dep_delay FROM flights WHERE day = {day} ORDER BY dep_delay DESC LIMIT {k}",
        DAYS,
        k=[3, 5],
        limit=14,
    ),
    T(
        "flights",
        "order",
        "busiest_days",
        [
            "Which {k} days of January had the most flights? Give the day and the number of flights.",
            "List the top {k} days by number of flights.",
        ],
        "SELECT day, COUNT(*) FROM flights GROUP BY day ORDER BY COUNT(*) DESC LIMIT {k}",
        k=[2, 3, 5, 7, 10],
    ),
    T(
        "flights",
        "order",
        "highest_airports",
        [
            "What are the {k} highest airports? Give name and altitude.",
            "List the {k} airports with the greatest altitude, highest first.",
        ],
        "SELECT name, alt FROM airports ORDER BY alt DESC LIMIT {k}",
        k=[2, 3, 5, 8],
    ),
    T(
        "flights",
        "order",
        "longest_air_time_airline",
        [
            "What are the {k} longest flights of {airline} by air time? Give flight number, destination and air time.",
            "List flight, dest and air_time of the {k} {airline} flights with the most time in the air.",
        ],
        "SELECT f.flight, f.dest, f.air_time FROM flights AS f JOIN airlines AS a ON f.carrier = a.carrier "
        "WHERE a.name = {airline} ORDER BY f.air_time DESC LIMIT {k}",
        AIRLINES,
        k=[2, 3, 5],
        limit=12,
    ),
    # ---- JOINs
    T(
        "flights",
        "join",
        "airlines_to_dest",
        [
            "Which airlines flew to {dest}? Give their full names.",
            "List the names of the airlines with flights to {dest}.",
        ],
        "SELECT DISTINCT a.name FROM flights AS f JOIN airlines AS a ON f.carrier = a.carrier WHERE f.dest = {dest}",
        DESTS,
        limit=12,
    ),
    T(
        "flights",
        "join",
        "airports_served_by",
        [
            "Which destination airports does {airline} serve? Give the airport names.",
            "List the names of the airports that {airline} flew to.",
        ],
        "SELECT DISTINCT ap.name FROM flights AS f JOIN airlines AS a ON f.carrier = a.carrier "
        "JOIN airports AS ap ON f.dest = ap.faa WHERE a.name = {airline}",
        AIRLINES,
        limit=10,
    ),
    T(
        "flights",
        "join",
        "flights_by_maker",
        [
            "How many flights were made with planes built by {maker}?",
            "Count the flights flown by {maker} aircraft.",
        ],
        "SELECT COUNT(*) FROM flights AS f JOIN planes AS p ON f.tailnum = p.tailnum WHERE p.manufacturer = {maker}",
        MAKERS,
    ),
    T(
        "flights",
        "join",
        "flights_to_airport_name",
        [
            "How many flights landed at {airport}?",
            "Count the flights whose destination airport is {airport}.",
        ],
        "SELECT COUNT(*) FROM flights AS f JOIN airports AS ap ON f.dest = ap.faa WHERE ap.name = {airport}",
        "SELECT ap.name AS airport FROM airports AS ap JOIN flights AS f ON f.dest = ap.faa GROUP BY ap.faa "
        "HAVING COUNT(*) >= 20",
        limit=12,
    ),
    T(
        "flights",
        "join",
        "models_of_airline",
        [
            "Which plane models did {airline} fly?",
            "List the distinct aircraft models used on {airline} flights.",
        ],
        "SELECT DISTINCT p.model FROM flights AS f JOIN planes AS p ON f.tailnum = p.tailnum "
        "JOIN airlines AS a ON f.carrier = a.carrier WHERE a.name = {airline}",
        AIRLINES,
    ),
    T(
        "flights",
        "join",
        "temp_at_departure",
        [
            "What was the temperature at the origin airport when flight {carrier} {flight} departed on January {day}?",
            "Give the temperature at departure for flight {flight} of carrier {carrier} on January {day}.",
        ],
        "SELECT w.temp FROM flights AS f JOIN weather AS w ON f.origin = w.origin AND f.year = w.year "
        "AND f.month = w.month AND f.day = w.day AND f.hour = w.hour "
        "WHERE f.carrier = {carrier} AND f.flight = {flight} AND f.day = {day}",
        "SELECT carrier, flight, day FROM flights WHERE dep_time IS NOT NULL "
        "GROUP BY carrier, flight, day HAVING COUNT(*) = 1",
        limit=10,
    ),
    # ---- nested
    T(
        "flights",
        "nested",
        "above_avg_delay_day",
        [
            "Which flights from {origin} on January {day} had a departure delay above that day's average? Give carrier and flight.",
            "List carrier and flight of the {origin} departures of January {day} delayed more than the average flight of that day.",
        ],
        "SELECT carrier, flight FROM flights WHERE origin = {origin} AND day = {day} "
        "AND dep_delay > (SELECT AVG(dep_delay) FROM flights WHERE day = {day})",
        "SELECT DISTINCT origin, day FROM flights",
        limit=10,
    ),
    T(
        "flights",
        "nested",
        "idle_planes",
        [
            "How many {maker} planes did not fly in January?",
            "Count the planes made by {maker} that appear in no flight.",
        ],
        "SELECT COUNT(*) FROM planes WHERE manufacturer = {maker} "
        "AND tailnum NOT IN (SELECT tailnum FROM flights WHERE tailnum IS NOT NULL)",
        MAKERS,
    ),
    T(
        "flights",
        "nested",
        "busier_than",
        [
            "Which destinations received more flights than {dest}?",
            "List the dest codes with a higher number of flights than {dest}.",
        ],
        "SELECT dest FROM flights GROUP BY dest HAVING COUNT(*) > (SELECT COUNT(*) FROM flights WHERE dest = {dest})",
        DESTS,
        limit=12,
    ),
    T(
        "flights",
        "nested",
        "airlines_not_to",
        [
            "Which airlines never flew to {dest}?",
            "List the names of the airlines without any flight to {dest}.",
        ],
        "SELECT name FROM airlines WHERE carrier NOT IN (SELECT carrier FROM flights WHERE dest = {dest})",
        DESTS,
        limit=12,
    ),
    T(
        "flights",
        "nested",
        "roomy_models",
        [
            "Which {maker} models have more seats than the average plane?",
            "List the distinct models of {maker} planes whose seat count is above the average over all planes.",
        ],
        "SELECT DISTINCT model FROM planes WHERE manufacturer = {maker} AND seats > (SELECT AVG(seats) FROM planes)",
        MAKERS,
    ),
]

TEMPLATES = CHINOOK + FLIGHTS
