"""The benchmark's task vocabulary: single tasks by letter, their combinations, the named groups, the levels."""

from __future__ import annotations

LEVELS: tuple[str, ...] = ("XS", "S", "M", "L", "XL")
TASK_LETTERS: dict[str, str] = {"U": "upsampling", "N": "denoising", "A": "deartifacting", "P": "inpainting"}
SINGLE_TASKS: tuple[str, ...] = tuple(TASK_LETTERS.values())
# The paper's order (Tables II/IV), plus UP, which it omits; names in U → N → A → P order.
COMBINATIONS: tuple[str, ...] = ("NA", "AP", "UA", "NP", "UN", "UP", "UNP", "UAP", "UNA", "NAP", "UNAP")
COMBINATION_LEVEL = "M"
GROUPS: dict[str, str] = {"single": "the four single tasks", "combinations": "the 11 combinations",
                          "all": "the four single tasks and the 11 combinations"}
def combination_name(text: str) -> str | None:
    """`UPA` → `UAP` (letters in application order U → N → A → P); None when `text` is not a combination."""
    if len(text) < 2 or any(ch not in TASK_LETTERS for ch in text) or len(set(text)) != len(text):
        return None
    return "".join(ch for ch in TASK_LETTERS if ch in text)


def expand_task(text: str) -> list[str]:
    """A `tasks:` entry as task names: a group, a letter, a combination or a degradation name."""
    if text == "single":
        return list(SINGLE_TASKS)
    if text == "combinations":
        return list(COMBINATIONS)
    if text == "all":
        return [*SINGLE_TASKS, *COMBINATIONS]
    if text in TASK_LETTERS:
        return [TASK_LETTERS[text]]
    return [combination_name(text) or text]


def is_combination(task: str) -> bool:
    return combination_name(task) == task
