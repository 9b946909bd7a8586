"""Zips of .eml files: streamed export with safe names, guarded import."""

import io
import random
import shutil
import subprocess
import unicodedata
import zipfile
from datetime import datetime

import pytest

from mailcore import zipstream
from mailcore.emlzip import (
    ArchiveError,
    EmlExport,
    EmlFile,
    NameAllocator,
    SkippedMember,
    SkipReason,
    clean_name_part,
    eml_name,
    guess_upload_kind,
    read_eml,
    read_eml_zip,
    write_eml_zip,
)
from mailcore.zipstream import ZipMember, stream_zip

WHEN = datetime(2024, 3, 5, 7, 8, 9)
RAW = b"Subject: =?UTF-8?B?7ZqM7J2Y?=\r\n\r\nbody \xff\x00 bytes\r\nFrom here\r\n"


def export(*messages: EmlExport) -> bytes:
    return b"".join(write_eml_zip(messages))


def make_zip(members: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    buf.seek(0)
    return buf


def imported(data: bytes | io.BytesIO, **limits) -> list:
    fileobj = io.BytesIO(data) if isinstance(data, bytes) else data
    return list(read_eml_zip(fileobj, **limits))


# ----------------------------------------------------------------------------- names


def test_name_is_date_then_subject_and_keeps_korean():
    assert eml_name("회의 자료 공유", WHEN) == "2024-03-05 070809 회의 자료 공유.eml"


def test_empty_subject_uses_the_callers_word():
    assert eml_name("  ", WHEN, untitled="제목 없음") == "2024-03-05 070809 제목 없음.eml"


def test_a_numbered_name_starts_with_the_zero_padded_number_and_keeps_korean():
    assert (
        eml_name("회의 자료 공유", WHEN, number=123)
        == "000123 2024-03-05 070809 회의 자료 공유.eml"
    )
    assert eml_name("", None, untitled="제목 없음", number=1) == "000001 제목 없음.eml"


def test_a_long_subject_is_cut_but_never_the_number_or_the_extension():
    name = eml_name("가" * 300, WHEN, number=7)
    assert name.startswith("000007 2024-03-05 070809 가가")
    assert name.endswith("가.eml") and len(name.encode()) <= len("000007 ") + 180 + len(".eml")


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("../../etc/passwd", "_.._etc_passwd"),
        ('Re: a/b\\c <x> "y" | z? *', "Re_ a_b_c _x_ _y_ _ z_ _"),
        ("line\r\nbreak\ttab", "line break tab"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("...hidden. ", "hidden"),
        ("CON", "_CON"),
        ("com1.txt", "_com1.txt"),
        ("", "_"),
    ],
)
def test_name_parts_are_safe_on_every_disk(subject, expected):
    assert clean_name_part(subject) == expected


def test_long_names_are_cut_in_utf8_bytes_on_a_character_boundary():
    name = clean_name_part("가" * 200)
    assert len(name.encode()) <= 180 and name == "가" * 60


def test_repeated_names_are_numbered_ignoring_case():
    names = NameAllocator()
    assert [names.allocate(n) for n in ("a.eml", "A.eml", "a.eml", "a (2).eml", "b")] == [
        "a.eml",
        "A (2).eml",
        "a (3).eml",
        "a (2) (2).eml",
        "b",
    ]


def test_hangul_in_nfd_and_nfc_counts_as_the_same_name():
    names = NameAllocator()
    names.allocate("\u1112\u1161\u11ab.eml")  # "한" decomposed, as macOS writes it
    assert names.allocate("한.eml") == "한 (2).eml"


# ----------------------------------------------------------------------------- export


def test_export_round_trips_messages_byte_for_byte():
    others = [b"Subject: plain\n\nno final newline", b""]
    data = export(*(EmlExport(raw, "same", WHEN) for raw in [RAW, *others]))
    items = imported(data)
    assert [item.raw for item in items] == [RAW, *others]
    assert [item.name for item in items] == [
        "000001 2024-03-05 070809 same.eml",
        "000002 2024-03-05 070809 same.eml",
        "000003 2024-03-05 070809 same.eml",
    ]


def test_many_messages_with_one_subject_get_names_unique_ignoring_case_and_normalization():
    subjects = ["Same", "SAME", "same", "\u1112\u1161\u11ab", "한"]  # 한 in NFD (macOS) and NFC
    messages = [EmlExport(RAW, subjects[n % 5], WHEN) for n in range(2000)]
    names = zipfile.ZipFile(io.BytesIO(export(*messages))).namelist()
    folded = {unicodedata.normalize("NFC", name).casefold() for name in names}
    assert len(names) == len(folded) == 2000
    assert sorted(names) == names  # a file manager lists them in the order given
    assert names[3] == "000004 2024-03-05 070809 한.eml"  # stored NFC, Korean intact


def test_hostile_subjects_make_safe_member_names():
    hostile = [
        "../../etc/passwd",
        "/absolute",
        "C:\\Windows\\system32",
        "CON",
        "nul.txt",
        "a\x00b\x1bc\x7f",
        "invoice\u202egpj.exe",
        "...",
        "x" * 1000,
        "\r\n",
    ]
    data = export(*(EmlExport(RAW, subject, None, folder=("..", "AUX")) for subject in hostile))
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert len(set(names)) == len(hostile)
    for name in names:
        *folders, base = name.split("/")
        assert folders == ["_", "_AUX"]
        assert base.endswith(".eml") and len(base.encode()) <= 191
        assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name)
        assert "\\" not in name and ":" not in name and not name.startswith("/")
    assert names[0] == "_/_AUX/000001 _.._etc_passwd.eml"
    assert names[7] == "_/_AUX/000008 message.eml"  # nothing left of "...": the fallback


def test_a_folder_named_like_a_message_file_stays_a_folder():
    data = export(
        EmlExport(RAW, "x", WHEN, folder=("000002 2024-03-05 070809 x.EML",)),
        EmlExport(RAW, "x", WHEN),
    )
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == [
        "000002 2024-03-05 070809 x.EML_/000001 2024-03-05 070809 x.eml",
        "000002 2024-03-05 070809 x.eml",
    ]


def test_every_eml_reads_back_byte_exact_with_pythons_zipfile(monkeypatch):
    monkeypatch.setattr(zipstream, "SPOOL_SIZE", 512)  # the directory spooled to disk too
    rng = random.Random(14)
    raws = [
        RAW,
        b"",
        b"Subject: lf only\n\nline\nFrom me\n",
        b"Subject: cr lf\r\n\r\nline\r\n.\r\n",
        rng.randbytes(300_000),  # incompressible, beyond one output chunk: stored
        b"Subject: big\r\n\r\n" + b"compressible line\r\n" * 20_000,
        *(rng.randbytes(rng.randint(1, 3000)) for _ in range(200)),
    ]
    data = export(*(EmlExport(raw, "회의", WHEN) for raw in raws))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert [archive.read(info) for info in archive.infolist()] == raws


def test_export_sets_the_utf8_flag_for_korean_names_and_the_message_time():
    data = export(EmlExport(RAW, "회의", WHEN, folder=("업무", "보고서")))
    (info,) = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert info.filename == "업무/보고서/000001 2024-03-05 070809 회의.eml"
    assert info.flag_bits & 0x800
    assert info.date_time == (2024, 3, 5, 7, 8, 8)  # DOS time has two-second steps


def test_folder_names_cannot_climb_out_of_the_archive():
    data = export(EmlExport(RAW, "x", WHEN, folder=("..", "a/b")))
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["_/a_b/000001 2024-03-05 070809 x.eml"]


def test_export_is_lazy():
    def messages():
        yield EmlExport(random.Random(0).randbytes(200_000), "x", WHEN)  # beyond one chunk
        raise AssertionError("read too far")

    assert next(write_eml_zip(messages())).startswith(b"PK\x03\x04")


@pytest.mark.skipif(not shutil.which("unzip"), reason="needs Info-ZIP unzip")
def test_info_zip_accepts_the_archive(tmp_path):
    path = tmp_path / "mail.zip"
    path.write_bytes(export(*(EmlExport(RAW, f"회의 {n}", WHEN) for n in range(3))))
    result = subprocess.run(["unzip", "-t", path], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_streamed_member_of_unknown_size_round_trips():
    chunks = [b"From a Mon Jan  1 00:00:00 2024\n", b"x" * 100_000, b"\n"]
    data = b"".join(stream_zip([ZipMember("Inbox.mbox", iter(chunks), WHEN)]))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.read("Inbox.mbox") == b"".join(chunks)
    assert archive.getinfo("Inbox.mbox").flag_bits & 0x08  # sizes in a data descriptor


@pytest.mark.parametrize("spool_size", [zipstream.SPOOL_SIZE, 64], ids=["memory", "disk"])
def test_zip64_records_are_read_by_python_and_info_zip(monkeypatch, tmp_path, spool_size):
    monkeypatch.setattr(zipstream, "ZIP64_LIMIT", 10)
    monkeypatch.setattr(zipstream, "ZIP64_COUNT_LIMIT", 2)
    monkeypatch.setattr(zipstream, "SPOOL_SIZE", spool_size)
    members = [ZipMember(f"{n}.eml", RAW, WHEN) for n in range(3)]
    members.append(ZipMember("big.mbox", iter([RAW] * 3), WHEN))
    data = b"".join(stream_zip(members))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert [archive.read(m.name) for m in members] == [RAW] * 3 + [RAW * 3]
    if shutil.which("unzip"):
        (tmp_path / "a.zip").write_bytes(data)
        assert subprocess.run(["unzip", "-tq", tmp_path / "a.zip"]).returncode == 0


def test_dates_outside_the_dos_range_are_clamped():
    data = b"".join(stream_zip([ZipMember("a", b"1", datetime(1970, 1, 1))]))
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].date_time == (1980, 1, 1, 0, 0, 0)


# ----------------------------------------------------------------------------- import


def test_import_skips_what_is_not_an_eml_with_a_reason():
    upload = make_zip(
        {
            "mail/": b"",
            "mail/a.EML": RAW,
            "notes.txt": b"x",
            "__MACOSX/mail/._a.eml": b"\x00\x05",
            "mail/._b.eml": b"\x00\x05",
        }
    )
    items = imported(upload)
    assert isinstance(items[1], EmlFile) and (items[1].name, items[1].raw) == ("mail/a.EML", RAW)
    assert items[:1] + items[2:] == [
        SkippedMember("mail/", SkipReason.DIRECTORY),
        SkippedMember("notes.txt", SkipReason.NOT_EML),
        SkippedMember("__MACOSX/mail/._a.eml", SkipReason.METADATA),
        SkippedMember("mail/._b.eml", SkipReason.METADATA),
    ]


def test_a_member_that_inflates_past_the_message_cap_is_skipped():
    upload = make_zip({"bomb.eml": b"\0" * 1_000_000, "ok.eml": RAW})
    items = imported(upload, max_message_bytes=100_000)
    assert items[0] == SkippedMember("bomb.eml", SkipReason.TOO_LARGE)
    assert items[1].raw == RAW


def test_past_the_total_cap_every_remaining_member_is_skipped():
    upload = make_zip({f"{n}.eml": b"x" * 400 for n in range(5)})
    items = imported(upload, max_total_bytes=1000)
    assert [type(item).__name__ for item in items[:2]] == ["EmlFile", "EmlFile"]
    assert {item.reason for item in items[2:]} == {SkipReason.TOTAL_LIMIT}


def test_too_many_members_refuses_the_archive_before_reading_any():
    with pytest.raises(ArchiveError) as refused:
        imported(make_zip({f"{n}.eml": RAW for n in range(4)}), max_members=3)
    assert refused.value.code == "too-many-members"


def test_an_upload_that_is_not_a_zip_is_refused():
    with pytest.raises(ArchiveError) as refused:
        imported(b"PK\x03\x04 but not really")
    assert refused.value.code == "not-a-zip"


def test_encrypted_and_corrupt_members_are_skipped():
    data = bytearray(make_zip({"secret.eml": RAW, "broken.eml": RAW * 10}).getvalue())
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    secret, broken = archive.infolist()
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(b"PK\x01\x02"))  # secret's entry
    for at in (secret.header_offset + 6, central + 8):
        data[at] |= 0x01  # the "encrypted" flag
    data[broken.header_offset + 30 + len("broken.eml") + 2] ^= 0xFF  # damage its deflate data
    items = imported(bytes(data))
    assert items == [
        SkippedMember("secret.eml", SkipReason.ENCRYPTED),
        SkippedMember("broken.eml", SkipReason.CORRUPT),
    ]


def test_a_member_in_an_unsupported_compression_is_skipped():
    data = bytearray(make_zip({"a.eml": RAW}).getvalue())
    central = data.rfind(b"PK\x01\x02")
    for at in (8, central + 10):  # the compression method fields
        data[at : at + 2] = (9).to_bytes(2, "little")  # Deflate64, which Python cannot read
    assert imported(bytes(data)) == [SkippedMember("a.eml", SkipReason.UNSUPPORTED)]


def test_korean_names_from_windows_zips_without_the_utf8_flag_are_decoded():
    data = make_zip({"ab.eml": RAW}).getvalue().replace(b"ab.eml", "가.eml".encode("cp949"))
    (item,) = imported(data)
    assert item.name == "가.eml" and item.raw == RAW


def test_single_eml_upload_is_read_exactly_or_refused_when_too_large():
    assert read_eml(io.BytesIO(RAW)) == RAW
    assert read_eml(io.BytesIO(RAW), max_bytes=len(RAW) - 1) is None


@pytest.mark.parametrize(
    ("head", "name", "kind"),
    [
        (b"PK\x03\x04\x14\x00", "mail.zip", "zip"),
        (b"From a@b Mon Jan  1 00:00:00 2024\n", "x", "mbox"),
        (b"Received: from x\r\n", "inbox.mbox", "mbox"),
        (b"Received: from x\r\n", "a.eml", "eml"),
    ],
)
def test_upload_kind_is_told_by_content_first(head, name, kind):
    assert guess_upload_kind(head, name) == kind
