#!/usr/bin/python3
"""The interop corpus: messages that stress DKIM canonicalization and header selection.

The readable messages are committed under corpus/ (CRLF line ends, see corpus/.gitattributes);
this script is their source. `make_corpus.py --write DIR` rewrites them; the test calls
`huge_message()` (5 MB) and `whitespace_torture()` (0.8 MB) at run time instead of committing them.
Every message is written with explicit CRLFs so that the bytes do not depend on the editor.
"""
import os
import sys

CRLF = "\r\n"

STD = [
    "From: Alice Example <alice@example.com>",
    "To: Bob Example <bob@example.net>",
    "Subject: Interop test message",
    "Date: Mon, 23 Nov 2026 10:00:00 +0000",
    "Message-ID: <interop-{name}@example.com>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=us-ascii",
]

LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco "
    "laboris nisi ut aliquip ex ea commodo consequat."
)


def lines(*items):
    """CRLF after every line, so the message ends with CRLF."""
    return "".join(item + CRLF for item in items)


def std_headers(name, skip=(), extra=()):
    out = [h.format(name=name) for h in STD if h.split(":")[0] not in skip]
    return out + list(extra)


def message(name, body, skip=(), extra=(), headers=None):
    head = headers if headers is not None else std_headers(name, skip, extra)
    return lines(*head) + CRLF + body


def corpus():
    """name -> message text (str; encoded as UTF-8 when written)."""
    m = {}
    m["01_plain"] = message("01", lines("Hello Bob,", "", "this is a plain message.", "", "Alice"))
    m["02_folded_headers"] = message(
        "02",
        lines("Folded headers above."),
        skip=("Subject", "To"),
        extra=(
            "Subject: This subject is folded",
            " over three lines with a space",
            "\tand with a tab continuation",
            "To: Bob Example <bob@example.net>,",
            "    Carol Example <carol@example.net>,",
            "\tDave Example <dave@example.net>",
        ),
    )
    m["03_tabs"] = message(
        "03",
        lines("\tIndented with a tab", "col1\tcol2\t\tcol3", "mixed \t \t whitespace\tinside", "\t"),
        skip=("Subject",),
        extra=("Subject:\tTabs\tin\tthe\tsubject", "X-Tabbed:\t\tvalue\t\twith tabs"),
    )
    m["04_trailing_ws_headers"] = message(
        "04",
        lines("Header values above end in whitespace."),
        skip=("Subject",),
        extra=("Subject: trailing spaces   ", "X-Trailing-Tab: value\t", "X-Both: value \t \t"),
    )
    m["05_trailing_ws_body"] = message(
        "05", lines("line with trailing spaces   ", "line with trailing tab\t", "mixed \t ", "end")
    )
    m["06_ws_around_colon"] = message(
        "06",
        lines("Whitespace around the colon."),
        skip=("Subject", "To"),
        extra=("Subject : spaced colon", "To\t:\tBob <bob@example.net>", "X-Note:    many spaces after"),
    )
    m["07_empty_body"] = message("07", "")
    # No empty line at all: the message is a header section only.
    m["08_headers_only"] = lines(*std_headers("08"))
    m["09_no_final_crlf"] = message("09", "First line" + CRLF + "last line without CRLF")
    m["10_many_trailing_blank_lines"] = message("10", lines("content", *[""] * 25))
    m["11_trailing_ws_only_lines"] = message("11", lines("content", " ", "\t", "  \t  ", "", " "))
    m["12_utf8_body"] = message(
        "12",
        lines("Grüße aus München — ça va?", "日本語のテキスト", "Emoji: 😀🎉", "Ελληνικά κείμενα"),
        skip=("Content-Type",),
        extra=("Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"),
    )
    m["13_utf8_headers"] = message(
        "13",
        lines("RFC 6532 internationalized headers above."),
        skip=("From", "Subject", "Content-Type"),
        extra=(
            "From: Jörg Müller <jörg@bücher.example>",
            "Subject: Grüße — 日本語の件名",
            "X-Unicode-Value: ✓ verified",
            "Content-Type: text/plain; charset=utf-8",
        ),
    )
    long1 = ("word " * 200)[:995]
    long2 = "x" * 998
    m["14_long_lines"] = message("14", lines(long1, long2, "short", ("a b  " * 199)[:994] + "  "))
    m["15_two_received"] = message(
        "15",
        lines("Two Received headers above."),
        headers=[
            "Received: from mx2.example.net (mx2.example.net [192.0.2.2])",
            "\tby mx1.example.com with ESMTP id 1234;",
            "\tMon, 23 Nov 2026 10:00:02 +0000",
            "Received: from client.example.org (client [192.0.2.9])",
            "\tby mx2.example.net with ESMTPSA id 5678;",
            "\tMon, 23 Nov 2026 10:00:01 +0000",
        ]
        + std_headers("15"),
    )
    m["16_duplicate_to"] = message(
        "16", lines("Two To headers above."), extra=("To: Carol <carol@example.net>",)
    )
    m["17_two_subjects"] = message(
        "17", lines("Two Subject headers above."), extra=("Subject: second subject",)
    )
    m["18_dot_lines"] = message("18", lines(".", "..", ".leading dot", "..two dots", "text", ".", "end"))
    m["19_mime_multipart"] = message(
        "19",
        lines(
            "This is a multi-part message in MIME format.",
            "",
            "--=_boundary_42",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            "Plain part with a soft=",
            " line break and =C3=BC.",
            "",
            "--=_boundary_42",
            "Content-Type: text/html; charset=utf-8",
            "",
            "<html><body><p>HTML part</p></body></html>",
            "",
            "--=_boundary_42",
            "Content-Type: application/octet-stream; name=\"data.bin\"",
            "Content-Transfer-Encoding: base64",
            "Content-Disposition: attachment; filename=\"data.bin\"",
            "",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v",
            "MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f",
            "",
            "--=_boundary_42--",
        ),
        skip=("Content-Type",),
        extra=("Content-Type: multipart/alternative;", "\tboundary=\"=_boundary_42\""),
    )
    m["20_odd_case_names"] = message(
        "20",
        lines("Header names in odd case above."),
        headers=[
            "fROM: Alice <alice@example.com>",
            "tO: Bob <bob@example.net>",
            "sUbJeCt: odd case",
            "DATE: Mon, 23 Nov 2026 10:00:00 +0000",
            "message-id: <interop-20@example.com>",
            "mime-VERSION: 1.0",
        ],
    )
    m["21_empty_header_value"] = message(
        "21", lines("Empty header values above."), skip=("Subject",), extra=("Subject:", "Cc: ", "X-Empty:\t")
    )
    refs = ["<ref-%03d.%d@lists.example.org>" % (i, i * 7919) for i in range(60)]
    m["22_long_references"] = message(
        "22",
        lines("Very long References header above."),
        extra=["References: " + refs[0]] + ["\t" + r for r in refs[1:]] + ["In-Reply-To: " + refs[-1]],
    )
    m["23_body_only_crlf"] = message("23", CRLF)
    m["24_body_one_char_no_crlf"] = message("24", "x")
    m["25_whitespace_only_body"] = message("25", lines(" \t ", "\t"))
    m["26_leading_ws_body"] = message("26", lines("  two leading spaces", "\tleading tab", " \t mixed"))
    m["27_inner_blank_lines"] = message("27", lines("para 1", "", "", "", "para 2", "   ", "para 3   ", "", ""))
    m["28_quoted_printable_html"] = message(
        "28",
        lines(
            "<html><body><p style=3D\"color: red\">Long line that is soft-broken by quoted-pr=",
            "intable encoding</p>=20",
            "<p>Caf=C3=A9</p></body></html>",
        ),
        skip=("Content-Type",),
        extra=("Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"),
    )
    m["29_list_headers"] = message(
        "29",
        lines("A mailing-list style message.", "", LOREM),
        extra=(
            "Reply-To: list@lists.example.org",
            "Cc: Carol <carol@example.net>",
            "In-Reply-To: <parent@example.com>",
            "References: <root@example.com> <parent@example.com>",
            "List-Id: Example list <list.lists.example.org>",
            "List-Unsubscribe: <mailto:leave@lists.example.org>, <https://lists.example.org/u?x=1>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "Sender: list-bounces@lists.example.org",
        ),
    )
    m["30_no_space_after_colon"] = message(
        "30",
        lines("No space after the colons above."),
        headers=[
            "From:alice@example.com",
            "To:bob@example.net",
            "Subject:compact",
            "Date:Mon, 23 Nov 2026 10:00:00 +0000",
            "Message-ID:<interop-30@example.com>",
        ],
    )
    m["31_control_chars_body"] = message("31", lines("form\x0cfeed", "bell\x07char", "del\x7fchar", "vtab\x0bhere"))
    m["32_long_body_text"] = message(
        "32", lines(*[LOREM[i % 50 : i % 50 + 70] + (" " if i % 3 == 0 else "") for i in range(400)])
    )
    m["33_fold_only_ws_before_value"] = message(
        "33",
        lines("A header whose value starts on a continuation line."),
        skip=("Subject",),
        extra=("Subject:", " value on the continuation line", "X-Folded-Empty-First:\t", "\tsecond"),
    )
    m["34_trailing_ws_after_fold"] = message(
        "34",
        lines("Folded header with whitespace at each fold."),
        skip=("Subject",),
        extra=("Subject: first part   ", " \t second part  ", "  third part\t"),
    )
    m["35_existing_dkim_signature"] = message(
        "35",
        lines("Already signed by someone else, with a signature that does not verify."),
        headers=[
            "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=other.example; s=old;",
            "\tt=1700000000; h=from:to:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;",
            "\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ==",
        ]
        + std_headers("35"),
    )
    # 8-bit text that is not UTF-8 (Latin-1): bytes, not str.
    m["36_latin1_body"] = message(
        "36", "", skip=("Content-Type",), extra=("Content-Type: text/plain; charset=iso-8859-1",)
    ).encode() + b"Caf\xe9 cr\xe8me br\xfbl\xe9e\r\n\xa9 2026\r\n"
    m["37_overlong_header_line"] = message(
        "37", lines("An unfolded header line longer than 998 octets above."),
        extra=("X-Overlong: " + " ".join("t%04d" % i for i in range(300)),),
    )
    return m


def whitespace_torture():
    """About 0.7 MB aimed at streaming canonicalizers: trailing-whitespace and empty-line runs longer
    than any read chunk, CRLFs at every alignment, and a long empty tail."""
    parts = [
        "start",
        "word" + " " * 1000 + "after a 1000-space run",
        "trailing run" + " \t" * 40000,
        " " * 70000,
        "\t" * 1000 + "x",
    ]
    parts += [""] * 50000  # empty lines that are followed by content: they count
    parts += ["middle"]
    parts += ["a" * n + " " * (n % 5) for n in range(1, 600)]
    parts += [" \t "] * 20000  # whitespace-only lines: empty under relaxed, kept under simple
    parts += ["end"]
    parts += [""] * 40000  # trailing empty lines: dropped
    return message("torture", lines(*parts))


def long_inner_whitespace():
    """Whitespace runs of 100 KB inside lines, longer than any read chunk. (Kept apart from
    whitespace_torture(): dkimpy's relaxed body canonicalization is quadratic on such runs.)"""
    return message("inner-ws", lines("word" + " " * 100000 + "after a 100 KB space run",
                                     "x" + " \t" * 50000 + "y", "end"))


def huge_message(size=5 * 1024 * 1024):
    """About `size` bytes of body: realistic lines, some trailing whitespace, CRLF line ends."""
    body = []
    total = 0
    i = 0
    while total < size:
        line = LOREM[i % 60 : i % 60 + 76]
        if i % 7 == 0:
            line += "  "
        elif i % 11 == 0:
            line += "\t"
        elif i % 13 == 0:
            line = ""
        body.append(line)
        total += len(line) + 2
        i += 1
    return message("huge", lines(*body))


def write(directory):
    os.makedirs(directory, exist_ok=True)
    for name, text in corpus().items():
        with open(os.path.join(directory, name + ".eml"), "wb") as f:
            f.write(text if isinstance(text, bytes) else text.encode("utf-8"))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--write":
        sys.exit("usage: make_corpus.py --write DIR")
    write(sys.argv[2])
