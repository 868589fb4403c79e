"""The Chinese interface (issue 18): language choice, catalog completeness, a Chinese run."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor import i18n
from advisor.cli import app

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "advisor" / "locale" / "zh_CN" / "LC_MESSAGES" / "advisor.po"
QUICK_START = ["recommend", "--device", "phone", "--private"]
HAN = re.compile("[\u4e00-\u9fff]")


def tool():
    """tools/i18n.py, the extraction the catalogs are made with (Babel + the CLI's help).

    Babel is in the test extra (CI installs it); an older virtual environment without it skips
    the catalog checks instead of failing on the import."""
    pytest.importorskip("babel", reason="pip install -e '.[test]' (Babel) for the catalog checks")
    spec = importlib.util.spec_from_file_location("tools_i18n", ROOT / "tools" / "i18n.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "en"),
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "zh_TW.UTF-8"}, "zh"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh"),
    ({"LC_MESSAGES": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),  # LC_ALL wins
    ({"LANG": "en_US.UTF-8", "LANGUAGE": "zh_CN:en"}, "zh"),  # LANGUAGE first
    ({"LANG": "zh_CN.UTF-8", "LANGUAGE": "en"}, "en"),
    ({"LANG": "fr_FR.UTF-8", "LANGUAGE": "fr:zh_CN"}, "zh"),  # no French: the next one
    ({"LC_ALL": "C", "LANGUAGE": "zh_CN"}, "en"),  # GNU: LANGUAGE is ignored under C
    ({"LANG": "de_DE.UTF-8"}, "en"),
])
def test_language_from_locale_variables(env: dict[str, str], expected: str) -> None:
    assert i18n.language_from_env(env) == expected


def test_lang_option_is_taken_from_anywhere_before_double_dash() -> None:
    assert i18n.take_lang_option(["recommend", "--lang", "zh", "-d", "phone"]) == (
        ["recommend", "-d", "phone"], "zh")
    assert i18n.take_lang_option(["--lang=en", "models"]) == (["models"], "en")
    assert i18n.take_lang_option(["--lang", "zh-CN", "models"]) == (["models"], "zh")
    assert i18n.take_lang_option(["show", "--", "--lang", "zh"]) == (
        ["show", "--", "--lang", "zh"], None)


def test_every_user_facing_message_has_a_chinese_translation() -> None:
    """Fails when a message in the source (_, N_, msg) or a help text has no msgstr in the .po:
    add it there (python tools/i18n.py update, translate, python tools/i18n.py compile)."""
    t = tool()
    wanted = {*t.source_messages(), *t.help_messages()}
    assert len(wanted) > 150  # the extraction sees the source and the CLI's help
    missing = t.missing(PO, wanted)
    assert not missing, f"no Chinese translation in {PO.relative_to(ROOT)} for: {missing}"


def test_translations_keep_every_placeholder() -> None:
    for entry in tool().read(PO):
        if entry.id and entry.string:
            fields = sorted(re.findall(r"\{[^{}]*\}", entry.id))
            assert sorted(re.findall(r"\{[^{}]*\}", entry.string)) == fields, entry.id


def test_compiled_catalog_is_up_to_date_with_the_po() -> None:
    """advisor.mo is what `python tools/i18n.py compile` makes of advisor.po."""
    assert PO.with_suffix(".mo").read_bytes() == tool().compiled(PO)


def test_catalog_reader_agrees_with_gettext() -> None:
    """i18n.read_mo (no gettext import at start-up) reads what the standard library reads."""
    import gettext

    mo = PO.with_suffix(".mo")
    with mo.open("rb") as fp:
        reference = dict(gettext.GNUTranslations(fp)._catalog)
    reference.pop("", None)
    found = i18n.read_mo(mo.read_bytes())
    assert found == reference and len(found) > 150
    # the same catalog written on a big-endian machine: header and tables byte-swapped
    import struct

    data = mo.read_bytes()
    count, originals, translations = struct.unpack("<3I", data[8:20])
    ends = (28, originals + 8 * count, translations + 8 * count)
    swapped = bytearray(data)
    for start, end in ((0, 28), (originals, ends[1]), (translations, ends[2])):
        words = struct.unpack(f"<{(end - start) // 4}I", data[start:end])
        swapped[start:end] = struct.pack(f">{len(words)}I", *words)
    assert i18n.read_mo(bytes(swapped)) == reference
    for broken in (b"not a catalog at all", b"", data[:40]):
        with pytest.raises(ValueError):
            i18n.read_mo(broken)


def run(args: list[str], **env: str):
    result = CliRunner().invoke(app, args, env=env or None)
    assert "Traceback" not in result.output + result.stderr
    return result


def test_quick_start_in_chinese_with_lang_option_and_with_locale() -> None:
    by_option = run([*QUICK_START, "--lang", "zh"])
    assert by_option.exit_code == 0, by_option.stderr
    out = by_option.stdout
    for heading in ("为 ", "推荐（任务：chat）", "模型", "量化", "运行时", "许可证",
                    "能放下的最长上下文", "如何运行第 1 名"):
        assert heading in out, heading
    assert "Recommended for" not in out and "how to run" not in out
    assert " 权重" in out and "可切换思考模式" in out  # why-lines: "官方 q4_k_m 权重"
    assert "self-made" not in out and "thinking switchable" not in out
    assert "qwen3" in out and "apache-2.0" in out  # ids and licences as written
    by_locale = run(QUICK_START, LANG="zh_CN.UTF-8")
    assert by_locale.stdout == out
    english = run(QUICK_START)
    assert "Recommended for" in english.stdout and not HAN.search(english.stdout)
    assert run([*QUICK_START, "--lang", "en"], LANG="zh_CN.UTF-8").stdout == english.stdout


def test_error_line_in_chinese() -> None:
    result = run(["recommend", "--lang", "zh"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：") and "--device" in lines[0]
    assert HAN.search(lines[0].removeprefix("错误："))
    bad = run(["--lang", "fr", "models"])
    assert bad.exit_code == 2
    assert bad.stderr.splitlines() == [
        "error: --lang: 'fr' is not a language of this interface; expected en or zh"]


def test_usage_errors_in_chinese() -> None:
    unknown = run(["recommend", "--device", "phone", "--frobnicate", "--lang", "zh"])
    assert unknown.exit_code == 2
    assert unknown.stderr.splitlines()[-1].startswith("错误：没有这个选项：--frobnicate")
    assert unknown.stderr.splitlines()[0] == "用法：advisor recommend [OPTIONS]"
    bad = run(["recommend", "--top", "x"], LANG="zh_CN.UTF-8")
    assert bad.exit_code == 2
    assert bad.stderr.splitlines()[-1] == "错误：'--top' / '-n' 的值无效：'x' 不是有效的 int"
    typo = run(["--lang", "zh", "recomend"])
    assert typo.exit_code == 2 and "你是不是想用 'recommend'" in typo.stderr
    bare = run(["--lang", "zh"])  # no command: the help, translated, exit 2 as in English
    assert bare.exit_code == run([]).exit_code == 2 and "离线可用" in bare.output
    english = run(["recommend", "--frobnicate"])
    assert english.stderr.splitlines()[-1].startswith("Error: No such option: --frobnicate")


def test_json_is_the_same_document_under_chinese() -> None:
    english = run([*QUICK_START, "--json"])
    assert english.exit_code == 0
    for chinese in (run([*QUICK_START, "--json", "--lang", "zh"]),
                    run([*QUICK_START, "--json"], LANG="zh_CN.UTF-8")):
        assert chinese.stdout == english.stdout
    doc = json.loads(english.stdout)
    assert not HAN.search(json.dumps(doc, ensure_ascii=False))


def test_help_in_chinese() -> None:
    result = run(["--lang", "zh", "recommend", "--help"])
    assert result.exit_code == 0
    assert "按你的设备和需求排序的推荐" in result.stdout
    assert "许可证必须允许商用。" in result.stdout  # an option's help
    for word in ("用法：advisor recommend", "选项：", "[默认：5]", "显示此帮助并退出。"):
        assert word in result.stdout, word  # Click's and Typer's own words too
    assert "Usage:" not in result.stdout and "default:" not in result.stdout
    root = run(["--help"], LANG="zh_CN.UTF-8")
    assert "离线可用" in root.stdout and "列出目录中的模型。" in root.stdout
    assert "Works offline" in run(["--help"]).stdout


def test_deferred_text_is_english_until_shown_and_survives_pickle() -> None:
    import pickle

    fits = i18n.msg("fits: {total} of {usable} usable", total="3.4 GB", usable="6.4 GB")
    why = i18n.join("; ", [i18n.msg("tight fit"), "mmlu-redux 83.7 (card)", None, fits])
    assert why == "tight fit; mmlu-redux 83.7 (card); fits: 3.4 GB of 6.4 GB usable"
    assert json.dumps({"why": why}) == json.dumps({"why": str(why)})
    i18n.set_language("zh")
    try:
        assert i18n.tr(why) == (
            "内存余量很小； mmlu-redux 83.7 (card)； 能放下：占用 3.4 GB，可用 6.4 GB")
        assert i18n.tr(pickle.loads(pickle.dumps(why))) == i18n.tr(why)
        assert i18n.tr("qwen3-8b") == "qwen3-8b"  # not a message: as it is
    finally:
        i18n.set_language(None)
    assert i18n.tr(why) == why


@pytest.mark.parametrize("argv", [["--lang", "zh", "--help"], ["--lang=zh", "--help"]])
def test_chinese_help_is_kept_by_the_help_cache(tmp_path: Path, argv: list[str]) -> None:
    """`advisor --lang zh --help` is served from advisor.commandline.helpcache (keyed by the
    command line) like `advisor --help`: the second run imports no Typer and prints the same
    Chinese text."""
    import os
    import subprocess
    import sys

    probe = ("import sys; from advisor.__main__ import main\n"
             f"sys.argv = ['advisor', *{argv!r}]\n"
             "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
             "print('typer' in sys.modules, code, file=sys.stderr)")

    def help_run(**env: str) -> tuple[str, str]:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              timeout=60, env={**os.environ, "LANG": "C.UTF-8", **env},
                              check=False)
        return done.stdout, done.stderr.splitlines()[-1]

    fresh, first = help_run(ADVISOR_NO_CACHE="1")
    assert first == "True 0" and "离线可用" in fresh
    assert help_run(ADVISOR_CACHE_DIR=str(tmp_path)) == (fresh, "True 0")
    assert help_run(ADVISOR_CACHE_DIR=str(tmp_path)) == (fresh, "False 0")
