"""The benchmark's task vocabulary, read from the registered degradations: names, groups, letters,
combinations spelt in letters, and the levels each task declares. The core names none of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations as subsets

from restorefw.degradation import Degradation
from restorefw.errors import RecipeError
from restorefw.registry import Registry

BASE_GROUP = "single"  # the degradations that `combinations` and `all` are built from
COMBINATIONS = "combinations"
ALL = "all"


@dataclass(frozen=True)
class Task:
    """A grid task: one degradation, or a combination of lettered ones (named by their letters)."""

    name: str
    stages: tuple[type[Degradation], ...]
    stage_names: tuple[str, ...]  # registry names (qualified where two plugins share one)

    @property
    def is_combination(self) -> bool:
        return len(self.stages) > 1

    @property
    def declared_levels(self) -> tuple[str, ...]:
        return () if self.is_combination else tuple(self.stages[0].levels)

    def default_level(self) -> str | None:
        """The level all stages use when given none, if they agree (the built-ins: M)."""
        defaults = {stage.default_level for stage in self.stages}
        return defaults.pop() if len(defaults) == 1 else None


class Vocabulary:
    """What a grid's `tasks:` entries may say, from the registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.by_letter: dict[str, list[type[Degradation]]] = {}
        for cls in registry.classes("degradation"):
            if cls.letter:
                self.by_letter.setdefault(cls.letter, []).append(cls)

    def single(self, cls: type[Degradation]) -> Task:
        name = self.registry.name_of("degradation", cls)
        return Task(name, (cls,), (name,))

    def letter(self, ch: str, path: str) -> type[Degradation]:
        found = self.by_letter.get(ch, [])
        if len(found) != 1:
            names = f" ({', '.join(c.name for c in found)})" if found else ""
            raise RecipeError(f"the letter {ch!r} names {len(found)} installed degradations{names}.", path=path,
                              suggestion="Name the degradations instead of their letters.")
        return found[0]

    def combination(self, classes: Sequence[type[Degradation]]) -> Task:
        """The combination of `classes` in application order (`order`, then letter), named by its letters."""
        ordered = tuple(sorted(classes, key=lambda c: (c.order, c.letter or "")))
        return Task("".join(c.letter or "?" for c in ordered), ordered,
                    tuple(self.registry.name_of("degradation", c) for c in ordered))

    def combinations(self) -> list[Task]:
        """Every subset of two or more lettered members of group "single", smaller subsets first."""
        base = sorted((c for c in self.registry.classes("degradation") if BASE_GROUP in c.groups and c.letter),
                      key=lambda c: (c.order, c.letter or ""))
        return [self.combination(group) for size in range(2, len(base) + 1) for group in subsets(base, size)]

    def expand(self, text: str, path: str = "tasks") -> list[Task]:
        """A `tasks:` entry as tasks: `combinations`, `all`, a group, a degradation name, a letter, or
        letters of a combination in any order (`PN` is `NP`)."""
        registry = self.registry
        base = [self.single(registry.get("degradation", n)) for n in registry.group("degradation", BASE_GROUP)]
        if text == COMBINATIONS:
            return self.combinations()
        if text == ALL:
            return base + self.combinations()
        members = registry.group("degradation", text)
        if members:
            return [self.single(registry.get("degradation", n)) for n in members]
        try:
            return [Task(text, (registry.get("degradation", text, path),), (text,))]
        except RecipeError:
            if text and len(set(text)) == len(text) and all(ch in self.by_letter for ch in text):
                classes = [self.letter(ch, path) for ch in text]
                return [self.single(classes[0])] if len(classes) == 1 else [self.combination(classes)]
            raise
