import pytest
from hypothesis import given, strategies as st

from unkindness.harness.history.edn import EdnError, Keyword, iter_forms, loads


def test_reads_jepsen_op_maps_including_tagged_records():
    forms = list(iter_forms(
        "{:index 0, :type :invoke, :f :cas, :value [1 2], :process 3, :time 17}\n"
        "; a comment\n"
        "#jepsen.history.Op{:index 1, :type :info, :f :start, :value nil, :process :nemesis}\n"
    ))
    (op, line0), (rec, line2) = forms
    assert (line0, line2) == (1, 3)
    assert op == {"index": 0, "type": "invoke", "f": "cas", "value": [1, 2], "process": 3, "time": 17}
    assert isinstance(op["type"], Keyword) and repr(op["type"]) == ":invoke"
    assert rec["process"] == "nemesis" and rec["value"] is None


@pytest.mark.parametrize("text,value", [
    ("nil", None), ("true", True), ("false", False), ("-12", -12), ("3N", 3), ("2.5", 2.5),
    ("1.5M", 1.5), ("1/4", 0.25), ("4/2", 2), ('"a\\"b\\n\\u0041"', 'a"b\nA'), ("\\a", "a"),
    ("\\newline", "\n"), ("\\(", "("), ("(1 2)", [1, 2]), ("#{1}", frozenset({1})),
    ("[1 #_ 2 3]", [1, 3]), ("#inst \"2020-01-01\"", "2020-01-01"), ("{[1 2] :x}", {(1, 2): "x"}),
    ("foo/bar", "foo/bar"), ("1e3", 1000.0), ("##Inf", float("inf")),
])
def test_scalars_and_collections(text, value):
    assert loads(text) == value


@pytest.mark.parametrize("text,where", [
    ("{:a 1", "line 1, column 1: unclosed"), ("[1\n 2 }", "line 2, column 4: unexpected '}'"),
    ('"abc', "unterminated string"), ("{:a}", "odd number"), ("\\zz", "unknown character"),
    ("1 2", "unexpected content"), ("12abc", "bad number"), ("#", "must be followed"),
    ('"\\q"', "unknown escape"), ("", "unexpected end"),
])
def test_errors_name_line_and_column(text, where):
    with pytest.raises(EdnError, match=where.replace("(", r"\(")):
        loads(text)


edn_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(alphabet="abc", min_size=1, max_size=3), kids, max_size=3),
    max_leaves=12,
)


def to_edn(v):
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + " ".join(map(to_edn, v)) + "]"
    return "{" + ", ".join(f":{k} {to_edn(x)}" for k, x in v.items()) + "}"


@given(edn_values)
def test_round_trips_printed_values(v):
    assert loads(to_edn(v)) == v
