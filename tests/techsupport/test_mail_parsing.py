"""R-SUP-4: reading an e-mail (no servers): the text without its quoted tail, HTML as text, thread ids,
automatic mail, a stable id for mail without one."""

from email.message import EmailMessage

import pytest

from techsupport.mail import parsing


@pytest.mark.parametrize(
    "text",
    [
        "Thanks, it works.\n\nOn Mon, 1 Jan 2024 at 10:00, Demo Shop <support@shop.test> wrote:\n> old text",
        "Thanks, it works.\n\nOn Mon, 1 Jan 2024 at 10:00, Demo Shop <\nsupport@shop.test> wrote:\n> old text",
        "Thanks, it works.\n-----Original Message-----\nFrom: Demo Shop\nSubject: Re: …",
        "Thanks, it works.\n\n在 2024年1月1日 10:00，Demo Shop <support@shop.test> 写道：\n> 旧的内容",
        "Thanks, it works.\n\n------------------\u00a0原始邮件\u00a0------------------\n发件人: Demo Shop",
        "Thanks, it works.\n\n> quoted at the end\n> more\n",
    ],
)
def test_the_quoted_tail_is_stripped(text):
    assert parsing.strip_quoted(text) == "Thanks, it works."


def test_stripping_is_conservative():
    inline = "On Mon, 1 Jan 2024 Demo Shop wrote:\n> Did cleaning help?\nYes, it did."
    assert parsing.strip_quoted(inline) == inline  # nothing above the quote header: keep it all
    middle = "First.\n> a quote in the middle\nMy answer below it."
    assert parsing.strip_quoted(middle) == middle
    assert parsing.strip_quoted("On the other hand, it wrote: nothing") == "On the other hand, it wrote: nothing"


def test_html_becomes_plain_text_without_scripts_or_styles():
    html = (
        "<html><head><title>t</title><style>.a{}</style></head><body>"
        "<div>Hi&nbsp;there <b>&lt;script&gt;</b></div><script>alert(1)</script><p>Two</p></body></html>"
    )
    assert parsing.html_to_text(html) == "Hi there <script>\n\nTwo"


def message(**headers) -> bytes:
    m = EmailMessage()
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content("Hello.")
    return m.as_bytes()


def test_thread_ids_are_in_reply_to_then_references_newest_first():
    raw = message(
        From="a@example.com",
        Message_ID="<3@x>",
        In_Reply_To="<2@x>",
        References="<0@x> <1@x> <2@x>",
    )
    assert parsing.parse(raw).thread_ids() == ["<2@x>", "<1@x>", "<0@x>"]


def test_a_mail_without_message_id_gets_a_stable_synthetic_one():
    raw = message(From="a@example.com", Subject="x")
    first, second = parsing.parse(raw).message_id, parsing.parse(raw).message_id
    assert first == second == parsing.message_id_of(raw) and first.endswith(".invalid>")
    assert parsing.parse(message(From="b@example.com", Subject="x")).message_id != first


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-generated"}, "Auto-Submitted"),
        ({"Precedence": "junk"}, "Precedence"),
        ({"Precedence": "list"}, "Precedence"),
        ({"X-Autoreply": "yes"}, "auto-reply"),
        ({"Return-Path": "<>"}, "bounce"),
    ],
)
def test_automatic_mail_is_recognised(headers, reason):
    raw = message(From="a@example.com", **{k.replace("-", "_"): v for k, v in headers.items()})
    assert reason in parsing.automatic_reason(parsing.parse(raw), {"support@shop.test"})


def test_a_persons_mail_is_not_automatic():
    raw = message(From="Alice <A@Example.com>", Auto_Submitted="no")
    parsed = parsing.parse(raw)
    assert parsed.sender == "a@example.com" and parsed.sender_name == "Alice"
    assert parsing.automatic_reason(parsed, {"support@shop.test"}) == ""
    assert parsing.automatic_reason(parsing.parse(message(From="not an address")), set()) == "no usable From"


def test_a_mislabelled_chinese_charset_is_still_read():
    raw = (
        b"From: a@example.com\r\nSubject: =?gb2312?B?uMPL+A==?=\r\nContent-Type: text/plain; charset=gb2312\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    ) + "打印机卡纸了，镕".encode("gb18030")
    parsed = parsing.parse(raw)
    assert parsed.body == "打印机卡纸了，镕"


@pytest.mark.parametrize(
    ("subject", "clean"),
    [("Re: RE: Fwd: Printer", "Printer"), ("回复：打印机", "打印机"), ("Regarding printers", "Regarding printers")],
)
def test_reply_prefixes_leave_a_new_tickets_subject(subject, clean):
    assert parsing.clean_subject(subject) == clean
