"""Distilled test suites: per gold query, a few small edits of the database that tell it from its near misses.

After Zhong, Yu & Klein, "Semantic Evaluation for Text-to-SQL with Distilled Test Suites" (EMNLP 2020,
https://arxiv.org/abs/2010.02840), the official metric of Spider/SParC/CoSQL, with targeted edits of the
real database instead of many random ones:

1. Neighbor queries: small semantic mutations of the gold made with sqlglot (comparison operators,
   literals shifted by the smallest step, `=` as LIKE, another column compared or NULL-tested,
   DISTINCT, COUNT(*)/COUNT(col)/COUNT(DISTINCT col), INNER/LEFT JOIN, one WHERE/HAVING conjunct
   dropped, another grouping/ordering column, LIKE pattern variants, LIMIT k±1, ASC/DESC, any of
   MIN/MAX/AVG/SUM for another, IS [NOT] NULL, [NOT] IN). The ones the database itself or a perturbed
   copy already tells from the gold need nothing more; one that errors there is no near miss.
2. Candidate variants, each a few row edits aimed at the gold's *witness* rows (rows of each FROM clause
   that reach its result; for a gold that matches nothing today, rows that fail one filter only):
   values at and around every literal (±1, ±0.01, the day before/after a date, in the column's own
   format), text that matches one LIKE variant and not another or extends an equal string, a sibling
   row that differs in one filtered value (a copied parent takes its witness children along), groups
   brought to exactly a HAVING bound (at most `MAX_COPIES`=100 rows copied or deleted), NULLs in the
   gold's columns or in all the others, NULLs filled in, duplicated rows (a copied parent alone has no
   children), the other columns of a row changed, a row deleted. One more, the *hedge*, changes the
   columns the gold never reads in all its witness rows: it joins the suite whatever the neighbors, for
   extra filters on such columns, which no mutation of the gold can express.
3. Edits respect the schema: primary keys and UNIQUE columns get fresh values and are never updated or
   NULL; NOT NULL holds; a foreign key only takes a value its parent has; a row is deleted only when
   nothing references it. Two rules keep the oracle from rejecting what a reader would call the same
   query: text columns whose values are all distinct (names, titles; >= 10 rows) stay distinct, so
   `GROUP BY name` and `GROUP BY id` agree, and an entity the gold names by equality filters
   (`FirstName = 'Jane' AND LastName = 'Peacock'`, one row today) stays unique: a copy that keeps every
   filtered value gets a fresh name, while a sibling that changes one of them may share the others, so
   an incomplete name filter is caught.
4. A variant is kept only where the gold stays well defined: it runs, returns a result that is neither
   empty nor all NULL, its LIMIT cut has no tie and its ORDER BY has no more ties than on the original.
5. Selection: candidates are tried in a fixed order against the neighbors no database tells apart yet
   (stopping after `PATIENCE` useless ones or the time budget); the useful ones are reduced by greedy set
   cover (as in the paper) to at most `max_variants`, then merged into as few databases as still tell
   apart everything they did. Neighbors left over (mostly equivalent on every valid database:
   `SELECT DISTINCT COUNT(*)`, `COUNT(day)` under `WHERE day = 4`) are listed in the suite as `uncovered`.
6. A suite is a small JSON file, the edits and not the databases, cached per (database content hash,
   gold query, copies, seed, max_variants) under `CACHE/text2sql/suites/`. The oracle keeps one
   in-memory copy of each database per thread, applies a variant's edits inside a savepoint while it
   judges a query on it (read-only: query_only and the authorizer) and rolls them back.
7. Huge databases (over `max_db_bytes`, 64 MiB by default): the edits apply to a sampled sub-database,
   per gold and cached, that keeps the gold's witness rows (up to `WITNESSES`=200 per FROM clause), up
   to `sample_rows` (2,000) other rows per table, and every parent row those reference (repeated until
   no foreign key dangles that did not dangle before), so a table holds at most about
   `sample_rows + 200 x FROM clauses` rows plus parents.
"""

from .edits import WITNESSES, Editor, Pred, Variant, candidates, fetch_row, predicates, witness_rows
from .facts import Col, Table, schema_facts
from .neighbors import Neighbor, Scope, boundary_values, const_value, literal_shifts, neighbors, scopes
from .suite import (
    SUITE_VERSION,
    Suite,
    build_all,
    build_suite,
    db_hash,
    load_or_build,
    open_variant,
    sample_database,
    suite_base,
    suite_file,
    suite_folder,
)

__all__ = [
    "WITNESSES",
    "Editor",
    "Pred",
    "Variant",
    "candidates",
    "fetch_row",
    "predicates",
    "witness_rows",
    "Col",
    "Table",
    "schema_facts",
    "Neighbor",
    "Scope",
    "boundary_values",
    "const_value",
    "literal_shifts",
    "neighbors",
    "scopes",
    "SUITE_VERSION",
    "Suite",
    "build_all",
    "build_suite",
    "db_hash",
    "load_or_build",
    "open_variant",
    "sample_database",
    "suite_base",
    "suite_file",
    "suite_folder",
]
