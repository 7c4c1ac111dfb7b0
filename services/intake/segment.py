"""Chinese text as words, for the knowledge-base search and the duplicate check (R19, 并单).

`jieba` segments the text (search mode: a long word also yields its shorter words, so 社会保障卡
gives 保障卡 and 社会保障卡; dictionary words only, no HMM guessing of unknown words: twice as fast,
and a query is cut the same way as the entries); stop words (怎么办, 请问, 的 ...) and punctuation are dropped; every
word of a synonym group is replaced by the group's first word, on the entry's side and on the
query's alike, so "社保卡丢了怎么办" and "社会保障卡挂失补办" meet on 社保卡 and 丢失. The groups and stop
words are data: config/knowledge-synonyms.yaml.

Loading jieba's dictionary takes about a second (less with its cache in the temp directory), so it
is loaded on first use, once per process, and shared by every segmenter.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from hotline_common.config_files import read_yaml

SYNONYMS_FILE = "knowledge-synonyms.yaml"
_NOISE = re.compile(r"^[\W_]+$")


_DICTIONARY: list = []
_DICTIONARY_LOCK = threading.Lock()


def _dictionary():
    """jieba's tokenizer with its dictionary, loaded once per process (words added to it by any
    segmenter stay: they only keep those words whole)."""
    with _DICTIONARY_LOCK:
        if not _DICTIONARY:
            import jieba
            logging.getLogger("jieba").setLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _DICTIONARY.append(tokenizer)
        return _DICTIONARY[0]


KEEP_WHOLE_FREQ = 10000  # about a common word's frequency in jieba's dictionary (its total is ~60 M)


def _keep_whole(tokenizer, word: str) -> None:
    """Make a word of the synonyms or keywords win over the pieces around it: "路灯不亮" is 路灯 + 不亮,
    not 路 + 灯不亮 (a dictionary word jieba would otherwise prefer)."""
    if len(word) > 1 and not word.isascii():
        tokenizer.add_word(word, freq=max(tokenizer.FREQ.get(word) or 0, KEEP_WHOLE_FREQ))


class Segmenter:
    """Words of a text, normalised: lower case, no stop words or punctuation, synonyms folded."""

    def __init__(self, synonyms: Iterable[Iterable[str]] = (), stopwords: Iterable[str] = ()):
        self.canonical: dict[str, str] = {}
        for group in synonyms:
            words = [str(w).strip().lower() for w in group if str(w).strip()]
            for word in words:
                self.canonical.setdefault(word, words[0])
        self.stopwords = {str(w).strip().lower() for w in stopwords if str(w).strip()}
        self._lock = threading.Lock()
        self._tokenizer = None
        self._extra: set[str] = set()

    @classmethod
    def from_config(cls, config_dir: Path) -> Segmenter:
        data = read_yaml(config_dir, SYNONYMS_FILE)
        return cls(data.get("synonyms") or (), data.get("stopwords") or ())

    def _jieba(self):
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    tokenizer = _dictionary()
                    for word in (*self.canonical, *self._extra):
                        _keep_whole(tokenizer, word)
                    self._tokenizer = tokenizer
        return self._tokenizer

    def add_words(self, words: Iterable[str]) -> None:
        """Words the dictionary should keep whole (an entry's keywords)."""
        new = {str(w).strip().lower() for w in words if len(str(w).strip()) > 1} - self._extra
        if not new:
            return
        with self._lock:
            self._extra |= new
            tokenizer = self._tokenizer
        if tokenizer is not None:
            for word in new:
                _keep_whole(tokenizer, word)

    def words(self, text: str) -> list[str]:
        """The text's words in order, repeats kept (term frequencies count them)."""
        out = []
        for raw in self._jieba().cut_for_search(text or "", HMM=False):
            word = raw.strip().lower()
            if not word or _NOISE.match(word) or word in self.stopwords:
                continue
            out.append(self.canonical.get(word, word))
        return out

    def terms(self, text: str) -> list[str]:
        """The distinct words of a query, in order."""
        return list(dict.fromkeys(self.words(text)))
