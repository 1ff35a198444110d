"""R-SUP-1 / R-SUP-4: the support mailbox against real servers on loopback (an IMAP server holding
the mailbox, an SMTP server capturing what we send). Mail opens tickets, agents' replies go out in
the thread, the customer's answer finds its ticket by In-Reply-To / References (never by subject),
and the intake files each message once, ignores automatic mail and survives a bad message."""

import io
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from aftersales.accounts.models import User
from aftersales.cases.models import Attachment, Case, CaseEvent, CaseKind, Notification
from techsupport.mail import fetch_mailbox, intake
from techsupport.models import Channel, MailIntakeFailure, MailMessage, Ticket
from techsupport.services import tickets
from tests import factories
from tests.test_settings import run_django

pytest_plugins = ["tests.techsupport.mailservers"]  # the IMAP and SMTP servers' fixtures
pytestmark = pytest.mark.django_db(transaction=True)  # after-commit e-mail really leaves

SUPPORT = "support@shop.test"


@pytest.fixture(autouse=True)
def _support_settings(settings):
    settings.SUPPORT_EMAIL_ADDRESS = f"Demo Shop Support <{SUPPORT}>"
    settings.DEFAULT_FROM_EMAIL = "Demo Shop <noreply@shop.test>"
    settings.PORTAL_URL = "https://portal.shop.test"
    settings.SUPPORT_MAIL_MAX_FAILURES = 3


@pytest.fixture
def agent_on_tickets(db):
    agent = factories.StaffFactory(role="agent")
    agent.user_permissions.add(Permission.objects.get(codename="work_ticket"))
    return User.objects.get(pk=agent.pk)  # fresh permission cache


def mail(sender, subject, body, *, message_id=None, in_reply_to=None, references=(), headers=None):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="customer.test")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message


def fetch(mailbox):
    return fetch_mailbox(url=mailbox.url)


def only_ticket_of(email: str) -> Case:
    return Case.objects.get(kind=CaseKind.TICKET, customer__email=email)


def test_r_sup_1_a_new_mail_opens_a_ticket_for_a_new_customer_and_is_acknowledged_in_its_thread(mailbox, smtp):
    first = mail("Alice Liu <Alice@Example.com>", "Printer jams", "It jams on every second page.")
    mailbox.deliver(first)

    result = fetch(mailbox)

    assert result.counts["opened"] == 1 and not result.error
    alice = User.objects.get(email="alice@example.com")
    assert alice.full_name == "Alice Liu" and not alice.has_usable_password() and alice.has_role("customer")
    case = only_ticket_of("alice@example.com")
    assert case.subject == "Printer jams"
    assert case.ticket.channel == Channel.EMAIL and case.ticket.category == "other"
    opened = case.events.get(type=CaseEvent.Type.OPENED)
    assert opened.note == "It jams on every second page." and opened.actor == alice
    assert MailMessage.objects.get(message_id=first["Message-ID"]).event == opened
    assert mailbox.flags()[first["Message-ID"]] >= {"\\Seen"}
    # The acknowledgement answers the customer's mail, so an answer to it threads back.
    (ack,) = smtp.to("alice@example.com")
    assert ack["In-Reply-To"] == first["Message-ID"] and ack["Auto-Submitted"] == "auto-replied"
    assert MailMessage.objects.filter(case=case, direction="out", message_id=ack["Message-ID"]).exists()
    assert case.number in ack["Subject"]


def test_r_sup_4_reply_threads_and_the_customers_answer_with_a_changed_subject_lands_on_the_ticket(
    mailbox, smtp, agent_on_tickets
):
    first = mail("alice@example.com", "Printer jams", "It jams.")
    mailbox.deliver(first)
    fetch(mailbox)
    case = only_ticket_of("alice@example.com")
    ack_id = MailMessage.objects.get(case=case, direction="out").message_id
    smtp.messages.clear()

    tickets.reply(case=case, actor=agent_on_tickets, body="Please clean the rollers.", then="ask_customer")

    (sent,) = smtp.to("alice@example.com")  # one e-mail: the core mailer does not send it again
    recorded = MailMessage.objects.get(case=case, direction="out", event__isnull=False)
    assert sent["Message-ID"] == recorded.message_id and recorded.message_id.endswith("@shop.test>")
    assert sent["In-Reply-To"] == ack_id
    assert sent["References"].split() == [first["Message-ID"], ack_id]
    assert sent["Reply-To"] == f"Demo Shop Support <{SUPPORT}>"
    assert sent["Subject"] == f"Re: Printer jams [{case.number}]"
    text = sent.get_content()
    assert "Please clean the rollers." in text
    assert "https://portal.shop.test" + reverse("portal:case-detail", args=[case.number]) in text
    assert Notification.objects.get(case=case, body="Please clean the rollers.").emailed_at is not None

    answer = mail(
        "alice@example.com",
        "completely different words",
        "Cleaned them, it works now.\n\nOn Mon, 1 Jan 2024 Demo Shop wrote:\n> Please clean the rollers.",
        in_reply_to=sent["Message-ID"],
        references=[first["Message-ID"], ack_id, sent["Message-ID"]],
    )
    mailbox.deliver(answer)
    result = fetch(mailbox)

    assert result.counts["replied"] == 1 and result.counts["opened"] == 0
    assert Case.objects.filter(kind=CaseKind.TICKET).count() == 1
    case.refresh_from_db()
    note = case.events.filter(data__reply="customer", type=CaseEvent.Type.NOTE).get()
    assert note.note == "Cleaned them, it works now."  # the quoted tail stripped
    assert case.status == "open"  # it waited on the customer; their answer moves it on
    assert MailMessage.objects.get(message_id=answer["Message-ID"]).event == note

    # The next reply answers the customer's mail and names the whole thread.
    smtp.messages.clear()
    tickets.reply(case=case, actor=agent_on_tickets, body="Glad to hear it.")
    (second,) = smtp.to("alice@example.com")
    assert second["In-Reply-To"] == answer["Message-ID"]
    assert second["References"].split() == [first["Message-ID"], ack_id, sent["Message-ID"], answer["Message-ID"]]


def test_r_sup_4_a_reply_found_by_references_when_in_reply_to_is_unknown(mailbox, smtp):
    first = mail("alice@example.com", "Printer jams", "It jams.")
    mailbox.deliver(first)
    fetch(mailbox)
    mailbox.deliver(
        mail(
            "alice@example.com",
            "more",
            "Also it squeaks.",
            in_reply_to="<not-ours@elsewhere.test>",
            references=[first["Message-ID"], "<not-ours@elsewhere.test>"],
        )
    )
    assert fetch(mailbox).counts["replied"] == 1


def test_r_sup_4_a_subject_token_alone_never_threads_a_mail(mailbox, smtp):
    mailbox.deliver(mail("alice@example.com", "Printer jams", "It jams."))
    fetch(mailbox)
    case = only_ticket_of("alice@example.com")

    mailbox.deliver(mail("alice@example.com", f"Re: Printer jams [{case.number}]", "Another question."))
    result = fetch(mailbox)

    assert result.counts["opened"] == 1 and result.counts["replied"] == 0
    assert Case.objects.filter(customer__email="alice@example.com").count() == 2
    assert not case.events.filter(data__reply="customer", type=CaseEvent.Type.NOTE).exists()


def test_r_sup_1_fetching_again_files_nothing_twice(mailbox, smtp):
    first = mail("alice@example.com", "Printer jams", "It jams.")
    mailbox.deliver(first)
    mailbox.deliver(mail("bob@example.com", "No power", "It does not switch on."))
    assert fetch(mailbox).counts["opened"] == 2

    assert sum(fetch(mailbox).counts.values()) == 0  # read mail is not fetched again
    mailbox.mark_all_unread()  # as if marking it read had failed after the commit
    result = fetch(mailbox)

    assert result.counts["duplicate"] == 2 and result.counts["opened"] == 0
    assert Ticket.objects.count() == 2 and MailMessage.objects.filter(direction="in").count() == 2


def test_a_mail_without_message_id_is_filed_once(mailbox, smtp):
    raw = b"From: carol@example.com\r\nTo: support@shop.test\r\nSubject: Hello\r\n\r\nNo id here.\r\n"
    mailbox.deliver(raw)
    assert fetch(mailbox).counts["opened"] == 1
    mailbox.mark_all_unread()
    assert fetch(mailbox).counts["duplicate"] == 1
    assert Ticket.objects.count() == 1


def test_r_sup_1_automatic_mail_and_our_own_mail_are_ignored_and_not_fetched_again(mailbox, smtp):
    automatic = [
        mail("alice@example.com", "Out of office", "Away.", headers={"Auto-Submitted": "auto-replied"}),
        mail("news@example.com", "Newsletter", "News.", headers={"Precedence": "bulk"}),
        mail("dave@example.com", "Autoreply", "Away.", headers={"X-Autoreply": "yes"}),
        mail("MAILER-DAEMON@mx.example.com", "Undelivered Mail", "Bounce."),
        mail(f"Support <{SUPPORT.upper()}>", "Re: loop", "Our own mail coming back."),
        mail("noreply@shop.test", "Re: loop", "Our sender address."),
    ]
    for message in automatic:
        mailbox.deliver(message)
    mailbox.deliver(mail("eve@example.com", "Real", "A person.", headers={"Auto-Submitted": "no"}))

    result = fetch(mailbox)

    assert result.counts["ignored"] == 6 and result.counts["opened"] == 1
    assert Ticket.objects.count() == 1 and only_ticket_of("eve@example.com")
    assert not User.objects.filter(email__in=["news@example.com", "dave@example.com"]).exists()
    assert all("\\Seen" in flags for flags in mailbox.flags().values())
    assert sum(fetch(mailbox).counts.values()) == 0


def test_r_sup_4_a_reply_from_another_address_opens_its_own_ticket(mailbox, smtp, agent_on_tickets):
    mailbox.deliver(mail("alice@example.com", "Printer jams", "It jams."))
    fetch(mailbox)
    case = only_ticket_of("alice@example.com")
    tickets.reply(case=case, actor=agent_on_tickets, body="Please clean the rollers.")
    reply_id = MailMessage.objects.get(case=case, direction="out", event__isnull=False).message_id
    events_before = case.events.count()

    forwarded = mail("mallory@example.com", "Re: Printer jams", "Mine too!", in_reply_to=reply_id)
    mailbox.deliver(forwarded)
    result = fetch(mailbox)

    assert result.counts["opened"] == 1 and result.counts["replied"] == 0
    assert case.events.count() == events_before  # alice's ticket untouched
    theirs = only_ticket_of("mallory@example.com")
    assert theirs.ticket.related_case is None and theirs.subject == "Printer jams"
    assert MailMessage.objects.get(message_id=forwarded["Message-ID"]).case == theirs


def test_r_sup_4_a_reply_to_a_closed_ticket_opens_a_linked_new_one(mailbox, smtp, agent_on_tickets):
    first = mail("alice@example.com", "Printer jams", "It jams.")
    mailbox.deliver(first)
    fetch(mailbox)
    case = only_ticket_of("alice@example.com")
    tickets.close(case=case, actor=agent_on_tickets)

    mailbox.deliver(mail("alice@example.com", "Re: Printer jams", "It jams again.", in_reply_to=first["Message-ID"]))
    result = fetch(mailbox)

    assert result.counts["opened"] == 1
    new = Case.objects.filter(customer__email="alice@example.com").exclude(pk=case.pk).get()
    assert new.ticket.related_case == case
    case.refresh_from_db()
    assert case.status == "closed"
    assert case.events.filter(data__linked_case=new.number).exists()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG")
    return out.getvalue()


def test_r_sup_4_photos_are_attached_and_refused_attachments_skipped_with_a_note(mailbox, smtp, settings):
    message = mail("alice@example.com", "Broken screen", "See the photo.")
    message.add_attachment(png_bytes(), maintype="image", subtype="png", filename="screen.png")
    message.add_attachment(b"not really a jpeg", maintype="image", subtype="jpeg", filename="fake.jpg")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="invoice.pdf")
    settings.ATTACHMENT_MAX_BYTES = 10_000
    message.add_attachment(b"x" * 20_000, maintype="image", subtype="jpeg", filename="huge.jpg")
    mailbox.deliver(message)

    assert fetch(mailbox).counts["opened"] == 1

    case = only_ticket_of("alice@example.com")
    assert list(Attachment.objects.filter(case=case).values_list("original_name", flat=True)) == ["screen.png"]
    note = case.events.get(data__has_key="mail_attachments_skipped")
    assert not note.public
    assert {s["file"] for s in note.data["mail_attachments_skipped"]} == {"fake.jpg", "invoice.pdf", "huge.jpg"}


def test_an_html_only_mail_becomes_text(mailbox, smtp):
    message = EmailMessage()
    message["From"], message["Subject"] = "alice@example.com", "HTML"
    message["Message-ID"] = make_msgid(domain="customer.test")
    message.set_content(
        "<html><head><style>p{}</style><script>alert(1)</script></head>"
        "<body><p>Hello &amp; thanks</p><p>Line two<br>three</p></body></html>",
        subtype="html",
    )
    mailbox.deliver(message)
    fetch(mailbox)
    opened = only_ticket_of("alice@example.com").events.get(type=CaseEvent.Type.OPENED)
    assert opened.note == "Hello & thanks\n\nLine two\nthree"


def test_a_bad_message_does_not_stop_the_others_and_is_flagged_after_repeated_failures(mailbox, smtp, monkeypatch):
    real = intake._file

    def file_or_fail(parsed):
        if parsed.subject == "boom":
            raise RuntimeError("cannot file this one")
        return real(parsed)

    monkeypatch.setattr(intake, "_file", file_or_fail)
    bad = mail("bob@example.com", "boom", "x")
    mailbox.deliver(mail("alice@example.com", "First", "One."))
    mailbox.deliver(bad)
    mailbox.deliver(mail("carol@example.com", "Third", "Three."))

    first = fetch(mailbox)

    assert first.counts["opened"] == 2 and first.counts["failed"] == 1
    assert "\\Seen" not in mailbox.flags()[bad["Message-ID"]]  # left for the next fetch
    assert MailIntakeFailure.objects.get(message_id=bad["Message-ID"]).failures == 1
    assert not Case.objects.filter(customer__email="bob@example.com").exists()  # rolled back whole

    assert fetch(mailbox).counts["failed"] == 1
    assert fetch(mailbox).counts["flagged"] == 1
    assert mailbox.flags()[bad["Message-ID"]] >= {"\\Flagged"}
    assert "\\Seen" not in mailbox.flags()[bad["Message-ID"]]
    assert sum(fetch(mailbox).counts.values()) == 0  # given up: left for a person

    monkeypatch.setattr(intake, "_file", real)  # fixed, and a person unflags it
    with mailbox.session() as conn:
        conn.uid("STORE", "1:*", "-FLAGS", "(\\Flagged)")
    assert fetch(mailbox).counts["opened"] == 1
    assert not MailIntakeFailure.objects.exists()


def test_an_unreachable_mailbox_is_reported_not_raised(db):
    result = fetch_mailbox(url="imap://user:pw@127.0.0.1:1/INBOX")
    assert result.error and sum(result.counts.values()) == 0


def test_the_command_prints_the_counts(mailbox, smtp, capsys):
    mailbox.deliver(mail("alice@example.com", "Printer jams", "It jams."))
    call_command("fetch_support_mail", url=mailbox.url)
    assert "opened 1" in capsys.readouterr().out


def test_beat_fetches_the_mailbox_only_when_an_imap_url_is_set(tmp_path):
    code = (
        "import django, json; from django.conf import settings; django.setup(); "
        "print(json.dumps({k: v['schedule'] for k, v in settings.CELERY_BEAT_SCHEDULE.items() "
        "if k == 'fetch-support-mail'}))"
    )
    off = run_django(["-c", code], {"SECRET_KEY": "x" * 50}, tmp_path)
    imap = {"SUPPORT_IMAP_URL": "imaps://u:p@mail.test/INBOX", "SUPPORT_MAIL_INTERVAL_SECONDS": "30"}
    on = run_django(["-c", code], {"SECRET_KEY": "x" * 50, **imap}, tmp_path)
    assert off.stdout.strip() == "{}", off.stderr
    assert on.stdout.strip() == '{"fetch-support-mail": 30.0}', on.stderr
