"""Generate Newslooks-format article texts for benchmarks (deterministic, varied, realistic size)."""

from __future__ import annotations

import random

SECTIONS = ["World", "US News", "Business", "Technology", "Sports", "Health", "Science", "Politics",
            "Climate", "Culture"]  # fmt: skip
WORDS = (  # noqa: SIM905 - a sentence reads better than forty quoted words
    "council budget vote river harbor market shares energy grid storm season league final clinic "
    "vaccine orbit comet transit bridge school district water supply tariff export union strike "
    "court ruling coast rail freight mayor governor senate reform housing rent wages inflation"
).split()


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def newslooks_text(index: int, *, sections: list[str] = SECTIONS) -> str:
    rng = random.Random(index)
    section = sections[index % len(sections)]
    title = f"Story {index}: " + " ".join(rng.choice(WORDS).title() for _ in range(6))
    label = ("Top Story" if index % 17 == 0 else "") + section
    summary = " ".join(_sentence(rng, 14) for _ in range(3))
    bullets = "\n".join(f"  • {_sentence(rng, 9)[:-1]}" for _ in range(rng.randint(4, 9)))
    paragraphs = []
    for block in range(3):
        if block:
            paragraphs.append(f"\n\n{' '.join(rng.choice(WORDS).title() for _ in range(4))}\n")
        paragraphs.extend(" ".join(_sentence(rng, 18) for _ in range(3)) + "\n" for _ in range(4))
    body = "\n".join(paragraphs)
    return (
        f"{label}\n\n{title}\n\n{title}/ Newslooks/ CHICAGO/ A. Writer and B. Editor/ Morning Edition/ "
        f"{summary}\n\n{title}\n\nCity Desk Quick Looks\n\n{bullets}\n\n{title}\n\nDeep Look\n\n"
        f"CHICAGO — {body}\n\nMore on {section}\n\nPrevious Article\nOlder\nNext Article\nNewer\n\n"
        "Latest News\n\nMenu\n"
    )
