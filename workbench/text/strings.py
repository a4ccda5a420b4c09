"""Strings and their stable 64-bit hashes: `hash_string` and the two-way `StringStore`."""
import hashlib
from typing import Dict, Iterable, Iterator, List, Optional, Union


def hash_string(s: str) -> int:
    """Stable 64-bit hash of a string (blake2b, 8 bytes, little-endian). "" -> 0."""
    if not s:
        return 0
    return int.from_bytes(hashlib.blake2b(s.encode("utf8"), digest_size=8).digest(), "little")


class StringStore:
    """Two-way map between strings and their stable 64-bit hashes."""

    def __init__(self, strings: Optional[Iterable[str]] = None):
        self._key2str: Dict[int, str] = {0: ""}
        self._str2key: Dict[str, int] = {"": 0}
        self._order: List[str] = []
        for s in strings or ():
            self.add(s)

    def add(self, s: str) -> int:
        """Add a string and return its hash."""
        if not isinstance(s, str):
            raise TypeError(f"StringStore.add expects a str, got {type(s).__name__}: {s!r:.60}")
        key = self._str2key.get(s)
        if key is None:
            key = hash_string(s)
            self._str2key[s] = key
            self._key2str[key] = s
            self._order.append(s)
        return key

    def __getitem__(self, key: Union[str, int]) -> Union[int, str]:
        """`store[str] -> hash` (not added); `store[hash] -> str` (KeyError if unknown)."""
        if isinstance(key, str):
            known = self._str2key.get(key)
            return known if known is not None else hash_string(key)
        try:
            return self._key2str[key]
        except (KeyError, TypeError):
            raise KeyError(
                f"Hash {key!r} is not in this StringStore ({len(self)} strings). Add the "
                f"string first with `store.add(text)`, or use the vocab that made the hash."
            ) from None

    def __contains__(self, key: Union[str, int]) -> bool:
        if isinstance(key, str):
            return key in self._str2key
        return key in self._key2str

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def to_list(self) -> List[str]:
        """The strings in insertion order (the empty string is implicit)."""
        return list(self._order)

    def __repr__(self) -> str:
        return f"StringStore({len(self)} strings)"
