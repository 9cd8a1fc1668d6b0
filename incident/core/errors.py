"""The one exception type for bad input, and the problems it carries.

Every reader in the package (incident files, price files, Statuspage feeds)
reports what is wrong as a list of `Problem`s, so that the CLI can print one
line per problem and exit with status 2, and a notebook user can inspect them.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PROBLEMS = 50  # a broken file of a million records needs no million lines: the first ones and a count


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where it is, and what is wrong."""

    file: str
    path: str  # field path such as "milestones[3].at", or "" for the whole file
    message: str
    line: int | None = None  # 1-based line where known

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class IncidentError(ValueError):
    """Bad input: raised with every problem found, never half a model."""

    def __init__(self, problems: list[Problem]):
        if not problems:
            raise ValueError("IncidentError needs at least one problem")
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self):
        """Pickled with its problems, so that it crosses a process boundary whole."""
        return type(self), (self.problems,)

    @classmethod
    def single(cls, file: str, message: str, path: str = "", line: int | None = None) -> "IncidentError":
        return cls([Problem(str(file), path, message, line)])


def capped(problems: list[Problem], stopped: bool = False) -> list[Problem]:
    """At most MAX_PROBLEMS lines: the first problems, then one line counting the rest.

    `stopped`: the reader stopped looking once it had more than MAX_PROBLEMS,
    so the rest are not counted.
    """
    if len(problems) <= MAX_PROBLEMS and not stopped:
        return list(problems)
    kept = list(problems[:MAX_PROBLEMS - 1])
    hidden = len(problems) - len(kept)
    last = kept[-1] if kept else Problem("<input>", "", "")
    more = "more problems (reading stopped there)" if stopped else f"more problem{'s' if hidden != 1 else ''}"
    return kept + [Problem(last.file, "", f"... and {'' if stopped else f'{hidden:,} '}{more} not shown; "
                                         "fix these first")]
