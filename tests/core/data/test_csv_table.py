"""CSV files to datasets: detection, encoding, missing values, errors, the pipeline, chunks."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.data.csv_table import (
    TablePipeline,
    preview_csv,
    read_csv,
    read_csv_with_pipeline,
)
from core.data.dataset import DataError

IRIS = """sepal_length,sepal_width,species
5.1,3.5,setosa
4.9,3.0,setosa
7.0,3.2,versicolor
6.4,3.2,versicolor
6.3,3.3,virginica
5.8,2.7,virginica
"""


def write(tmp_path: Path, text: str, name: str = "data.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def standardised(column: np.ndarray) -> np.ndarray:
    column = np.asarray(column, dtype=np.float64)
    std = column.std()
    return (column - column.mean()) / (std if std > 0 else 1.0)


def test_iris_like_file_with_a_text_target(tmp_path: Path) -> None:
    path = write(tmp_path, IRIS)
    data = read_csv(path)
    assert data.name == "data.csv" and data.source == str(path)
    assert data.task == "classification"
    assert data.class_names == ["setosa", "versicolor", "virginica"]
    assert data.y.dtype == np.int64 and data.y.tolist() == [0, 0, 1, 1, 2, 2]
    (x,) = data.x
    assert isinstance(x, np.ndarray)
    assert x.dtype == np.float32 and x.shape == (6, 2) and x.flags.c_contiguous
    assert data.feature_names == ["sepal_length", "sepal_width"]
    expected = standardised(np.array([5.1, 4.9, 7.0, 6.4, 6.3, 5.8]))
    np.testing.assert_allclose(x[:, 0], expected, rtol=1e-6)
    assert any("standardised" in n for n in data.notes)
    assert any("3 classes" in n for n in data.notes)


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a;b;c\n1.5;2;x\n2.5;3;y\n3.5;1;x\n", ";"),
        ("a\tb\tc\n1.5\t2\tx\n2.5\t3\ty\n3.5\t1\tx\n", "\t"),
        ("a|b|c\n1.5|2|x\n2.5|3|y\n3.5|1|x\n", "|"),
        ("a;b;c\n1,5;2;x\n2,5;3;y\n3,5;1;x\n", ";"),  # decimal commas
    ],
)
def test_separators_are_found(tmp_path: Path, text: str, delimiter: str) -> None:
    path = write(tmp_path, text)
    assert preview_csv(path).delimiter == delimiter
    data = read_csv(path)
    assert data.feature_names == ["a", "b"] and data.class_names == ["x", "y"]
    np.testing.assert_allclose(data.x[0][:, 0], standardised(np.array([1.5, 2.5, 3.5])), rtol=1e-6)
    assert ("decimal commas" in " ".join(data.notes)) == ("1,5" in text)


def test_quoted_fields_may_hold_the_separator(tmp_path: Path) -> None:
    text = 'size,label,score\n1,"big, red",1\n2,"small, ""blue""",0\n3,"big, red",1\n'
    data = read_csv(write(tmp_path, text))
    assert data.feature_names == ["size", "label=big, red", 'label=small, "blue"']
    np.testing.assert_array_equal(data.x[0][:, 1:], [[1, 0], [0, 1], [1, 0]])


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "cp1252"])
def test_encodings(tmp_path: Path, encoding: str) -> None:
    text = "ville,température,classe\nCréteil,12.5,é\nSão Paulo,25.0,à\nZürich,8.5,é\n"
    path = write(tmp_path, text, encoding=encoding)
    data = read_csv(path)
    assert data.feature_names == ["ville=Créteil", "ville=São Paulo", "ville=Zürich", "température"]
    assert data.class_names == ["à", "é"]
    assert ("not UTF-8" in " ".join(data.notes)) == (encoding == "cp1252")


def test_latin1_bytes_that_cp1252_lacks(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(b"a,b\n1,x\x81\n2,y\n")
    assert preview_csv(path).encoding == "latin-1"
    assert read_csv(path).feature_names == ["a"]


MISSING = "a,b,c,y\n1,10,red,0\n2,NA,blue,1\n,30,red,0\n4,40,?,1\n5,50,blue,\n6,60,red,1\n"


def test_missing_values_dropped(tmp_path: Path) -> None:
    data = read_csv(write(tmp_path, MISSING))
    assert len(data) == 2  # rows 1 and 6
    x = data.x[0]
    assert isinstance(x, np.ndarray)
    np.testing.assert_allclose(x[:, 0], [-1, 1])
    np.testing.assert_allclose(x[:, 1], [-1, 1])
    assert data.feature_names == ["a", "b", "c=red"]  # only 'red' is left among kept rows
    notes = " ".join(data.notes)
    assert "Missing values: a 1, b 1, c 1, y 1" in notes
    assert "Dropped 4 of 6 rows: they had missing values" in notes


def test_missing_values_filled(tmp_path: Path) -> None:
    data, pipe = read_csv_with_pipeline(write(tmp_path, MISSING), missing="fill")
    assert len(data) == 5  # the row without a target still goes
    a = np.array([1, 2, 3.25, 4, 6])  # the mean of 1, 2, 4, 6 fills the gap
    b = np.array([10, 35, 30, 40, 60])  # mean of 10, 30, 40, 60
    x = data.x[0]
    assert isinstance(x, np.ndarray)
    np.testing.assert_allclose(x[:, 0], standardised(a), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(x[:, 1], standardised(b), rtol=1e-6, atol=1e-7)
    assert data.feature_names == ["a", "b", "c=blue", "c=red"]
    # '?' in row 4 becomes the most frequent level, 'red'
    np.testing.assert_array_equal(x[:, 2:], [[0, 1], [1, 0], [0, 1], [0, 1], [0, 1]])
    assert pipe.columns[0].fill == pytest.approx(3.25)
    notes = " ".join(data.notes)
    assert "filled: a with 3.25 (the mean)" in notes and "'red' (the most frequent)" in notes
    assert "Dropped 1 row without a target value" in notes


def test_one_hot_and_boolean_columns(tmp_path: Path) -> None:
    text = "colour,smoker,n,y\nred,yes,1,a\ngreen,no,2,b\nblue,YES,3,a\ngreen,false,4,b\n"
    data = read_csv(write(tmp_path, text))
    assert data.feature_names == ["colour=blue", "colour=green", "colour=red", "smoker", "n"]
    x = data.x[0]
    assert isinstance(x, np.ndarray)
    np.testing.assert_array_equal(
        x[:, :4], [[0, 0, 1, 1], [0, 1, 0, 0], [1, 0, 0, 1], [0, 1, 0, 0]]
    )


def test_numeric_targets(tmp_path: Path) -> None:
    reg = read_csv(write(tmp_path, "a,price\n1,10.5\n2,20.25\n3,7\n4,7\n", "r.csv"))
    assert reg.task == "regression" and reg.class_names is None
    assert reg.y.dtype == np.float32 and reg.y.shape == (4, 1)
    np.testing.assert_array_equal(reg.y[:, 0], [10.5, 20.25, 7, 7])  # not standardised
    cls = read_csv(write(tmp_path, "a,grade\n1,10\n2,2\n3,10.0\n4,3\n", "c.csv"))
    assert cls.task == "classification" and cls.class_names == ["2", "3", "10"]
    assert cls.y.tolist() == [2, 0, 2, 1]
    forced = read_csv(tmp_path / "c.csv", task="regression")
    assert forced.task == "regression" and forced.y[:, 0].tolist() == [10, 2, 10, 3]
    many = "a,n\n" + "".join(f"{i},{i}\n" for i in range(30))
    assert read_csv(write(tmp_path, many, "m.csv")).task == "regression"
    assert read_csv(tmp_path / "m.csv", task="classification").num_classes == 30


def test_target_by_index_and_by_name(tmp_path: Path) -> None:
    path = write(tmp_path, IRIS)
    by_index = read_csv(path, 0)
    assert by_index.task == "regression"
    assert by_index.feature_names == [
        "sepal_width",
        "species=setosa",
        "species=versicolor",
        "species=virginica",
    ]
    assert read_csv(path, -1).class_names == read_csv(path, "SPECIES").class_names
    assert read_csv(path, "sepal_width", drop_columns=["species"]).feature_names == ["sepal_length"]


def test_header_detection_and_no_header(tmp_path: Path) -> None:
    path = write(tmp_path, "5.1,3.5,setosa\n4.9,3.0,setosa\n7.0,3.2,versicolor\n")
    data = read_csv(path)
    assert len(data) == 3 and data.feature_names == ["col_1", "col_2"]
    assert any("no header" in n for n in data.notes)
    assert read_csv(write(tmp_path, "x,2019,y\n1,2,a\n2,3,b\n", "n.csv")).feature_names == [
        "x",
        "2019",
    ]
    assert read_csv(path, header=True).feature_names == ["5.1", "3.5"]
    text = "x,x,,y\n1,2,3,a\n2,3,4,b\n"
    assert read_csv(write(tmp_path, text, "d.csv")).feature_names == ["x", "x_2", "col_3"]


def test_empty_and_constant_columns(tmp_path: Path) -> None:
    text = "a,b,c,y,\n1,,5,p,\n2,,5,q,\n3,,5,p,\n"  # b and the trailing column are empty
    data = read_csv(write(tmp_path, text))
    assert data.feature_names == ["a", "c"] and len(data) == 3
    x = data.x[0]
    assert isinstance(x, np.ndarray)
    np.testing.assert_array_equal(x[:, 1], 0)
    notes = " ".join(data.notes)
    assert "Empty columns were left out" in notes and "same value everywhere" in notes


def test_max_rows(tmp_path: Path) -> None:
    data = read_csv(write(tmp_path, IRIS), max_rows=4)
    assert len(data) == 4 and any("first 4 rows" in n for n in data.notes)


def test_preview(tmp_path: Path) -> None:
    text = "n;colour;ok;gap\n1,5;red;yes;\n2;blue;no;NA\n3;red;yes;\n1;2\n"
    preview = preview_csv(write(tmp_path, text), rows=3)
    assert preview.delimiter == ";" and preview.encoding == "utf-8" and preview.has_header
    assert preview.header == ["n", "colour", "ok", "gap"]
    assert preview.rows[0] == ["1,5", "red", "yes", ""] and len(preview.rows) == 3
    assert preview.kinds == ["numeric", "categorical", "boolean", "empty"]
    assert "Data row 4" in " ".join(preview_csv(tmp_path / "data.csv").notes)


@pytest.mark.parametrize(
    ("content", "kwargs", "words"),
    [
        (b"", {}, ["empty"]),
        (b"\n  \n", {}, ["empty"]),
        (b"a,b,c\n", {}, ["header", "no data rows"]),
        (IRIS.encode(), {"target": "colour"}, ["No column", "'sepal_length'", "'species'"]),
        (IRIS.encode(), {"target": 7}, ["no column number 7", "3 columns"]),
        (b"a,b,c\n1,2,3\n4,5\n6,7,8\n", {}, ["line 3", "2 values", "header has 3"]),
        (b"a,b\n1,x\n2,x\n", {}, ["only one value", "'x'"]),
        (b"a,b\n1,7\n2,7\n", {"task": "regression"}, ["only one value", "'7'"]),
        (b"\x00\x01\x02binary\x00\xff" * 50, {}, ["not look like a text file"]),
        (b"PK\x03\x04rest of a zip", {}, ["spreadsheet", "save it as CSV"]),
        (IRIS.encode(), {"task": "regression"}, ["holds text", "'setosa'"]),
        (b"a,b\n1,x\ninf,y\n3,x\n", {}, ["finite number", "'inf'", "line 3"]),
        (b"a,b,y\n1,,p\n,2,q\n", {}, ["Every row", "missing='fill'"]),
        (b"a,y\n1,\n2,NA\n", {"missing": "fill"}, ["target column 'y' is empty"]),
        (b"y\n1\n2\n", {}, ["at least one column besides the target"]),
        (IRIS.encode(), {"delimiter": ";;"}, ["one character"]),
        (IRIS.encode(), {"encoding": "klingon"}, ["not an encoding"]),
        (b"a,b\n1,x\n2,y\n", {"missing": "sometimes"}, ["'drop' or 'fill'"]),
        (b"a,b\n1,x\n2,y\n", {"task": "clustering"}, ["'classification' or 'regression'"]),
        (b"a,b\n1,x\n2,y\n", {"max_rows": 0}, ["max_rows must be at least 1"]),
        ("a,b\n1,é\n".encode("cp1252"), {"encoding": "utf-8"}, ["cannot be read as utf-8"]),
    ],
)
def test_bad_files_say_why(tmp_path: Path, content: bytes, kwargs: dict, words: list[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as err:
        read_csv(path, **kwargs)
    for word in words:
        assert word in str(err.value)


def test_limits_on_columns_and_categories(tmp_path: Path) -> None:
    wide = write(tmp_path, ",".join(f"c{i}" for i in range(10_001)) + "\n", "wide.csv")
    with pytest.raises(DataError, match="10,001 columns"):
        read_csv(wide)
    rows = "".join(f"user{i},{i % 5},{i % 2}\n" for i in range(1_001))
    ids = write(tmp_path, "id,x,y\n" + rows, "ids.csv")
    with pytest.raises(DataError, match=r"more than 1,000 different.*drop_columns=\['id'\]"):
        read_csv(ids)
    assert read_csv(ids, drop_columns=["id"]).feature_names == ["x"]
    with pytest.raises(DataError, match=r"more than 1,000 different values.*too many classes"):
        read_csv(ids, "id", drop_columns=["x"])


def test_line_numbers_count_blank_lines_and_quoted_line_breaks(tmp_path: Path) -> None:
    path = write(tmp_path, 'a,b,c\n1,"two\nlines",3\n\n4,x,6\n7,8\n')
    with pytest.raises(DataError, match="line 6: 2 values"):
        read_csv(path)
    assert read_csv(path, max_rows=2).feature_names == ["a", "b=two\nlines", "b=x"]


def test_no_file_and_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no file"):
        read_csv(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="folder"):
        read_csv(tmp_path)


def test_pipeline_encodes_new_rows_like_training_rows(tmp_path: Path) -> None:
    text = "age;city;member;y\n31,5;Paris;yes;a\n22;Lyon;no;b\n;Paris;yes;a\n45;Nice;no;b\n"
    data, pipe = read_csv_with_pipeline(write(tmp_path, text), missing="fill")
    rows = [
        ["31,5", "Paris", "yes"],
        [22, "Lyon", False],
        [None, "Paris", True],
        {"AGE": 45.0, "city": "Nice", "member": "no"},
    ]
    np.testing.assert_array_equal(pipe.transform(rows), data.x[0])
    again = TablePipeline.from_dict(json.loads(json.dumps(pipe.to_dict())))
    assert again == pipe and again.feature_names == data.feature_names
    with pytest.raises(DataError, match=r"Row 1, column 'city'.*'Rome'"):
        pipe.transform([[30, "Rome", "yes"]])
    assert pipe.transform([[30, "Rome", "yes"]], unknown="ignore")[0, 1:4].tolist() == [0, 0, 0]
    with pytest.raises(DataError, match="'old' is not a number"):
        pipe.transform([["old", "Paris", "yes"]])
    with pytest.raises(DataError, match="3 values"):
        pipe.transform([[1, 2]])
    strict = TablePipeline.from_dict({**pipe.to_dict(), "missing": "drop"})
    with pytest.raises(DataError, match="value is needed"):
        strict.transform([[None, "Paris", "yes"]])
    with pytest.raises(DataError, match="damaged"):
        TablePipeline.from_dict({**pipe.to_dict(), "task": "guessing"})
    with pytest.raises(DataError, match="damaged"):
        TablePipeline.from_dict({"version": 1})
    broken = pipe.to_dict()
    broken["columns"][0]["fill"] = [1]
    with pytest.raises(DataError, match="damaged"):
        TablePipeline.from_dict(broken)
    numpy_values = [[np.float64(22.0), "Lyon", np.False_]]
    np.testing.assert_array_equal(pipe.transform(numpy_values), data.x[0][1:2])


def test_a_test_file_through_the_training_pipeline(tmp_path: Path) -> None:
    train, pipe = read_csv_with_pipeline(write(tmp_path, IRIS))
    test_text = "species,sepal_width,sepal_length\nsetosa,3.5,5.1\nvirginica,2.7,5.8\n"
    test, same = read_csv_with_pipeline(write(tmp_path, test_text, "t.csv"), pipeline=pipe)
    assert same is pipe and test.y.tolist() == [0, 2]
    np.testing.assert_array_equal(test.x[0], np.asarray(train.x[0])[[0, 5]])
    unknown = write(tmp_path, "sepal_length,sepal_width,species\n5,3,daisy\n", "u.csv")
    with pytest.raises(DataError, match=r"line 2.*'daisy' is not one of the classes"):
        read_csv_with_pipeline(unknown, pipeline=pipe)


def test_chunks_give_the_same_arrays(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "big.csv"
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["a", "b", "colour", "flag", "y"])
        for i in range(5_000):
            a = "" if i % 97 == 0 else f"{rng.normal(100, 15):.4f}"
            colour = ["red", "green", "blue", "NA"][int(rng.integers(4))]
            out.writerow([a, int(rng.integers(0, 1000)), colour, ["yes", "no"][i % 2], i % 3])
    for missing in ("drop", "fill"):
        whole = read_csv(path, missing=missing)
        chunked = read_csv(path, missing=missing, chunk_rows=97)
        np.testing.assert_array_equal(whole.x[0], chunked.x[0])
        np.testing.assert_array_equal(whole.y, chunked.y)
        assert whole.notes == chunked.notes
        np.testing.assert_allclose(np.asarray(whole.x[0])[:, :2].mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(np.asarray(whole.x[0])[:, :2].std(0), 1, atol=1e-5)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.integers(2, 30).flatmap(
        lambda n: st.lists(
            st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32), min_size=n, max_size=n),
            min_size=1,
            max_size=4,
        )
    ),
    st.sampled_from([",", ";", "\t"]),
)
def test_random_numeric_tables_round_trip(
    tmp_path: Path, columns: list[list[float]], delimiter: str
) -> None:
    table = np.array(columns, dtype=np.float64).T
    target = np.arange(len(table)) % 2
    path = tmp_path / "random.csv"
    with open(path, "w", newline="") as f:
        out = csv.writer(f, delimiter=delimiter)
        out.writerow([f"f{i}" for i in range(table.shape[1])] + ["y"])
        for row, t in zip(table, target, strict=True):
            out.writerow([repr(float(v)) for v in row] + [f"c{t}"])
    data = read_csv(path, delimiter=delimiter)
    expected = np.stack([standardised(c) for c in table.T], axis=1)
    constant = table.std(0) <= 1e-10 * np.abs(table.mean(0))
    expected[:, constant] = 0
    np.testing.assert_allclose(data.x[0], expected, rtol=1e-5, atol=1e-5)
    assert data.y.tolist() == target.tolist()
