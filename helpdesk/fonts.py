"""The report's typeface must be certain: Times New Roman (NĐ 30/2020), or a metric twin.

Liberation Serif (Debian's ``fonts-liberation2``) and Tinos have Times New Roman's metrics, so
lines break where they would in Times New Roman. Without any of them WeasyPrint silently falls
back to a wider face and the national motto wraps; a report is then refused with a message that
says how to install the font, never built as a different document.

A family counts only when its four faces (regular, bold, italic, bold italic) are installed and
cover Vietnamese (Liberation 1.x, Debian's ``fonts-liberation``, has no Vietnamese letters).
The same faces measure text (``text_width``) where the layout must choose its own line breaks
(the agency names of the header).

``python -m helpdesk.fonts`` prints the face found, or the message with exit status 1
(``make run`` and ``.ci/run`` call it).
"""

from __future__ import annotations

import shutil
import subprocess  # noqa: S404 - a fixed fontconfig query, no user input
import sys
from functools import lru_cache
from pathlib import Path

FAMILIES = ("Times New Roman", "Liberation Serif", "Tinos")
STYLES = ((False, False), (True, False), (False, True), (True, True))  # (bold, italic)
# File names, for a machine without fontconfig's command-line tools, by (bold, italic).
FILES = {
    "Times New Roman": {
        (False, False): ("times.ttf", "Times New Roman.ttf", "TimesNewRoman.ttf"),
        (True, False): ("timesbd.ttf", "Times New Roman Bold.ttf", "TimesNewRomanBold.ttf"),
        (False, True): ("timesi.ttf", "Times New Roman Italic.ttf", "TimesNewRomanItalic.ttf"),
        (True, True): (
            "timesbi.ttf",
            "Times New Roman Bold Italic.ttf",
            "TimesNewRomanBoldItalic.ttf",
        ),
    },
    "Liberation Serif": {
        (False, False): ("LiberationSerif-Regular.ttf",),
        (True, False): ("LiberationSerif-Bold.ttf",),
        (False, True): ("LiberationSerif-Italic.ttf",),
        (True, True): ("LiberationSerif-BoldItalic.ttf",),
    },
    "Tinos": {
        (False, False): ("Tinos-Regular.ttf",),
        (True, False): ("Tinos-Bold.ttf",),
        (False, True): ("Tinos-Italic.ttf",),
        (True, True): ("Tinos-BoldItalic.ttf",),
    },
}
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts")
# Letters only a face with full Vietnamese coverage has.
VIETNAMESE_PROBE = "ởộươậảụạệểềịọờựếầỦốồủĐđỹ"
INSTALL_HINT = (
    "Thiếu phông chữ Times New Roman (hoặc Liberation Serif cùng kích thước) để dựng báo cáo "
    "theo Nghị định 30/2020. Cài đặt: `sudo apt-get install fonts-liberation2` (Debian/Ubuntu) "
    "hoặc cài Times New Roman, rồi chạy lại."
)


class FontMissing(RuntimeError):
    """No Times New Roman or metric-compatible face: the PDF would not be the official layout."""

    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


def _fontconfig_face(family: str, bold: bool, italic: bool) -> Path | None:
    """The file fontconfig gives for the face, if it is of ``family`` (not a substitute)."""
    tool = shutil.which("fc-match")
    if tool is None:
        return None
    pattern = family + (":bold" if bold else "") + (":italic" if italic else "")
    try:
        out = subprocess.run(  # noqa: S603 - fixed arguments
            [tool, "-f", "%{family}\n%{style}\n%{file}", pattern],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    names, styles, path = ([*out.split("\n"), "", ""])[:3]
    style = styles.lower()
    if family not in {n.strip() for n in names.split(",")}:
        return None  # fontconfig offers a substitute (e.g. DejaVu, or an alias)
    if bold != ("bold" in style) or italic != ("italic" in style or "oblique" in style):
        return None  # synthesised style: the family lacks the face
    return Path(path) if path else None


def _file_face(family: str, bold: bool, italic: bool) -> Path | None:
    names = set(FILES.get(family, {}).get((bold, italic), ()))
    for folder in FONT_DIRS:
        root = Path(folder).expanduser()
        if root.is_dir():
            found = next((p for p in root.rglob("*.ttf") if p.name in names), None)
            if found is not None:
                return found
    return None


def _covers_vietnamese(path: Path) -> bool:
    from fontTools.ttLib import TTFont

    try:
        with TTFont(path, lazy=True) as font:
            cmap = font.getBestCmap()
    except Exception:  # noqa: BLE001 - an unreadable file is no face
        return False
    return all(ord(ch) in cmap for ch in VIETNAMESE_PROBE)


@lru_cache(maxsize=8)
def _faces(family: str) -> dict[tuple[bool, bool], Path] | None:
    """The family's four faces, or None if one is missing or lacks Vietnamese."""
    use_fontconfig = shutil.which("fc-match") is not None
    faces = {}
    for bold, italic in STYLES:
        if use_fontconfig:
            path = _fontconfig_face(family, bold, italic)
        else:
            path = _file_face(family, bold, italic)
        if path is None or not path.is_file() or not _covers_vietnamese(path):
            return None
        faces[(bold, italic)] = path
    return faces


@lru_cache(maxsize=1)
def report_font() -> str | None:
    """The first complete family of FAMILIES, or None (looked up once per process)."""
    return next((family for family in FAMILIES if _faces(family) is not None), None)


def require_report_font() -> str:
    """The family the PDF will use; raise FontMissing if there is none."""
    family = report_font()
    if family is None:
        raise FontMissing()
    return family


@lru_cache(maxsize=8)
def _advances(path: str) -> tuple[dict[int, int], int]:
    from fontTools.ttLib import TTFont

    with TTFont(path) as font:
        metrics = font["hmtx"].metrics
        widths = {cp: metrics[name][0] for cp, name in font.getBestCmap().items()}
        return widths, font["head"].unitsPerEm


def text_width(text: str, size: float, *, bold: bool = False, italic: bool = False) -> float | None:
    """The advance width of ``text`` in points in the report face (no kerning, so never less
    than what a renderer draws), or None without the font."""
    family = report_font()
    faces = _faces(family) if family else None
    if faces is None:
        return None
    widths, per_em = _advances(str(faces[(bold, italic)]))
    return sum(widths.get(ord(ch), per_em) for ch in text) * size / per_em


def main() -> int:
    family = report_font()
    if family is None:
        print(f"CẢNH BÁO: {INSTALL_HINT}", file=sys.stderr)
        return 1
    print(f"report font: {family}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
