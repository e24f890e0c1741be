"""Word search over ``tickets.search_text`` that an index serves on both databases.

A word search matches the tickets whose folded name + summary contain every word typed, as
whole words: ``an`` finds "Nguyễn Văn An", not "Lan" or "Thanh"; ``ha`` finds "Hà" and "Hạ", not
"Hải". Words are runs of ``a-z``/``0-9`` in the folded text, the same on both databases:

- SQLite: an FTS5 table over ``search_text`` (external content, kept in step by triggers;
  migration 0004). A search first counts its matches in the FTS index (cheap, capped). A result
  of up to ``cap`` tickets is read through the index; a larger one is read in list order with a
  whole-word GLOB per row instead, which stops after one page because matches are then dense
  (fetching a hundred thousand ids from the index only to sort them would be the slow part).
- PostgreSQL: the words as an array in the stored generated column ``search_words``
  (``helpdesk_words(search_text)``, migrations 0004 and 0014) with a GIN index. The planner
  reads rare words through the index and frequent ones in list order, where the check per row
  is a plain array containment.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from ..extensions import db
from ..textutil import FOLDED_WORD, fold
from .models import Ticket

FTS_TABLE = "tickets_fts"
PG_FUNCTION = "helpdesk_words"
PG_INDEX = "ix_tickets_words"
PG_COLUMN = "search_words"
MAX_WORDS = 8


def words_of(text: str | None) -> list[str]:
    """The distinct words of ``text`` as the index holds them (folded, at most MAX_WORDS)."""
    words: list[str] = []
    for word in FOLDED_WORD.findall(fold(text)):
        if word not in words:
            words.append(word)
    return words[:MAX_WORDS]


@dataclass(frozen=True)
class WordSearch:
    condition: ColumnElement[bool]
    # How many tickets the words match, counted up to cap + 1 (SQLite's FTS index does it
    # cheaply); None on PostgreSQL, where a list does not count them past its page either
    # (tickets.queries._page_base says why).
    matches: int | None


def word_search(words: list[str], cap: int) -> WordSearch:
    """The condition matching tickets that hold every word (``words`` from words_of)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        # For the rest of this transaction only: a parallel plan for a LIMIT 50 page costs more
        # in worker start-up and overshoot than it saves (and takes the cores of other requests).
        db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        stored = literal_column(f"{Ticket.__tablename__}.{PG_COLUMN}", ARRAY(Text))
        return WordSearch(stored.contains(words), None)
    fts = table(FTS_TABLE, literal_column("rowid"))
    query = " ".join(f'"{w}"' for w in words)  # FTS5 phrases; words are [0-9a-z]+ only
    matched = select(literal_column("rowid")).select_from(fts)
    matched = matched.where(literal_column(FTS_TABLE).op("MATCH")(query))
    inner = matched.limit(cap + 1).subquery()
    # One row back: the count and the ids as a JSON array, which the page query then reads with
    # json_each. The FTS query runs once per request and no id crosses into Python one by one.
    count, ids = db.session.execute(
        select(func.count(), func.json_group_array(inner.c.rowid)).select_from(inner)
    ).one()
    if count <= cap:
        listed = func.json_each(ids).table_valued("value")
        return WordSearch(Ticket.id.in_(select(listed.c.value)), count)
    padded = literal(" ") + Ticket.search_text + literal(" ")
    globs = [padded.op("GLOB")(f"*[^0-9a-z]{w}[^0-9a-z]*") for w in words]
    return WordSearch(and_(*globs), count)


def include_name(name: str | None, type_: str, _parent_names) -> bool:
    """Alembic's filter: the search index is SQL of migrations 0004 and 0014, not part of the
    models (the FTS5 table and its shadow tables on SQLite; the stored words column and its
    index on PostgreSQL, whose ARRAY type SQLite lacks).
    """
    if type_ == "table" and name:
        return name != FTS_TABLE and not name.startswith(FTS_TABLE + "_")
    if type_ == "index":
        return name != PG_INDEX
    if type_ == "column":
        return name != PG_COLUMN
    return True
