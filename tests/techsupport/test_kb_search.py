"""Knowledge-base search (R-SUP-5): every word must match, titles rank first, articles for the product
(or its category) rank before all others, Chinese matches as text; suggestions before a ticket match any
word. The first part holds on every database (SQLite falls back to substring matching); the PostgreSQL
part checks the full-text search itself: prefixes, weights and the GIN index of migration 0002."""

import pytest
from django.db import connection

from techsupport.kb import selectors
from tests import factories
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def titles(articles) -> list[str]:
    return [a.title for a in articles]


# --- On every database --------------------------------------------------------------------------------------


def test_every_word_must_match_and_a_title_hit_ranks_above_a_text_hit():
    ArticleFactory(title="Battery care", body="Before a firmware update, charge the watch.")
    ArticleFactory(title="Firmware update guide", body="Open the app.")
    ArticleFactory(title="Firmware history", body="Older versions.")  # no "update" anywhere
    ArticleFactory(title="Pairing", body="Nothing about it.")
    assert titles(selectors.search("firmware update")) == ["Firmware update guide", "Battery care"]
    assert titles(selectors.search("FIRMWARE")) == ["Firmware history", "Firmware update guide", "Battery care"]


def test_summary_is_searched_and_unpublished_articles_are_never_found():
    ArticleFactory(title="Reset", summary="How to reset the router")
    ArticleFactory(title="Router draft", published=False)
    assert titles(selectors.search("router")) == ["Reset"]


def test_articles_for_the_product_or_its_category_rank_first():
    parent = factories.CategoryFactory(name="Electronics")
    phones = factories.CategoryFactory(name="Phones", parent=parent)
    phone = factories.ProductFactory(category=phones)
    other = factories.ProductFactory(category=factories.CategoryFactory(name="Kitchen"))
    ArticleFactory(title="Reset a phone", body="reset")  # best title hits, linked to nothing
    for_product = ArticleFactory(title="Factory settings", body="reset", products=[phone])
    for_parent = ArticleFactory(title="Start again", body="reset", categories=[parent])
    ArticleFactory(title="Reset a kettle", body="reset", products=[other])
    assert titles(selectors.search("reset", product=phone)) == [
        for_product.title,  # linked, no title hit: then by title
        for_parent.title,
        "Reset a kettle",
        "Reset a phone",
    ]
    assert titles(selectors.search("reset")) == ["Reset a kettle", "Reset a phone", for_product.title, for_parent.title]
    assert titles(selectors.search("reset", category=parent))[0] == for_parent.title


def test_chinese_matches_as_text_inside_a_longer_run():
    ArticleFactory(title="如何开启杜比视界", body="按遥控器上的快速设置键。")
    ArticleFactory(title="电饭煲内胆清洁", body="用软布清洗。")
    assert titles(selectors.search("杜比视界")) == ["如何开启杜比视界"]
    assert titles(selectors.search("遥控器 杜比")) == ["如何开启杜比视界"]
    assert titles(selectors.search("内胆")) == ["电饭煲内胆清洁"]
    assert titles(selectors.search("杜比 内胆")) == []  # every word must match


def test_language_keeps_that_language_and_articles_for_every_language():
    ArticleFactory(title="Dolby EN", body="dolby", language="en")
    ArticleFactory(title="Dolby ZH", body="dolby", language="zh-hans")
    ArticleFactory(title="Dolby any", body="dolby", language="")
    assert set(titles(selectors.search("dolby", language="zh-hans"))) == {"Dolby ZH", "Dolby any"}
    assert len(selectors.search("dolby")) == 3


def test_kind_and_limit():
    for n in range(4):
        ArticleFactory(title=f"Care {n}", kind="care", body="clean")
    ArticleFactory(title="Clean FAQ", kind="faq")
    assert titles(selectors.search("clean", kind="faq")) == ["Clean FAQ"]
    assert len(selectors.search("clean", limit=3)) == 3


@pytest.mark.parametrize("query", ["", "   ", "!!! ??", "'", "':* | & !", "\\", "%", "_"])
def test_a_query_without_words_finds_nothing_and_never_fails(query):
    ArticleFactory(title="100% cotton_care", body="it's ok")
    assert list(selectors.search(query)) == []


def test_query_syntax_is_text_never_operators():
    ArticleFactory(title="Wi-Fi drops", body="router")
    assert titles(selectors.search("wi-fi | !router")) == ["Wi-Fi drops"]
    assert titles(selectors.search("it's")) == []


def test_suggest_matches_any_word_leaves_out_question_words_and_gives_five_at_most():
    ArticleFactory(title="How to clean the inner pot", body="soft sponge")
    reset = ArticleFactory(title="Reset your watch", body="Settings > System > Reset")
    pairing = ArticleFactory(title="Pairing a watch", body="Bluetooth")
    assert titles(selectors.suggest("how do I reset my watch?")) == [reset.title, pairing.title]
    for n in range(7):
        ArticleFactory(title=f"Watch tip {n}")
    assert len(selectors.suggest("watch")) == 5


def test_suggest_puts_the_products_articles_first():
    product = factories.ProductFactory()
    ArticleFactory(title="Screen flicker on TVs", body="screen flicker")
    mine = ArticleFactory(title="Picture settings", body="flicker", products=[product])
    assert titles(selectors.suggest("screen flicker", product=product))[0] == mine.title
    assert titles(selectors.suggest("screen flicker"))[0] == "Screen flicker on TVs"


def test_suggest_finds_chinese_worded_differently():
    ArticleFactory(title="电视无声音的排查", body="检查音频输出设置。")
    ArticleFactory(title="如何清洁电饭煲", body="软布")
    assert titles(selectors.suggest("我的电视没有声音怎么办")) == ["电视无声音的排查"]
    assert selectors.parse_terms("如何开启杜比视界", loose=True).cjk == ("何开", "开启", "启杜", "杜比", "比视", "视界")


def test_suggest_of_question_words_only_still_searches_them():
    ArticleFactory(title="What is covered", body="warranty")
    assert titles(selectors.suggest("what")) == ["What is covered"]
    assert selectors.suggest("  ?? ") == []


# --- PostgreSQL full-text search -----------------------------------------------------------------------------


@pytest.mark.postgres
def test_pg_words_match_as_prefixes_of_tokens():
    ArticleFactory(title="Firmware 5.0", body="Install it")
    ArticleFactory(title="Confirm the order", body="")
    assert titles(selectors.search("firm")) == ["Firmware 5.0"]  # a token's prefix, not any substring


@pytest.mark.postgres
def test_pg_summary_weighs_more_than_the_text():
    ArticleFactory(title="Alpha", summary="", body="charging cable problems")
    ArticleFactory(title="Zeta", summary="charging cable problems", body="")
    assert titles(selectors.search("charging")) == ["Zeta", "Alpha"]  # B above C, before the title order


@pytest.mark.postgres
def test_pg_a_chinese_token_matches_by_token_and_as_text():
    ArticleFactory(title="杜比 视界 设置", body="")  # separate tokens
    ArticleFactory(title="开启杜比视界", body="")  # one run
    assert set(titles(selectors.search("视界"))) == {"杜比 视界 设置", "开启杜比视界"}


@pytest.mark.postgres
def test_pg_search_uses_the_gin_index():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'techsupport_article_search'",
        )
        assert "gin" in cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_seqscan = off")
    ArticleFactory(title="Firmware", body="update")
    plan = selectors.search("firmware update").explain()
    assert "techsupport_article_search" in plan, plan
    suggestions = selectors._ranked(selectors.parse_terms("firmware update", loose=True), every_term=False)
    assert "techsupport_article_search" in suggestions.explain()


def test_plural_and_verb_endings_still_match():
    ArticleFactory(title="Charger not working", body="The watch does not update.")
    assert titles(selectors.search("chargers updated")) == ["Charger not working"]
    assert titles(selectors.suggest("watches charging")) == ["Charger not working"]
    assert selectors.parse_terms("address status flickers go").words == ("address", "statu", "flicker", "go")
