"""The report's typeface must be certain: Times New Roman (NĐ 30/2020), or a metric twin.

Liberation Serif (Debian's ``fonts-liberation2``) and Tinos have Times New Roman's metrics, so
lines break where they would in Times New Roman. Without any of them WeasyPrint silently falls
back to a wider face and the national motto wraps; a report is then refused with a message that
says how to install the font, never built as a different document.

``python -m helpdesk.fonts`` prints the face found, or the message with exit status 1
(``make run`` calls it).
"""

from __future__ import annotations

import shutil
import subprocess  # noqa: S404 - a fixed fontconfig query, no user input
import sys
from functools import lru_cache
from pathlib import Path

FAMILIES = ("Times New Roman", "Liberation Serif", "Tinos")
# File names, for a machine without fontconfig's command-line tools.
FILES = {
    "Times New Roman": ("times.ttf", "Times New Roman.ttf", "TimesNewRoman.ttf"),
    "Liberation Serif": ("LiberationSerif-Regular.ttf",),
    "Tinos": ("Tinos-Regular.ttf",),
}
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts")
INSTALL_HINT = (
    "Thiếu phông chữ Times New Roman (hoặc Liberation Serif cùng kích thước) để dựng báo cáo "
    "theo Nghị định 30/2020. Cài đặt: `sudo apt-get install fonts-liberation2` (Debian/Ubuntu) "
    "hoặc cài Times New Roman, rồi chạy lại."
)


class FontMissing(RuntimeError):
    """No Times New Roman or metric-compatible face: the PDF would not be the official layout."""

    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


def _families_from_fontconfig() -> set[str] | None:
    tool = shutil.which("fc-list")
    if tool is None:
        return None
    try:
        out = subprocess.run(  # noqa: S603 - fixed arguments
            [tool, ":", "family"], capture_output=True, text=True, timeout=20, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {name.strip() for line in out.splitlines() for name in line.split(",")}


def _families_from_files() -> set[str]:
    found = set()
    for folder in FONT_DIRS:
        root = Path(folder).expanduser()
        if not root.is_dir():
            continue
        names = {p.name for p in root.rglob("*.ttf")}
        for family, files in FILES.items():
            if names.intersection(files):
                found.add(family)
    return found


@lru_cache(maxsize=1)
def report_font() -> str | None:
    """The first available family of FAMILIES, or None (looked up once per process)."""
    families = _families_from_fontconfig()
    if families is None:
        families = _families_from_files()
    return next((f for f in FAMILIES if f in families), None)


def require_report_font() -> str:
    """The family the PDF will use; raise FontMissing if there is none."""
    family = report_font()
    if family is None:
        raise FontMissing()
    return family


def main() -> int:
    family = report_font()
    if family is None:
        print(f"CẢNH BÁO: {INSTALL_HINT}", file=sys.stderr)
        return 1
    print(f"report font: {family}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
