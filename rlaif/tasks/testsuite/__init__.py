"""Distilled test suites: per gold query, a few small edits of the database that tell it from its near misses.

After Zhong, Yu & Klein, "Semantic Evaluation for Text-to-SQL with Distilled Test Suites" (EMNLP 2020,
https://arxiv.org/abs/2010.02840), the official metric of Spider/SParC/CoSQL, with targeted edits of the
real database instead of many random ones:

1. Neighbor queries: small semantic mutations of the gold made with sqlglot (comparison operators,
   literals shifted by the smallest step, DISTINCT, COUNT(*)/COUNT(col)/COUNT(DISTINCT col), INNER/LEFT
   JOIN, one WHERE/HAVING conjunct dropped, another grouping/ordering column, LIKE pattern variants,
   LIMIT k±1, ASC/DESC, MIN/MAX, AVG/SUM, IS [NOT] NULL, [NOT] IN). The ones the database itself or a
   perturbed copy already tells from the gold need nothing more; one that errors there is no near miss.
2. Candidate variants, each a few row edits aimed at the gold's *witness* rows (rows of each FROM clause
   that reach its result): values at and around every literal (±1, ±0.01, the day before/after a date,
   in the column's own format), text that matches one LIKE variant and not another or extends an equal
   string, a sibling row that differs in one filtered value, groups brought to exactly a HAVING bound,
   NULLs in the gold's columns or in all the others, NULLs filled in, duplicated rows (a copied parent
   has no children), the other columns of a row changed, a row deleted.
3. Edits respect the schema: primary keys and UNIQUE columns get fresh values and are never updated or
   NULL; NOT NULL holds; a foreign key only takes a value its parent has; a row is deleted only when
   nothing references it. Two rules keep the oracle from rejecting what a reader would call the same
   query: text columns whose values are all distinct (names, titles; >= 10 rows) stay distinct, so
   `GROUP BY name` and `GROUP BY id` agree, and an entity the gold names by its text columns (`FirstName
   = 'Jane' AND LastName = 'Peacock'`, one row today) stays unique; a sibling may still share one of
   those values, so an incomplete name filter is caught.
4. A variant is kept only where the gold stays well defined: it runs, returns a result that is neither
   empty nor all NULL, its LIMIT cut has no tie and its ORDER BY has no more ties than on the original.
5. Selection: candidates are tried in a fixed order against the neighbors no database tells apart yet
   (stopping after `PATIENCE` useless ones or the time budget); the useful ones are reduced by greedy set
   cover (as in the paper) to at most `max_variants`, then merged into as few databases as still tell
   apart everything they did. Neighbors left over (often true equivalents: `x >= 4` vs `x > 3` on
   integers) are listed in the suite as `uncovered`.
6. A suite is a small JSON file, the edits and not the databases, cached per (database content hash,
   gold query, copies, seed) under `CACHE/text2sql/suites/`; the oracle replays the edits into an
   in-memory copy when it first needs one.
7. Huge databases (over `max_db_bytes`, 64 MiB by default): the edits apply to a sampled sub-database,
   per gold and cached, that keeps the gold's witness rows (up to `WITNESSES`=200 per FROM clause), up
   to `sample_rows` (2,000) other rows per table, and every parent row those reference (repeated until
   no foreign key dangles that did not dangle before), so a table holds at most about
   `sample_rows + 200 x FROM clauses` rows plus parents.
"""

from .edits import WITNESSES, Editor, Pred, Variant, candidates, fetch_row, predicates, witness_rows
from .facts import Col, Table, schema_facts
from .neighbors import Neighbor, Scope, boundary_values, const_value, literal_shifts, neighbors, scopes
from .suite import (SUITE_VERSION, Suite, build_all, build_suite, db_hash, load_or_build, open_variant,
                    sample_database, suite_base, suite_file, suite_folder)

__all__ = ["WITNESSES", "Editor", "Pred", "Variant", "candidates", "fetch_row", "predicates", "witness_rows", "Col",
           "Table", "schema_facts", "Neighbor", "Scope", "boundary_values", "const_value", "literal_shifts",
           "neighbors", "scopes", "SUITE_VERSION", "Suite", "build_all", "build_suite", "db_hash", "load_or_build",
           "open_variant", "sample_database", "suite_base", "suite_file", "suite_folder"]
