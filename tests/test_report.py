"""`advisor report`: the HTML page, its charts, its escaping, and the page in a real browser
(headless Chromium; CI installs it, a local run without it skips those tests and says why)."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import re
import select
import shutil
import struct
import subprocess
import time
import zlib
from dataclasses import dataclass
from html import escape, unescape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.data.formats import load_tables
from advisor.data.hardware import HardwareQuery, hardware_from
from advisor.data.loader import load_catalog
from advisor.output.report import STYLE, Report, report_data, to_html
from advisor.output.report_svg import (
    HEIGHT,
    LEFT,
    RIGHT,
    WIDTH,
    CurvePoint,
    ScatterPoint,
    log2_ticks,
    log_scale,
    nice_ticks,
    scatter_chart,
    speed_chart,
    tokens_label,
)
from advisor.ranking.recommend import context_for, recommend
from advisor.ranking.rules import Constraints, load_scoring

runner = CliRunner()
DATA = Path(__file__).parent / "data"
HOSTILE_NAME = '<script>alert("name")</script> & "quotes"'
HOSTILE_LICENCE = "<img src=x onerror=alert(2)>"


def _report(device: str = "rtx-4090", **constraints: object) -> Report:
    cat, tables, scoring = load_catalog(None), load_tables(), load_scoring()
    hw = hardware_from(HardwareQuery(device=device))
    c = Constraints(**constraints)  # type: ignore[arg-type]
    return report_data(cat, hw, tables, c, scoring, recommend(cat, hw, tables, c, scoring))


@pytest.fixture(scope="module")
def gpu_report() -> Report:
    return _report()


def hostile_catalog(tmp_path: Path) -> Path:
    """The user-catalog fixture alone, with markup in its free-text name and licence id."""
    text = (DATA / "user_extends.toml").read_text(encoding="utf-8")
    text = text.replace("extends_packaged = true", "extends_packaged = false")
    text = text.replace('name = "ACME Qwen3-8B fine-tune"',
                        "name = " + HOSTILE_NAME.replace("\\", "\\\\").replace('"', '\\"')
                        .join('""'))
    text = text.replace('license = { id = "apache-2.0"', f'license = {{ id = "{HOSTILE_LICENCE}"')
    path = tmp_path / "hostile.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the pure chart functions -------------------------------------------------------------------

def test_scales_and_ticks() -> None:
    x = log_scale(1.0, 16.0, 0.0, 400.0)
    assert (x(1.0), x(4.0), x(16.0)) == (0.0, 200.0, 400.0)
    assert log2_ticks(0.7, 21.0) == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert len(log2_ticks(2.0**-3, 2.0**20)) <= 9
    assert nice_ticks(0.0, 230.0) == [0.0, 50.0, 100.0, 150.0, 200.0]
    assert nice_ticks(-2.7, 2.6) == [-2.0, -1.0, 0.0, 1.0, 2.0]
    assert [tokens_label(v) for v in (1024, 32768, 2**20, 1500)] == ["1k", "32k", "1M", "1,500"]


def _circles(svg: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'([\w-]+)="([^"]*)"', m))
            for m in re.findall(r"<circle ([^>]*)>", svg)]


def test_scatter_puts_points_and_the_usable_line_where_the_scales_say() -> None:
    points = [ScatterPoint("small", 1.0, -1.0, "other"), ScatterPoint("mid", 3.0, 0.5, "pick",
                                                                          tag="#1"),
              ScatterPoint("huge", 64.0, 2.0, "big")]
    svg = scatter_chart(points, usable_gb=8.0, ylabel="quality")
    circles = {c["data-model"]: c for c in _circles(svg)}
    assert set(circles) == {"small", "mid", "huge"}
    assert circles["mid"]["class"] == "pt pick c0" and circles["huge"]["class"] == "pt big"
    # x: log scale over [min/1.3, max*1.3] across the plot's width
    x = log_scale(1.0 / 1.3, 64.0 * 1.3, LEFT, WIDTH - RIGHT)
    for name, gb in (("small", 1.0), ("mid", 3.0), ("huge", 64.0)):
        assert float(circles[name]["cx"]) == pytest.approx(x(gb), abs=0.06)
    line = re.search(r'<line class="usable" x1="([\d.]+)"', svg)
    assert line and float(line[1]) == pytest.approx(x(8.0), abs=0.06)
    assert float(circles["mid"]["cx"]) < float(line[1]) < float(circles["huge"]["cx"])
    # y: higher quality is higher on the page (smaller y), all inside the plot
    ys = [float(circles[n]["cy"]) for n in ("small", "mid", "huge")]
    assert ys == sorted(ys, reverse=True) and all(0 < v < HEIGHT for v in ys)
    assert ">#1</text>" in svg  # picks are labelled with their rank


def test_speed_chart_draws_one_line_per_curve_and_skips_empty_ones() -> None:
    curves = [("#1 a", [CurvePoint(1024, 100.0), CurvePoint(8192, 80.0)]),
              ("#2 b", [CurvePoint(1024, 40.0), CurvePoint(4096, 39.0), CurvePoint(32768, 30.0)]),
              ("#3 c", [])]
    svg = speed_chart(curves)
    lines = re.findall(r'<polyline class="curve (c\d)" data-model="([^"]*)" points="([^"]*)"', svg)
    assert [(cls, label) for cls, label, _ in lines] == [("c0", "#1 a"), ("c1", "#2 b")]
    assert [len(pts.split()) for _, _, pts in lines] == [2, 3]
    first = [tuple(map(float, p.split(","))) for p in lines[0][2].split()]
    assert first[0][0] < first[1][0] and first[0][1] < first[1][1]  # right and lower
    assert "no local pick" in speed_chart([("#1 cloud", [])])


def test_chart_labels_are_escaped() -> None:
    svg = scatter_chart([ScatterPoint("<b>x</b>", 1.0, 0.0, "pick", tag="<i>")], 2.0, "q")
    svg += speed_chart([("<script>", [CurvePoint(1024, 1.0)])])
    svg += speed_chart([("\x1b[31mred\x07\u202e", [CurvePoint(1024, 1.0)])])
    assert "<b>" not in svg and "<i>" not in svg and "<script>" not in svg
    assert "&lt;b&gt;x&lt;/b&gt;" in svg and "&lt;script&gt;" in svg
    assert "\x1b" not in svg and "\x07" not in svg and "\u202e" not in svg and "red" in svg


# --- the data behind the charts -----------------------------------------------------------------

def test_candidates_sit_where_recommend_put_them(gpu_report: Report) -> None:
    r = gpu_report.result
    usable = r.device.usable_memory_bytes
    by_id = {x.model_id: x for x in gpu_report.candidates}
    local = [p for p in r.recommendations if p.memory]
    assert local and all(by_id[p.model_id].status == "pick" for p in local)
    assert all(by_id[p.model_id].memory_bytes == p.memory.total_bytes for p in local)
    assert {x.status for x in gpu_report.candidates} >= {"pick", "not picked", "too big"}
    for x in gpu_report.candidates:
        assert (x.memory_bytes > usable) == (x.status == "too big"), x
    excluded = {e.model_id for e in r.excluded}
    assert all(x.model_id in excluded for x in gpu_report.candidates if x.status != "pick")


def test_speed_curves_match_the_picks_and_slow_down_with_context(gpu_report: Report) -> None:
    cat = load_catalog(None)
    c = gpu_report.result.constraints
    picks = {p.model_id: p for p in gpu_report.result.recommendations if p.memory}
    assert [x.model_id for x in gpu_report.curves] == list(picks)
    for curve in gpu_report.curves:
        p = picks[curve.model_id]
        contexts = [ctx for ctx, _ in curve.points]
        speeds = [tps for _, tps in curve.points]
        assert len(contexts) >= 3 and contexts == sorted(contexts)
        assert all(a >= b for a, b in itertools.pairwise(speeds)), curve
        own = context_for(next(m for m in cat.models if m.id == p.model_id), c)
        assert p.speed and dict(curve.points)[own] == pytest.approx(p.speed.decode_tokens_per_s)
        assert max(contexts) <= max(own, p.max_context_tokens or 0)


# --- the page -----------------------------------------------------------------------------------

def _section(page: str, tag: str) -> str:
    found = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.S)
    assert found, tag
    return found[1]


def test_page_loads_nothing_and_its_policy_allows_only_its_own_style_and_script(
        gpu_report: Report) -> None:
    page = to_html(gpu_report)
    assert not re.search(r"\b(src|href|xlink:href|action|srcset|poster|data)\s*=", page)
    assert not re.search(r"url\(|@import|<link|<img|<iframe|<object|<embed", page, re.I)
    assert not re.search(r"https?://", page)
    assert page.count("<script>") == 1 and page.count("<style>") == 1
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert policy and "default-src 'none'" in policy[1]
    for tag, directive in (("style", "style-src"), ("script", "script-src")):
        digest = base64.b64encode(hashlib.sha256(_section(page, tag).encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy[1]


def test_page_holds_the_picks_reasons_commands_and_exclusions(gpu_report: Report) -> None:
    page = to_html(gpu_report)
    r = gpu_report.result
    for p in r.recommendations:
        assert f'data-model="{p.model_id}"' in page
    first = next(p for p in r.recommendations if p.recipes)
    assert first.recipes[0].commands[-1].replace('"', "&quot;").replace("'", "&#x27;") in page
    assert page.count('class="copy"') == sum(len(p.recipes) for p in r.recommendations)
    assert f"{len(r.excluded)} models left out" in page and "<details>" in page
    assert page.count('<circle class="pt') == len(gpu_report.candidates)
    assert page.count('<polyline class="curve') == len(gpu_report.curves)


def test_hostile_catalog_strings_are_escaped(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["--catalog", str(hostile_catalog(tmp_path)), "report",
                                 "--device", "rtx-4090", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert page.count("<script") == 1 and "<img" not in page
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page


def test_page_is_ascii_and_in_chinese_with_lang_zh(tmp_path: Path) -> None:
    """The page is ASCII (other characters as references), so any channel carries it; with
    --lang zh its headings, chart labels, buttons and why-lines are Chinese."""
    en, zh = tmp_path / "en.html", tmp_path / "zh.html"
    for path, extra in ((en, []), (zh, ["--lang", "zh"])):
        result = runner.invoke(app, ["report", "--device", "phone", "--private", *extra,
                                     "-o", str(path)])
        assert result.exit_code == 0, result.stderr
    english, chinese = (p.read_text(encoding="utf-8") for p in (en, zh))
    assert english.isascii() and chinese.isascii()
    assert '<html lang="en">' in english and '<html lang="zh-CN">' in chinese
    shown = unescape(chinese)
    for words in ("推荐", "运行命令", "未推荐", "质量与内存", "解码速度与上下文", "复制", "可用"):
        assert words in shown, words
    assert "Run commands" not in shown and "Run commands" in english
    assert "thinking switchable" in english and "thinking switchable" not in shown


def test_nothing_fits_page_says_so_and_plots_every_candidate_as_too_big() -> None:
    tiny = hardware_from(HardwareQuery(memory_gib=0.3))
    cat, tables, scoring = load_catalog(None), load_tables(), load_scoring()
    c = Constraints(private=True)
    report = report_data(cat, tiny, tables, c, scoring, recommend(cat, tiny, tables, c, scoring))
    page = unescape(to_html(report))
    assert report.result.recommendations == () and report.curves == ()
    assert report.candidates and {x.status for x in report.candidates} == {"too big"}
    assert page.count('<circle class="pt big"') == len(report.candidates)
    assert "Nothing fits this device" in page and "no local pick to chart" in page
    assert f"<dt>nothing fits</dt><dd>{report.result.closest}</dd>" in page
    assert "smaller tokens" not in page  # the assumed context reads as a sentence


def test_recommend_writes_the_same_page_for_html_files(tmp_path: Path) -> None:
    args = ["--device", "phone", "--private"]
    a, b = tmp_path / "a.html", tmp_path / "b.htm"
    assert runner.invoke(app, ["report", *args, "-o", str(a)]).exit_code == 0
    assert runner.invoke(app, ["recommend", *args, "-o", str(b)]).exit_code == 0
    assert a.read_text(encoding="utf-8") == b.read_text(encoding="utf-8")
    shown = runner.invoke(app, ["recommend", *args, "--format", "html"])
    assert shown.stdout == a.read_text(encoding="utf-8")


@pytest.mark.parametrize("args", [["models", "-o", "x.html"], ["devices", "--format", "html"],
                                  ["recommend", "--device", "phone", "--json", "-o", "x.html"]])
def test_html_where_there_is_none_is_one_error_line(args: list[str], tmp_path: Path) -> None:
    result = runner.invoke(app, [a.replace("x.html", str(tmp_path / "x.html")) for a in args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "html" in lines[-1] and "Traceback" not in lines[-1]
    assert not (tmp_path / "x.html").exists()


def test_report_takes_recommends_options_but_not_its_output_format() -> None:
    ours = runner.invoke(app, ["report", "--help"]).stdout
    theirs = runner.invoke(app, ["recommend", "--help"]).stdout
    for option in ("--device", "--memory-gb", "--private", "--task", "--top", "--output"):
        assert option in ours and option in theirs
    for option in ("--json", "--format", "--why-not", "--explain"):
        assert option in theirs and option not in ours
    assert runner.invoke(app, ["report", "--json"]).exit_code == 2


# --- in a real browser --------------------------------------------------------------------------

def _browser() -> str:
    found = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have chromium (.ci/run installs it)")
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium); "
                    "CI installs it")
    return found


def png_rows(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height, bytes per pixel and unfiltered rows of an 8-bit RGB(A) PNG (zlib only)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, [], b""
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IHDR":
            header = data[pos + 8:pos + 8 + size]
        elif kind == b"IDAT":
            idat.append(data[pos + 8:pos + 8 + size])
        pos += 12 + size
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(b"".join(idat)), width * bpp
    prev, rows = bytearray(stride + bpp), []
    for y in range(height):
        start = y * (stride + 1)
        kind, cur = raw[start], bytearray(bpp) + raw[start + 1:start + 1 + stride]
        for i in range(bpp, stride + bpp) if kind else ():
            a, b, c = cur[i - bpp], prev[i], prev[i - bpp]
            if kind == 1:
                cur[i] = (cur[i] + a) & 255
            elif kind == 2:
                cur[i] = (cur[i] + b) & 255
            elif kind == 3:
                cur[i] = (cur[i] + ((a + b) >> 1)) & 255
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(cur[bpp:]))
        prev = cur
    return width, height, bpp, rows


@dataclass(frozen=True)
class Rendered:
    page: Path
    dom: str
    console: list[str]
    png: bytes


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The report for an RTX 4090 opened once in headless Chromium: the DOM after the script
    ran, the console, and a screenshot at half scale (a quarter of the pixels to decode)."""
    browser = _browser()
    where = tmp_path_factory.mktemp("browser")
    page, shot = where / "report.html", where / "shot.png"
    result = CliRunner().invoke(app, ["report", "--device", "rtx-4090", "-o", str(page)])
    assert result.exit_code == 0, result.stderr
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
             "--disable-extensions", "--disable-background-networking", "--mute-audio",
             "--enable-logging=stderr", "--v=0", f"--user-data-dir={where / 'profile'}",
             "--window-size=1100,1800", "--force-device-scale-factor=0.5",
             f"--screenshot={shot}", "--dump-dom", page.as_uri()]
    done = subprocess.run([browser, *flags], capture_output=True, timeout=120,
                          env={**os.environ, "HOME": str(where)})
    log = done.stderr.decode(errors="replace")
    assert done.returncode == 0 and shot.exists(), log[-3000:]
    return Rendered(page=page, dom=done.stdout.decode(), png=shot.read_bytes(),
                    console=[x for x in log.splitlines() if ":CONSOLE" in x])


def test_chromium_runs_the_page_and_draws_both_charts(rendered: Rendered,
                                                     gpu_report: Report) -> None:
    # no script error and nothing refused by the page's policy
    assert rendered.console == []
    # the script ran (the policy let its hash through): it shows the copy buttons
    buttons = re.findall(r'<button class="copy"[^>]*>', rendered.dom)
    assert buttons and not any("hidden" in b for b in buttons)
    scatter = re.search(r'<svg id="quality-memory".*?</svg>', rendered.dom, re.S)
    speed = re.search(r'<svg id="speed-context".*?</svg>', rendered.dom, re.S)
    assert scatter and speed
    assert scatter[0].count('<circle class="pt') == len(gpu_report.candidates)
    assert speed[0].count("<polyline") == len(gpu_report.curves) >= 1
    for p in gpu_report.result.recommendations:
        assert escape(p.name) in rendered.dom


def test_chromium_screenshot_shows_the_charts_in_their_colours(rendered: Rendered,
                                                               gpu_report: Report) -> None:
    width, height, bpp, rows = png_rows(rendered.png)
    assert (width, height) == (550, 900)
    pixels = {row[i:i + 3] for row in rows for i in range(0, len(row), bpp)}
    assert len(pixels) > 200  # text, tables and charts: not a blank page
    # the style applied (its hash passed the policy) and every pick's line drew in its colour
    palette = dict(re.findall(r"svg \.c(\d)\{stroke:#([0-9a-f]{6})", STYLE))
    assert len(palette) == 8
    for i in range(len(gpu_report.curves)):
        assert bytes.fromhex(palette[str(i)]) in pixels, f"colour of curve {i}"


class DevTools:
    """Chromium driven over --remote-debugging-pipe (fds 3 and 4, NUL-separated JSON): no
    socket, no client library."""

    def __init__(self, browser: str, profile: Path) -> None:
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()
        # high copies that a dup2 to 3 and 4 in the child cannot clobber
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in (to_browser, from_browser)]
        os.close(to_browser)
        os.close(from_browser)

        def child() -> None:
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-extensions", "--disable-background-networking", "--mute-audio",
                 "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"]
        self.proc = subprocess.Popen([browser, *flags], preexec_fn=child, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env={**os.environ, "HOME": str(profile)})
        for fd in high:
            os.close(fd)
        self._buffer, self._next = b"", 0

    def send(self, method: str, session: str | None = None, **params: object) -> dict:
        self._next += 1
        message: dict[str, object] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 60
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._next:
                    assert "error" not in reply, (method, reply["error"])
                    return reply["result"]  # type: ignore[no-any-return]
            ready, _, _ = select.select([self._read], [], [], deadline - time.monotonic())
            assert ready, f"no answer to {method}"
            chunk = os.read(self._read, 1 << 16)
            assert chunk, "the browser closed the pipe"
            self._buffer += chunk

    def evaluate(self, session: str, script: str) -> object:
        found = self.send("Runtime.evaluate", session, expression=script, awaitPromise=True,
                          userGesture=True, returnByValue=True)
        assert "exceptionDetails" not in found, found
        return json.loads(found["result"]["value"])

    def close(self) -> None:
        with contextlib.suppress(AssertionError, OSError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._write)
        os.close(self._read)


CLICK = """(async () => {
  const clipboard = navigator.clipboard;
  await clipboard.writeText('before');
  if (%(without_api)s) {  // an old browser or an insecure page: the execCommand fallback
    Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined,
                                                            configurable: true});
  }
  const button = document.querySelectorAll('button.copy')[%(index)d];
  button.click();
  await new Promise(done => setTimeout(done, 300));
  return JSON.stringify({label: button.textContent, copied: await clipboard.readText(),
                         api: navigator.clipboard !== undefined});
})()"""


def test_chromium_copy_buttons_put_the_commands_on_the_clipboard(rendered: Rendered,
                                                                 gpu_report: Report,
                                                                 tmp_path: Path) -> None:
    commands = ["\n".join(r.commands) for p in gpu_report.result.recommendations
                for r in p.recipes]
    tools = DevTools(_browser(), tmp_path / "profile")
    try:
        tools.send("Browser.grantPermissions",
                   permissions=["clipboardReadWrite", "clipboardSanitizedWrite"])
        target = tools.send("Target.createTarget", url=rendered.page.as_uri())["targetId"]
        session = tools.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        tools.send("Emulation.setFocusEmulationEnabled", session, enabled=True)
        tools.evaluate(session, "new Promise(done => document.readyState === 'complete' ? "
                                "done('1') : addEventListener('load', () => done('1')))")
        api = tools.evaluate(session, CLICK % {"without_api": "false", "index": 0})
        fallback = tools.evaluate(session, CLICK % {"without_api": "true", "index": 1})
    finally:
        tools.close()
    assert api == {"label": "Copied", "copied": commands[0], "api": True}
    assert fallback == {"label": "Copied", "copied": commands[1], "api": False}
