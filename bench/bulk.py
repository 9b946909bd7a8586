"""Bulk mailboxes: many users' messages inserted straight into the database.

Rows have realistic field sizes and a realistic mix (see BulkMailboxes); PostgreSQL
gets the product's search vector, SQLite the product's FTS5 index (its triggers, or
for a bulk load one rebuild after the rows are in). The inbox and search benchmarks
load them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from bench.users import make_user_and_account

ENGLISH_WORDS = (
    "meeting project report budget review schedule update contract invoice quarterly "
    "release deploy server customer support ticket design proposal draft agenda minutes "
    "travel expense approval request question answer thanks regards please attached "
    "document version feedback deadline friday monday morning afternoon call video team "
    "launch marketing sales numbers forecast hiring interview candidate offer office "
    "holiday weekend dinner lunch coffee birthday family photo newsletter discount order "
    "shipping delivery tracking account password security notice login payment receipt "
    "subscription renewal event conference speaker slides workshop training course "
    "the a of and to in for on with at by from about this that we you our your is are "
    "will be have has can could would should not all any more new next last first time"
).split()
KOREAN_WORDS = (
    "회의 보고서 일정 안내 검토 요청 승인 예산 계약 견적서 자료 첨부 확인 부탁드립니다 "
    "감사합니다 안녕하세요 프로젝트 진행 상황 공유 드립니다 다음 주 월요일 금요일 오전 오후 "
    "팀장님 담당자 고객 문의 답변 배송 주문 결제 영수증 공지 변경 사항 출장 경비 정산 "
    "교육 세미나 발표 자료 초안 의견 수정 최종 버전 마감 일자 점심 저녁 회식 휴가"
).split()
SENDER_DOMAINS = [
    "gmail.com",
    "naver.com",
    "daum.net",
    "hanmail.net",
    "example.com",
    "corp.example.co.kr",
    "outlook.com",
    "company.test",
]
GIVEN = "minjun seoyeon jiwoo hayoon doyun seojun john mary david sarah james emma".split()
FAMILY = "kim lee park choi jung kang cho yoon smith jones brown taylor".split()
KOREAN_NAMES = "김민준 이서연 박지우 최하윤 정도윤 강서준 조민서 윤지호 장예은 임현우".split()
SEARCH_WORD = "xylograph"  # no other generated word starts with it
SENDER_NAME = "Minsoo Kim"
SENDER_ADDRESS = "minsoo.kim@daum.net"
MESSAGE_COLUMNS = [
    "id",
    "owner_id",
    "account_id",
    "folder",
    "trashed_from",
    "uidl",
    "message_id",
    "in_reply_to",
    "references",
    "subject",
    "from_name",
    "from_address",
    "to",
    "cc",
    "reply_to",
    "date",
    "received_at",
    "size",
    "snippet",
    "text_body",
    "html_body",
    "has_attachments",
    "seen",
    "flagged",
    "raw_file",
    "raw_sha256",
    "parse_error",
    "defects",
    "read_receipt_to",
    "read_receipt_sent",
    "thread_id",
]


@dataclass
class MailboxSpec:
    """One user's bulk mailbox: message counts per folder."""

    username: str
    folders: dict[str, int]


def _texts(rng, count: int) -> list[tuple[str, str, str]]:
    """(subject, text body, HTML body) triples of realistic sizes, 30% Korean."""
    import html

    pool = []
    for _ in range(count):
        words = KOREAN_WORDS if rng.random() < 0.3 else ENGLISH_WORDS
        subject = " ".join(rng.choices(words, k=rng.randint(3, 10))).capitalize()
        # ~30 to 700 words (median ~120: about 800 bytes), in lines of about 70 characters.
        n_words = int(min(700, max(30, rng.lognormvariate(4.8, 0.6))))
        lines, line = [], []
        for word in rng.choices(words, k=n_words):
            line.append(word)
            if sum(len(w) + 1 for w in line) > 70:
                lines.append(" ".join(line))
                line = []
        lines.append(" ".join(line))
        body = "\n".join(lines) + "\n"
        paragraphs = "".join(f"<p>{html.escape(x)}</p>" for x in lines)
        markup = f'<html><body><div style="font-family:sans-serif">{paragraphs}</div></body></html>'
        pool.append((subject, body, markup))
    return pool


class BulkMailboxes:
    """Generated rows for MESSAGE_COLUMNS, users interleaved in time order (as mail arrives).

    Texts, senders and recipient lists come from pools, so PostgreSQL computes each
    distinct search vector part once (see load_mailboxes). Every user gets
    SEARCH_WORD in 0.1% of its messages and SENDER_NAME/SENDER_ADDRESS as the sender
    of 0.5% (at least one of each); 3% of Inbox is unread, 2% flagged, 25% have an
    HTML body and 15% attachments.
    """

    MARK = f"The {SEARCH_WORD} is in the attached notes.\n"

    def __init__(
        self, specs: list[tuple[int, int, MailboxSpec]], seed: int = 7, first_id: int = 1
    ) -> None:
        import random

        self.specs = specs
        self.first_id = first_id
        self.rng = rng = random.Random(seed)
        # Conversations draw from their own generator: the other columns stay as they were.
        self.thread_rng = random.Random(seed + 1)
        self.texts = _texts(rng, 4000)
        people = []
        for i in range(3000):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            address = f"{given}.{family}{i}@{rng.choice(SENDER_DOMAINS)}"
            korean = rng.random() < 0.4
            name = rng.choice(KOREAN_NAMES) if korean else f"{given.title()} {family.title()}"
            people.append((name, address))
        weights = [1 / (rank + 1) ** 0.8 for rank in range(len(people))]  # Zipf-like
        self.frequent = rng.choices(range(len(people)), weights=weights, k=20000)
        self.sender_index = len(people)
        people.append((SENDER_NAME, SENDER_ADDRESS))
        self.own_index = []
        for _, _, spec in specs:
            self.own_index.append(len(people))
            people.append((spec.username.title(), f"{spec.username}@example.test"))
        self.people = people
        # Recipient lists: each user's own address, and 500 lists for Sent mail.
        self.recipients = [f"{name} <{address}>" for name, address in people[-len(specs) :]]
        self.sent_lists = len(self.recipients)
        for _ in range(500):
            picks = rng.sample(self.frequent, rng.randint(1, 3))
            self.recipients.append(", ".join(f"{people[i][0]} <{people[i][1]}>" for i in picks))

    def rows(self) -> Iterator[tuple[tuple, tuple[int, int, int, bool]]]:
        """(row, (text index, sender index, recipients index, has SEARCH_WORD))."""
        rng = self.rng
        random = rng.random
        start = dt.datetime(2016, 1, 1, tzinfo=dt.UTC)
        slots: list[tuple[int, str]] = []
        for index, (_, _, spec) in enumerate(self.specs):
            for folder, count in spec.folders.items():
                slots.extend([(index, folder)] * count)
        rng.shuffle(slots)
        step = 10 * 365 * 86400 / max(1, len(slots))
        totals = [sum(spec.folders.values()) for _, _, spec in self.specs]
        marked_word = [set(rng.sample(range(n), max(1, n // 1000))) for n in totals]
        marked_sender = [set(rng.sample(range(n), max(1, n // 200))) for n in totals]
        counters = [0] * len(self.specs)
        texts = self.texts
        snippets = [" ".join(body.split())[:160] for _, body, _ in texts]
        n_texts, n_frequent = len(texts), len(self.frequent)
        second = dt.timedelta(seconds=1)
        recent_threads: list[list[int]] = [[] for _ in self.specs]
        long_thread: list[int | None] = [None] * len(self.specs)
        for position, (index, folder) in enumerate(slots):
            user_id, account_id, spec = self.specs[index]
            k = counters[index]
            counters[index] += 1
            pk = self.first_id + position
            thread_id = self._thread(pk, k, recent_threads[index], long_thread, index)
            received = start + (position + random()) * step * second
            date = received - (1 + 600 * random()) * second
            text = int(random() * n_texts)
            subject, body, markup = texts[text]
            marked = k in marked_word[index]
            if marked:
                body += self.MARK
            if folder == "sent":
                sender = self.own_index[index]
                recipients = self.sent_lists + int(random() * 500)
            elif k in marked_sender[index]:
                sender, recipients = self.sender_index, index
            else:
                sender, recipients = self.frequent[int(random() * n_frequent)], index
            from_name, from_address = self.people[sender]
            html_body = markup if random() < 0.25 else ""
            attachments = random() < 0.15
            sha = f"{rng.getrandbits(256):064x}"
            size = len(body) + len(html_body) + 900
            if attachments:
                size += 20_000 + int(random() * 900_000)
            row = (
                pk,
                user_id,
                account_id,
                folder,
                "",
                "" if folder == "sent" else f"{pk:012d}.bench",
                sha[:24] + "@" + from_address.rpartition("@")[2],
                "",
                "",
                subject,
                from_name,
                from_address,
                self.recipients[recipients],
                "",
                "",
                date,
                received,
                size,
                snippets[text],
                body,
                html_body,
                attachments,
                folder != "inbox" or random() >= 0.03,
                random() < 0.02,
                f"raw/{sha[:2]}/{sha}.eml",
                sha,
                False,
                "[]",
                "",
                False,
                thread_id,
            )
            yield row, (text, sender, recipients, marked)

    def _thread(
        self, pk: int, k: int, recent: list[int], long_thread: list[int | None], index: int
    ) -> int:
        """The conversation of a user's k-th message: 45% join one of the user's last 50
        conversations (mostly the latest), 3% a long one (a busy mailing-list thread,
        about 30 messages, replaced every 1,000 messages), the rest start their own."""
        draw = self.thread_rng.random()
        if k % 1000 == 0 or long_thread[index] is None:
            long_thread[index] = pk
            return pk
        if draw < 0.03:
            return long_thread[index]
        if recent and draw < 0.48:
            back = min(len(recent), 50)
            return recent[-1 - int(self.thread_rng.random() ** 2 * back)]
        recent.append(pk)
        if len(recent) > 100:
            del recent[:50]
        return pk


def _load_postgres(cursor, bulk: BulkMailboxes, columns: str) -> None:
    """COPY into a staging table; one INSERT ... SELECT adds the search vector.

    The vector is the product's expression (mailbox.search.search_vector:
    subject A, sender B, recipients C, body D, 'simple' config), computed once per
    distinct pooled text and concatenated per row: tsvector || shifts positions
    like parsing the joined text does, so the index holds what ingest would store.
    """
    cursor.execute(
        f"CREATE UNLOGGED TABLE bench_staging AS SELECT {columns} FROM mailbox_message "  # noqa: S608 - constant names
        "WITH NO DATA"
    )
    cursor.execute(
        "ALTER TABLE bench_staging ADD COLUMN t int, ADD COLUMN p int, ADD COLUMN r int, "
        "ADD COLUMN marked bool"
    )
    raw = cursor.cursor
    with raw.copy(f"COPY bench_staging ({columns}, t, p, r, marked) FROM STDIN") as copy:
        for row, keys in bulk.rows():
            copy.write_row(row + keys)
    cursor.execute("CREATE UNLOGGED TABLE bench_texts (i int PRIMARY KEY, a tsvector, d tsvector)")
    with raw.copy("COPY bench_texts (i, a, d) FROM STDIN") as copy:
        for i, (subject, body, _) in enumerate(bulk.texts):
            copy.write_row((i, subject, body))
    cursor.execute(
        "UPDATE bench_texts SET a = setweight(to_tsvector('simple', a::text), 'A'), "
        "d = setweight(to_tsvector('simple', LEFT(d::text, 100000)), 'D')"
    )
    cursor.execute("CREATE UNLOGGED TABLE bench_people (i int PRIMARY KEY, b tsvector)")
    with raw.copy("COPY bench_people (i, b) FROM STDIN") as copy:
        for i, (name, address) in enumerate(bulk.people):
            copy.write_row((i, f"{name} {address}"))
    cursor.execute("UPDATE bench_people SET b = setweight(to_tsvector('simple', b::text), 'B')")
    cursor.execute("CREATE UNLOGGED TABLE bench_recipients (i int PRIMARY KEY, c tsvector)")
    with raw.copy("COPY bench_recipients (i, c) FROM STDIN") as copy:
        for i, text in enumerate(bulk.recipients):
            copy.write_row((i, f"{text} "))
    cursor.execute("UPDATE bench_recipients SET c = setweight(to_tsvector('simple', c::text), 'C')")
    mark = "setweight(to_tsvector('simple', %s), 'D')"
    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM bench_staging")
    middle = cursor.fetchone()[0] // 2
    select = (
        f"INSERT INTO mailbox_message ({columns}, search_vector) "  # noqa: S608 - constant names
        f"SELECT {', '.join('s.' + c for c in columns.split(', '))}, "
        f"t.a || p.b || r.c || (CASE WHEN s.marked THEN t.d || {mark} ELSE t.d END) "
        "FROM bench_staging s JOIN bench_texts t ON t.i = s.t JOIN bench_people p ON p.i = s.p "
        "JOIN bench_recipients r ON r.i = s.r WHERE s.id {} %s ORDER BY s.id"
    )
    # Two sessions, one per half of the id range (two cores); no per-row FK triggers.
    _concurrently(
        [
            ["SET session_replication_role = replica", (select.format("<="), [bulk.MARK, middle])],
            ["SET session_replication_role = replica", (select.format(">"), [bulk.MARK, middle])],
        ]
    )
    for table in ("bench_staging", "bench_texts", "bench_people", "bench_recipients"):
        cursor.execute(f"DROP TABLE {table}")


def _concurrently(sessions: list[list]) -> None:
    """Run each list of statements in its own PostgreSQL session, the sessions in parallel."""
    import threading

    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    errors: list[BaseException] = []

    def work(statements: list) -> None:
        try:
            with psycopg.connect(**params, autocommit=True) as conn:
                for statement in statements:
                    sql, args = statement if isinstance(statement, tuple) else (statement, None)
                    conn.execute(sql, args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _load_sqlite(bulk: BulkMailboxes, columns: str) -> None:
    """executemany in batches, in one transaction (one commit, not one per row)."""
    from django.db import connection, transaction

    placeholders = ", ".join(["%s"] * len(MESSAGE_COLUMNS))
    sql = f"INSERT INTO mailbox_message ({columns}) VALUES ({placeholders})"  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        batch = []
        for row, _ in bulk.rows():
            # Django keeps SQLite datetimes as naive UTC text.
            batch.append(
                tuple(
                    v.replace(tzinfo=None).isoformat(" ") if isinstance(v, dt.datetime) else v
                    for v in row
                )
            )
            if len(batch) == 10_000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def load_mailboxes(specs: list[MailboxSpec], seed: int = 7, *, bulk_load: bool = True) -> dict:
    """Create the users and bulk-insert their messages; returns {username: (user, account)}.

    With `bulk_load` (for large N) the secondary indexes are dropped for the load
    and recreated from their own definitions, and PostgreSQL is then vacuumed and
    analyzed, as autovacuum would after such a load; SQLite gets the statistics the
    product's hourly task gives it (mailbox.db_statistics), so its plans are the ones
    a deployment gets. Without it (small N, inside a test) rows are simply inserted.
    """
    from django.db import connection

    made, triples = {}, []
    for spec in specs:
        user, account = make_user_and_account(spec.username)
        made[spec.username] = (user, account)
        triples.append((user.pk, account.pk, spec))
    from django.db.models import Max

    from mailbox.models import Message

    first_id = (Message.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    bulk = BulkMailboxes(triples, seed, first_id)
    columns = ", ".join(f'"{c}"' for c in MESSAGE_COLUMNS)
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        indexes = []
        if bulk_load:
            if postgres:
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE tablename = 'mailbox_message' AND indexname <> 'mailbox_message_pkey'"
                )
            else:
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = 'mailbox_message' AND sql IS NOT NULL"
                )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
        if postgres:
            _load_postgres(cursor, bulk, columns)
            # The GIN index takes longest: build it beside the B-trees.
            work = "SET maintenance_work_mem = '512MB'"
            gin = [d for _, d in indexes if "USING gin" in d]
            other = [d for _, d in indexes if "USING gin" not in d]
            if indexes:
                _concurrently([[work, *gin], [work, *other]])
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('mailbox_message', 'id'), "
                "(SELECT MAX(id) FROM mailbox_message))"
            )
            if bulk_load:
                cursor.execute("VACUUM (ANALYZE) mailbox_message")
        else:
            from mailbox import search_fts

            if bulk_load:  # index the loaded rows at once, not through a trigger per row
                search_fts.uninstall(cursor)
            _load_sqlite(bulk, columns)
            for _, definition in indexes:
                cursor.execute(definition)
            if bulk_load:
                search_fts.install(cursor)  # the FTS5 table, its triggers, filled
    if bulk_load and not postgres:
        from mailbox import db_statistics

        db_statistics.refresh()  # what the hourly task does once the mail has grown
    return made
