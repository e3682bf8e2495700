"""Every text a portal page shows has its Chinese, one per text, and Babel really loads it for zh_CN."""
from babel import Locale
from babel.support import Translations

from services.portal import catalogue


def test_every_page_text_has_one_chinese_translation():
    assert catalogue.untranslated() == []
    assert catalogue.conflicts() == []


def test_the_chinese_catalogue_is_found_for_zh_cn():
    # Babel turns zh_CN into zh_Hans_CN; gettext then looks for that folder (or zh), never zh_CN
    assert str(Locale.parse("zh_CN")) == "zh_Hans_CN"
    catalogue.compile_all()
    loaded = Translations.load(str(catalogue.TRANSLATIONS / "common"), [Locale.parse("zh_CN")])
    assert loaded.gettext("Staff sign-in") == "馆员登录"


def test_an_untranslated_text_is_reported(tmp_path, monkeypatch):
    page = tmp_path / "probe.html"
    page.write_text('{{ _("A text nobody has translated yet") }}', encoding="utf-8")
    sources, area_of = catalogue.sources, catalogue.area_of
    monkeypatch.setattr(catalogue, "sources", lambda: sources() + [page])
    monkeypatch.setattr(catalogue, "area_of", lambda path: "reader" if path == page else area_of(path))
    assert any("A text nobody has translated yet" in line for line in catalogue.untranslated())
