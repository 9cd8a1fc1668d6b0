"""The one exception type for bad input, and the problems it carries.

Every reader in the package (incident files, price files, Statuspage feeds)
reports what is wrong as a list of `Problem`s, so that the CLI can print one
line per problem and exit with status 2, and a notebook user can inspect them.
"""

from __future__ import annotations

from dataclasses import dataclass


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
