"""The English word list (pyspellchecker's frequency dictionary, which knows common medical
words), shared by a page's text-quality score and the drug names the narrative matcher reads."""

import functools

from spellchecker import SpellChecker


@functools.cache
def english_words() -> frozenset[str]:
    return frozenset(SpellChecker(language="en").word_frequency.dictionary)
