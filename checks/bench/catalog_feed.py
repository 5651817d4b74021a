#!/usr/bin/env python3
"""Writes a synthetic Kiwix OPDS v2 acquisition feed in the shape kiwix-serve (current
libkiwix) writes for /catalog/v2/entries?count=-1: N entries (default 10,000, about
11 MB). Deterministic: the same N gives the same bytes.

Usage: catalog_feed.py OUT [N]
"""
import random
import sys
import uuid
from xml.sax.saxutils import escape

out = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
rng = random.Random(15)
langs = ["eng", "fra", "deu", "spa", "ita", "por", "rus", "ara", "hin", "ben", "zho", "jpn",
         "swa", "hau", "yor", "amh", "bel", "ukr", "pol", "nld", "tur", "vie", "ind", "fas"]
projects = [("wikipedia", "Wikipedia"), ("wiktionary", "Wiktionary"), ("wikibooks", "Wikibooks"),
            ("wikivoyage", "Wikivoyage"), ("gutenberg", "Project Gutenberg"), ("ted", "TED"),
            ("stack_exchange", "Stack Exchange"), ("other", "Kiwix"), ("zimit", "Zimit")]
topics = ["all", "climate_change", "medicine", "chemistry", "physics", "history", "football",
          "music", "mathematics", "geography", "computer", "molecular_biology", "movies",
          "ray_charles", "top", "wp1-0.8", "astronomy", "women", "africa", "literature"]
words = ("library offline knowledge articles about the world science history people places "
         "art music health education reference encyclopedia dictionary guide travel books "
         "questions answers community talks videos lectures children school teachers").split()
flavours = ["maxi", "nopic", "mini", ""]

entries = []
for i in range(count):
    project, creator = projects[i % len(projects)]
    lang = langs[(i // len(projects)) % len(langs)]
    topic = topics[(i // (len(projects) * len(langs))) % len(topics)]
    serial = i // (len(projects) * len(langs) * len(topics))
    name = f"{project}_{lang[:2]}_{topic}" + (f"_{serial}" if serial else "")
    flavour = flavours[rng.randrange(len(flavours))]
    year, month = 2020 + rng.randrange(6), 1 + rng.randrange(12)
    date = f"{year}-{month:02d}-{1 + rng.randrange(28):02d}"
    book = f"{name}{'_' + flavour if flavour else ''}_{year}-{month:02d}"
    ident = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    title = f"{creator} {topic.replace('_', ' ').title()} ({lang})"
    summary = " ".join(rng.choice(words) for _ in range(5 + rng.randrange(12))).capitalize()
    tags = f"{project};_category:{project};_pictures:{'no' if flavour == 'nopic' else 'yes'};_videos:yes;_details:yes;_ftindex:yes"
    size = rng.randrange(100, 100_000_000) * 1024
    entries.append(f"""  <entry>
    <id>urn:uuid:{ident}</id>
    <title>{escape(title)}</title>
    <updated>{date}T00:00:00Z</updated>
    <summary>{escape(summary)}</summary>
    <language>{lang}</language>
    <name>{name}</name>
    <flavour>{flavour}</flavour>
    <category>{project}</category>
    <tags>{tags}</tags>
    <articleCount>{rng.randrange(1, 7_000_000)}</articleCount>
    <mediaCount>{rng.randrange(0, 5_000_000)}</mediaCount>
    <link rel="http://opds-spec.org/image/thumbnail"
          href="/catalog/v2/illustration/{ident}/?size=48"
          type="image/png;width=48;height=48;scale=1"/>
    <link type="text/html" href="/content/{book}" />
    <author>
      <name>{creator}</name>
    </author>
    <publisher>
      <name>openZIM</name>
    </publisher>
    <dc:issued>{date}T00:00:00Z</dc:issued>
    <link rel="http://opds-spec.org/acquisition/open-access" type="application/x-zim" href="https://download.kiwix.org/zim/{project}/{book}.zim.meta4" length="{size}" />
  </entry>
""")

with open(out, "w", encoding="utf-8") as f:
    f.write(f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"
      xmlns:dc="http://purl.org/dc/terms/"
      xmlns:opds="https://specs.opds.io/opds-1.2"
      xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <id>00000000-0000-4000-8000-000000000000</id>
  <link rel="self"
        href="/catalog/v2/entries?count=-1"
        type="application/atom+xml;profile=opds-catalog;kind=acquisition"/>
  <title>Filtered Entries (count=-1)</title>
  <updated>2026-01-01T00:00:00Z</updated>
  <totalResults>{count}</totalResults>
  <startIndex>0</startIndex>
  <itemsPerPage>{count}</itemsPerPage>
""")
    f.writelines(entries)
    f.write("</feed>\n")
