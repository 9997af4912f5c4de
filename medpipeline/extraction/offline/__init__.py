"""The offline provider's brain: a rule-based clinical extractor (medspaCy), no network, no API key.

`OfflineExtractor().extract(text)` returns a `ChunkExtraction` for one chunk of document text.
One module per concern, each usable alone:
- `sections_tables`: the document's sections (medspaCy sectionizer, the titles EHRs print) and
  its tables (rows written `| cell | cell |` by `medpipeline.pdf`), each table's header row
  telling what each column holds;
- `conditions`, `medications` (with `medication_context`, what the words around a drug say
  of it, and `medication_tables`), `allergies` (with `allergy_items`, one item of a list),
  `results` and
  `result_tables` (labs and vital signs in text and in tables; `result_values`: units, flags,
  ranges, kinds), `procedures`,
  `demographics` (patient and encounter): the facts of one kind, from tables and from narrative;
- `pipeline`: the medspaCy pipeline, built once per process, and its components' rules:
  `term_matcher` (the vocabularies' conditions and drugs as entities), `section_rules` (the
  titles EHRs print, what a section asserts), `sentences` (where ConText's scopes stop),
  `context_rules` (ConText's cues) and `context_scope` (whether a cue reaches a mention);
- `lexicons`, `vocabularies`: the word lists (shipped CSVs, the drug dictionary of
  `drug-named-entity-recognition`, the ICD-10-CM index of `simple-icd-10-cm`);
- `text`: quoting and region helpers; `extractor`: the `OfflineExtractor` assembling them.
Every fact's `quote` is an exact substring of the chunk text.

PHI: PyRuSH logs every token through loguru at DEBUG; `pipeline` disables those loggers, and this
package never logs nor puts document text into exception messages.
"""

from medpipeline.extraction.offline.extractor import OfflineExtractor
from medpipeline.extraction.offline.lexicons import LEXICON_DIR, read_lexicon

__all__ = ["LEXICON_DIR", "OfflineExtractor", "read_lexicon"]
