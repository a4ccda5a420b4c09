"""CoNLL-U reader: words, spacing, UPOS -> pos, XPOS -> tags, HEAD/DEPREL -> heads/deps,
sentence starts. Heads out of range and cycles are errors naming their line.

Multiword tokens (`3-4 don't`) are split into their syntactic words (`do`,
`n't`); the range line's `SpaceAfter=No` applies to its last word. Empty nodes
(`8.1`) are skipped. When a `# text =` comment is present it is checked
against the reconstructed text and, if they disagree but the text aligns with
the surface tokens, its spacing wins (reported as a warning).
"""
from typing import Iterator, List, Optional

from .base import (
    OnError,
    Reporter,
    Sentence,
    doc_text,
    first_mismatch,
    group_sentences,
    heads_problem,
    read_lines,
    spaces_from_text,
)

N_COLS = 10


def read_conllu(path, *, n_sents: int = 1, on_error: OnError = None) -> Iterator[dict]:
    """Yield one annotated doc dict per `n_sents` sentences of a CoNLL-U file."""
    return group_sentences(conllu_sentences(path, on_error=on_error), n_sents)


def conllu_sentences(path, *, on_error: OnError = None) -> Iterator[Sentence]:
    """Yield the well-formed sentences of a CoNLL-U file, streaming."""
    report = Reporter(path, on_error)
    state = _SentenceState(report)
    for n, line in read_lines(path, report):
        if not line.strip():
            if line:
                report.warning(n, "line holds only whitespace; treated as the blank "
                                  "line that ends a sentence")
            sent = state.finish(n)
            if sent is not None:
                yield sent
        elif line.startswith("#"):
            state.comment(n, line)
        else:
            state.token(n, line)
    sent = state.finish(None)
    if sent is not None:
        yield sent


class _SentenceState:
    """Collects the lines of the sentence being read."""

    def __init__(self, report: Reporter):
        self.report = report
        self.reset()

    def reset(self) -> None:
        self.words: List[str] = []
        self.spaces: List[bool] = []
        self.tags: List[Optional[str]] = []
        self.pos: List[Optional[str]] = []
        self.word_lines: List[int] = []
        self.heads: List[Optional[str]] = []  # raw HEAD column, checked at the end
        self.deps: List[Optional[str]] = []
        self.surface: List[tuple] = []  # (form, first_word, last_word, line)
        self.sent_id = self.text = None
        self.first_line = 0
        self.text_line = 0
        self.last_id: Optional[int] = 0  # None after an error: resynchronise
        self.range_end = 0  # last word id of the open multiword token
        self.range_space = True
        self.broken = False

    def error(self, n: int, message: str) -> None:
        self.broken = True
        self.report.error(n, message)

    def comment(self, n: int, line: str) -> None:
        if self.words:
            self.error(n, "comment line inside a sentence; comments go before the "
                          "first token line (add a blank line if a new sentence starts)")
            self.last_id = None
            return
        self.first_line = self.first_line or n
        key, eq, value = line[1:].partition("=")
        key = key.strip()
        if eq and key == "sent_id":
            self.sent_id = value.strip()
        elif eq and key == "text":
            self.text = value.strip()
            self.text_line = n

    def token(self, n: int, line: str) -> None:
        self.first_line = self.first_line or n
        cols = line.split("\t")
        if len(cols) != N_COLS:
            hint = " (columns must be separated by tabs, not spaces)" if len(cols) == 1 else ""
            self.error(n, f"expected {N_COLS} tab-separated columns, found {len(cols)}{hint}")
            self.last_id = None
            return
        tid, form, _lemma, upos, xpos = cols[:5]
        self.head_col, self.dep_col = cols[6], cols[7]
        misc = cols[9]
        if "." in tid:
            self.empty_node(n, tid)
        elif "-" in tid:
            self.multiword(n, tid, form, misc)
        else:
            self.word(n, tid, form, upos, xpos, misc)

    def word(self, n, tid, form, upos, xpos, misc) -> None:
        if not tid.isdigit():
            self.error(n, f"token id '{tid}' is not an integer, a range like 3-4 "
                          "or an empty node like 8.1")
            self.last_id = None
            return
        i = int(tid)
        if self.last_id is not None and i != self.last_id + 1:
            self.error(n, f"token id {i} out of order: expected {self.last_id + 1}; "
                          "number the words of each sentence 1, 2, 3, ...")
        self.last_id = i
        if not form:
            self.error(n, "empty FORM column (column 2); write the word")
            return
        space = "SpaceAfter=No" not in misc.split("|")
        if i < self.range_end:
            space = False
        elif i == self.range_end:
            space = self.range_space
        else:
            self.surface.append((form, len(self.words), len(self.words), n))
        self.words.append(form)
        self.spaces.append(space)
        self.pos.append(None if upos == "_" else upos)
        self.tags.append(None if xpos == "_" else xpos)
        self.word_lines.append(n)
        self.heads.append(self.head_col)
        self.deps.append(None if self.dep_col == "_" else self.dep_col)

    def multiword(self, n, tid, form, misc) -> None:
        a, _, b = tid.partition("-")
        if not (a.isdigit() and b.isdigit() and int(a) < int(b)):
            self.error(n, f"multiword token id '{tid}' must be a range like 3-4")
            self.last_id = None
            return
        start, end = int(a), int(b)
        expected = None if self.last_id is None else self.last_id + 1
        if expected is not None and start != expected:
            self.error(n, f"multiword token {tid} out of order: it must come right "
                          f"before word {expected}")
        if start <= self.range_end:
            self.error(n, f"multiword token {tid} overlaps the range ending at "
                          f"{self.range_end}")
        self.range_end = end
        self.range_space = "SpaceAfter=No" not in misc.split("|")
        self.surface.append((form, len(self.words), len(self.words) + end - start, n))

    def empty_node(self, n, tid) -> None:
        a, _, b = tid.partition(".")
        if not (a.isdigit() and b.isdigit()):
            self.error(n, f"empty node id '{tid}' must look like 8.1")
        elif self.last_id is not None and int(a) != self.last_id:
            self.error(n, f"empty node {tid} out of order: it must follow word {a}")

    def finish(self, n: Optional[int]) -> Optional[Sentence]:
        """End the sentence at blank line `n` (None: end of file)."""
        sent = None
        if self.range_end > (self.last_id or 0) and not self.broken:
            self.error(self.surface[-1][3], f"multiword token ends at word "
                                            f"{self.range_end} but the sentence ends first")
        heads = self.check_heads() if self.words and not self.broken else None
        if self.words and not self.broken:
            self.check_text()
            sent = Sentence(
                self.words, self.spaces, self.tags, self.pos, None, self.sent_id,
                self.text, self.first_line, self.word_lines, heads,
                self.deps if heads is not None else None,
            )
        elif not self.words and self.first_line and not self.broken:
            self.report.warning(self.first_line, "sentence has comments but no words; "
                                                 "it is skipped")
        elif n is not None and not self.first_line:
            self.report.warning(n, "extra blank line; sentences are separated by exactly one")
        self.reset()
        return sent

    def check_heads(self) -> Optional[List[Optional[int]]]:
        """HEAD column -> local heads (a root is its own head); None when not annotated."""
        if all(h == "_" for h in self.heads):
            return None
        heads: List[Optional[int]] = []
        for k, h in enumerate(self.heads):
            if h == "_":
                heads.append(None)
            elif not h.isdigit():
                self.error(self.word_lines[k], f"HEAD (column 7) is {h!r}; write the id of the "
                                               f"head word, 0 for the root, or _")
                return None
            else:
                heads.append(k if h == "0" else int(h) - 1)
        problem = heads_problem(heads)
        if problem is not None:
            k, message = problem
            self.error(self.word_lines[k], f"{message} (HEAD is column 7)")
            return None
        return heads

    def check_text(self) -> None:
        """Compare `# text` with the words; take its spacing when SpaceAfter disagrees."""
        if self.text is None:
            return
        if doc_text(self.words, self.spaces).rstrip() == self.text:
            return
        forms = [s[0] for s in self.surface]
        found = spaces_from_text(forms, self.text)
        if found is None:
            k = first_mismatch(forms, self.text)
            where = (f"at token '{forms[k]}' (line {self.surface[k][3]})"
                     if k < len(forms) else "after the last token")
            self.report.warning(self.text_line, f"'# text' does not match the tokens {where}; "
                                                "spacing taken from SpaceAfter=No")
            return
        for (form, first, last, _), space in zip(self.surface, found):
            self.spaces[last] = space
        self.report.warning(self.text_line, "SpaceAfter=No marks disagree with '# text'; "
                                            "spacing taken from '# text'")
