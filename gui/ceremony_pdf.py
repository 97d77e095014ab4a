"""The printable ceremony record: the script and the transcript as PDF, with a signature
line for every participant (Qt's QTextDocument laid out on a QPdfWriter, A4).

Run as a program by `suitwb ceremony pdf` / `run --pdf` (the CLI may not import the GUI
layer): ``python -m gui.ceremony_pdf TRANSCRIPT -o OUT.pdf``.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QIODevice, QMarginsF
from PySide6.QtGui import QGuiApplication, QPageLayout, QPageSize, QPdfWriter, QTextDocument

from fileio import check_output, write_atomic
from signing.ceremony.transcript import Transcript
from suit.errors import WorkbenchError
from workbench.ceremony import read_transcript

_STYLE = """
body { font-family: 'DejaVu Sans', sans-serif; font-size: 9pt; }
h1 { font-size: 16pt; } h2 { font-size: 12pt; margin-top: 14pt; } h3 { font-size: 10pt; }
table { border-collapse: collapse; } td, th { border: 1px solid #888; padding: 3px; }
.mono { font-family: 'DejaVu Sans Mono', monospace; font-size: 7pt; }
.sig td { border: none; padding-top: 22pt; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _rows(pairs: Sequence[tuple[str, Any]]) -> str:
    return "".join(f"<tr><th align='left'>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in pairs)


def people(header: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, role) for everyone the transcript's header names."""
    roles = header.get("roles", {})
    return ([(roles.get("administrator", "?"), "administrator")]
            + [(n, "custodian") for n in roles.get("custodians", [])]
            + [(n, "witness") for n in roles.get("witnesses", [])])


def _summary(t: Transcript) -> str:
    c = t.header.get("ceremony", {})
    signed = t.signature or {}
    return (f"<h1>{_e(c.get('name', 'Key ceremony'))}</h1><p>{_e(c.get('description', ''))}</p>"
            "<table>" + _rows([("Status", t.status), ("Instance", t.header.get("instance")),
                               ("Started", t.header.get("started")),
                               ("Ceremony file", f"{c.get('file')} (SHA-256 {c.get('sha256')})"),
                               ("Quorum", "{threshold} of {shares}".format(**t.header.get("quorum", {}))),
                               ("Final chain hash", t.head),
                               ("Signed", "yes" if signed else "no")]) + "</table>"
            "<h2>Participants</h2><table>"
            + _rows([(role, name) for name, role in people(t.header)]) + "</table>")


def _entry_html(entry: dict[str, Any]) -> str:
    data = entry.get("data", {})
    kind = entry.get("kind")
    if kind == "confirmation":
        verdict = "confirmed" if data.get("accepted") else "REFUSED"
        text = (f"{data.get('person')} ({data.get('role')}) {verdict}, initials "
                f"{data.get('initials')}" + (f": {data.get('note')}" if data.get("note") else ""))
    elif kind == "artefact":
        text = f"artefact {data.get('file')} SHA-256 {data.get('sha256')}"
    elif kind == "step":
        return ""
    else:
        text = f"{kind}: " + ", ".join(f"{k}={v}" for k, v in data.items() if k != "text")
    return (f"<tr><td class='mono'>{_e(entry.get('seq'))}</td><td class='mono'>"
            f"{_e(entry.get('time'))}</td><td>{_e(text)}</td></tr>")


def _steps(t: Transcript) -> str:
    parts = ["<h2>Script and transcript</h2>"]
    for entry in t.entries:
        if entry.get("kind") == "step":
            d = entry["data"]
            if len(parts) > 1:
                parts.append("</table>")
            parts.append(f"<h3>Step {_e(d.get('number'))}: {_e(entry.get('step'))} "
                         f"({_e(d.get('action'))}, {_e(d.get('role'))})</h3>"
                         f"<p>{_e(d.get('text', ''))}</p><table width='100%'>")
        elif len(parts) == 1:
            parts.append("<table width='100%'>")
        parts.append(_entry_html(entry))
    parts.append("</table>")
    return "".join(parts)


def _signature_lines(t: Transcript) -> str:
    rows = "".join(f"<tr><td>{_e(name)}<br/>{_e(role)}</td><td>Signature: "
                   "______________________________</td><td>Date: ____________</td></tr>"
                   for name, role in people(t.header))
    return ("<h2>Attestation</h2><p>By signing, each participant attests that this record "
            "matches what they witnessed.</p><table class='sig' width='100%'>" + rows + "</table>")


def transcript_html(t: Transcript) -> str:
    """The whole printable record as HTML (Qt's rich-text subset)."""
    script = t.header.get("ceremony", {}).get("text", "")
    return (f"<html><head><style>{_STYLE}</style></head><body>{_summary(t)}{_steps(t)}"
            f"{_signature_lines(t)}<h2>Appendix: the ceremony file</h2>"
            f"<pre class='mono'>{_e(script)}</pre></body></html>")


def write_pdf(t: Transcript, output: Path) -> None:
    """Lay out the record on A4 in memory and write it to `output` atomically (`fileio`).

    Raises:
        FileAccessError: `output` may not be replaced or its folder is not writable.
    """
    check_output(output)  # refuse a device or FIFO before the layout work
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setTitle(str(t.header.get("ceremony", {}).get("name", "Key ceremony")))
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Portrait, QMarginsF(15, 15, 15, 15),
                                     QPageLayout.Unit.Millimeter))
    writer.setResolution(300)
    document = QTextDocument()
    document.setHtml(transcript_html(t))
    # No page size on the document: print_ then lays it out on the writer's page rectangle
    # with fonts scaled to its resolution (QTextDocument::print).
    document.print_(writer)
    del writer  # the PDF is complete once the writer is gone
    write_atomic(output, bytes(buffer.data().data()))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gui.ceremony_pdf TRANSCRIPT -o OUT.pdf``."""
    parser = argparse.ArgumentParser(prog="python -m gui.ceremony_pdf")
    parser.add_argument("transcript", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    # Printing needs fonts, not a screen: run headless unless told otherwise (servers, CI).
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    try:
        write_pdf(read_transcript(args.transcript), args.output)
    except WorkbenchError as exc:
        print(f"ceremony_pdf: error: {exc}", file=sys.stderr)
        return exc.exit_status
    print(args.output)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
