import json

import pytest

from unkindness.harness.history.files import BadHistoryFile, HistoryWriter, load


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_jsonl_round_trip_through_the_writer(tmp_path):
    events = [
        {"index": 0, "time": 5, "process": 0, "type": "invoke", "f": "write", "value": 1, "node": "A", "error": None},
        {"index": 1, "time": 9, "process": 0, "type": "ok", "f": "write", "value": 1, "node": "A", "error": None},
    ]
    with HistoryWriter(tmp_path / "h.jsonl") as w:
        for e in events:
            w.write(e)
    loaded = load(tmp_path / "h.jsonl")
    assert loaded.format == "jsonl" and loaded.events == events


def test_edn_history_becomes_our_format_with_line_order_as_time(tmp_path):
    p = write(tmp_path, "history.edn",
              "{:type :invoke, :f :cas, :value [1 2], :process 0}\n"
              "{:type :info, :f :start, :value nil, :process :nemesis}\n"
              "{:type :fail, :f :cas, :value [1 2], :process 0, :error :precondition}\n")
    loaded = load(p)
    assert loaded.format == "edn"
    assert [e["type"] for e in loaded.events] == ["invoke", "info", "fail"]
    assert loaded.events[0] == {"type": "invoke", "f": "cas", "value": [1, 2], "process": 0, "index": 0, "time": 0}
    assert loaded.events[2]["error"] == "precondition" and loaded.events[2]["time"] == 2000
    json.dumps(loaded.events)  # plain JSON-ready values


def test_knossos_vector_of_ops(tmp_path):
    p = write(tmp_path, "k.edn", "[{:process 0 :type :invoke :f :read :value nil}\n {:process 0 :type :ok :f :read :value 3}]")
    assert [e["value"] for e in load(p).events] == [None, 3]


@pytest.mark.parametrize("text,msg", [
    ('{"index":0,"process":0,"type":"invoke","f":"read"}\n{oops}\n', r"h.jsonl:2: not valid JSON"),
    ('{"index":0,"process":0,"type":"begin","f":"read"}\n', r"h.jsonl:1: \"type\" must be one of"),
    ('[1,2]\n', r"h.jsonl:1: expected a JSON object"),
    ('{"index":0,"type":"invoke","f":"read"}\n', r"h.jsonl:1: the event has no \"process\""),
    ('{"index":0,"process":0,"type":"invoke"}\n', r"h.jsonl:1: \"f\" must name"),
    ('{"index":"x","process":0,"type":"invoke","f":"r"}\n', r"h.jsonl:1: \"index\" must be an integer"),
    ('{"index":0,"process":0,"type":"invoke","f":"r","time":"t"}\n', r"h.jsonl:1: \"time\" must be"),
    ('{"index":0,"process":0,"type":"invoke","f":"r"}\n\n{"index":1,"process":0,"type":"invoke","f":"r"}\n',
     r"h.jsonl:3: event 1: process 0 invoked 'r' while"),
    ('{"index":0,"process":0,"type":"ok","f":"r"}\n', r"h.jsonl:1: event 0: ok of 'r' by process 0 has no invoke"),
    ("   \n", "the file is empty"),
])
def test_broken_files_name_the_line(tmp_path, text, msg):
    with pytest.raises(BadHistoryFile, match=msg):
        load(write(tmp_path, "h.jsonl", text))


def test_unreadable_inputs(tmp_path):
    with pytest.raises(BadHistoryFile, match="no such file"):
        load(tmp_path / "missing.jsonl")
    with pytest.raises(BadHistoryFile, match="is a folder"):
        load(tmp_path)
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(BadHistoryFile, match="a binary file"):
        load(tmp_path / "bin.jsonl")
    (tmp_path / "latin.jsonl").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(BadHistoryFile, match="not UTF-8"):
        load(tmp_path / "latin.jsonl")


@pytest.mark.parametrize("name,text,msg", [
    ("deep.edn", "[" * 100_000, r"deep.edn: line 1, column 201: nested more than 200 levels"),
    ("deep.edn", "#_" * 100_000 + "1", "nested more than 200 levels"),
    ("tags.edn", "#a " * 100_000 + "1", "nested more than 200 levels"),
    ("deep.jsonl", "[" * 100_000 + "\n", r"deep.jsonl:1: nested more than 200 levels"),
    ("value.jsonl", '{"index":0,"process":0,"type":"invoke","f":"r","value":' + "[" * 300 + "]" * 300 + "}\n",
     r"value.jsonl:1: nested more than 200 levels"),
    ("long.edn", "{:type :invoke :process 0 :f :r :value " + "9" * 1_000_000 + "}",
     r"column 40: bad number '9999.*\(1,000,000 characters\)$"),
    ("long.jsonl", '{"index":0,"process":0,"type":"invoke","f":"r","value":' + "9" * 100_000 + "}\n",
     r"long.jsonl:1: not a usable JSON value"),
])
def test_hostile_inputs_are_refused_by_place_not_by_a_traceback(tmp_path, name, text, msg):
    """The reader never recurses on the input's nesting, and a huge token is just a bad value."""
    with pytest.raises(BadHistoryFile, match=msg):
        load(write(tmp_path, name, text))


@pytest.mark.parametrize("kind", ["register", "bank", "set", "cart", "list-append", "engineer-pool"])
def test_history_edn_round_trips_every_workloads_events(tmp_path, kind):
    """Our runs in Jepsen's format: history.edn reads back as the very events of history.jsonl."""
    from unkindness.harness.history.files import write_edn
    from support.synthetic_runs import build

    run = build(tmp_path / kind, kind)
    edn = write_edn(run / "history.jsonl", run / "history.edn")
    text = edn.read_text()
    assert text.startswith("{:index 0, :time ") and ":type :invoke" in text
    if kind == "list-append":
        assert "[:append " in text  # Elle reads micro-op names as keywords
    assert load(edn).events == load(run / "history.jsonl").events
