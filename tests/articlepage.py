"""An article page for the tests of pipeline/extract: a German report with the cruft lines
real pages carry ("Lesen Sie auch", a social-media consent box) among its paragraphs."""

from __future__ import annotations

BODY_DE = [
    "Die Beziehungen zwischen China und Russland sind nach Auffassung von Präsident Wladimir "
    "Putin derzeit so gut wie noch niemals zuvor, sagte er am Mittwoch in Astana.",
    "Bei einem Gespräch mit Xi am Rande eines Gipfeltreffens nannte Putin die Zusammenarbeit "
    "beider Länder einen Schlüsselfaktor für die globale Stabilisierung.",
    "Lesen Sie auch",
    "Video Ich möchte eingebundene Social Media Inhalte sehen. Hierbei werden personenbezogene "
    "Daten (IP-Adresse o.ä.) übertragen. Inhalt erlauben",
    "Die Konferenz dauert bis Donnerstag. Indiens Ministerpräsident Narendra Modi hat seine "
    "Teilnahme abgesagt und schickt Außenminister Subrahmanyam Jaishankar.",
]


def page(
    paragraphs: list[str],
    *,
    title: str = "Putin lobt Beziehungen zu China",
    lang: str = "de",
    head: str = "",
) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta property="article:published_time" content="2024-07-03T10:15:00+02:00">{head}'
        f"</head><body><article><h1>{title}</h1>{body}</article></body></html>"
    )
